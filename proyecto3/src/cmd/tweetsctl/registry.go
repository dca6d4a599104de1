package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"tweetsdelclima/internal/config"
)

// tweetsctl registry: a small in-memory OCI registry (go-containerregistry) for the local run,
// standing in for Zot so that Locust's input file travels as an OCI artifact there too.
// It speaks plain HTTP and keeps nothing on disk; it is not for production.
func init() {
	register("registry", "serve a local in-memory OCI registry (Zot's stand-in for the local run)", serveRegistry)
}

func serveRegistry(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tweetsctl registry", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:5000", "listen address")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(os.Stderr, "registry: ", log.LstdFlags))),
		ReadHeaderTimeout: 5 * time.Second,
	}
	fmt.Printf("registry: serving an in-memory OCI registry on http://%s/v2/\n", ln.Addr())
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
