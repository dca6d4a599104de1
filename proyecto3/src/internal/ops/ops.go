// Package ops is the operations side of every service: liveness, readiness and Prometheus
// metrics on their own port, and the graceful-shutdown sequence (report not-ready first,
// then drain in-flight work, then close).
package ops

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server serves /healthz, /readyz and /metrics.
type Server struct {
	ready   atomic.Bool
	checks  []func(context.Context) error
	http    *http.Server
	log     *slog.Logger
	Address string // the bound address, known after Listen
}

// New returns an ops server for addr. Readiness starts false; call SetReady(true) once the
// service can do its work. Checks, when given, must all pass for /readyz to be 200.
func New(addr string, log *slog.Logger, checks ...func(context.Context) error) *Server {
	s := &Server{checks: checks, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.Readyz)
	mux.Handle("GET /metrics", promhttp.Handler())
	// Profiles, on the ops port only (not exposed by any Service or Ingress).
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace) // execution trace: scheduling, GC, syscalls
	s.http = &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s
}

// SetReady flips readiness.
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

// Ready reports the readiness flag.
func (s *Server) Ready() bool { return s.ready.Load() }

// Readyz answers 200 when the service is ready and every check passes, 503 otherwise.
// It is exported so a service can mount it on its main port as well.
func (s *Server) Readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, c := range s.checks {
		if err := c(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Start binds the port and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.http.Addr)
	if err != nil {
		return err
	}
	s.Address = ln.Addr().String()
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ops server", "err", err)
		}
	}()
	s.log.Info("ops server listening", "addr", s.Address)
	return nil
}

// Shutdown stops the ops server.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
