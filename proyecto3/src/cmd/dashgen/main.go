// Command dashgen writes the Grafana dashboard built by internal/dashboard to
// proyecto3/grafana/dashboards/tweets.json, checks that the committed file is up to date
// (-check), or renders a preview of the dashboard's data from a Valkey (-preview).
//
//	go run ./cmd/dashgen                       # (from proyecto3/src) regenerate the JSON
//	go run ./cmd/dashgen -check                # exit 1 when the committed JSON is stale
//	VALKEY_ADDR=127.0.0.1:6379 go run ./cmd/dashgen -preview out.html          # read a running system
//	go run ./cmd/dashgen -preview out.html -valkey-db 9 -seed 3000               # or write tweets first
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"tweetsdelclima/internal/dashboard"
)

func main() {
	out := flag.String("out", defaultOut(), "dashboard JSON file")
	check := flag.Bool("check", false, "do not write: exit 1 when -out differs from what Build produces")
	preview := flag.String("preview", "", "write an HTML preview of every panel's data, read from Valkey, to this file")
	addr := flag.String("valkey-addr", envOr("VALKEY_ADDR", "127.0.0.1:6379"), "Valkey address for -preview (password from VALKEY_PASSWORD)")
	db := flag.Int("valkey-db", 0, "logical database for -preview")
	carnet := flag.String("carnet", dashboard.DefaultCarnet, "carnet for -preview (the municipality follows the carnet's last digit)")
	window := flag.Duration("window", 30*time.Minute, "time range of -preview's XRANGE panels (now-window .. now)")
	seedN := flag.Int("seed", 0, "before -preview: empty -valkey-db (not 0) and write this many random tweets through internal/store")
	seedOver := flag.Duration("seed-over", 20*time.Second, "spread -seed's tweets over this long")
	flag.Parse()

	if *seedN > 0 {
		if *preview == "" {
			fail(fmt.Errorf("-seed goes with -preview"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), *seedOver+time.Minute)
		err := seed(ctx, *addr, os.Getenv("VALKEY_PASSWORD"), *db, *seedN, *seedOver)
		cancel()
		if err != nil {
			fail(err)
		}
		fmt.Printf("wrote %d tweets through internal/store into db %d\n", *seedN, *db)
	}

	if *preview != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dashboard.WritePreview(ctx, *preview, dashboard.PreviewOptions{
			Addr: *addr, Password: os.Getenv("VALKEY_PASSWORD"), DB: *db, Carnet: *carnet, Window: *window,
		}); err != nil {
			fail(err)
		}
		fmt.Println("wrote", *preview)
		return
	}

	want, err := dashboard.Build()
	if err != nil {
		fail(err)
	}
	if *check {
		got, err := os.ReadFile(*out)
		if err != nil {
			fail(err)
		}
		if !bytes.Equal(got, want) {
			fmt.Fprintf(os.Stderr, "%s is stale: run `go run ./cmd/dashgen` in proyecto3/src and commit the result\n", *out)
			os.Exit(1)
		}
		fmt.Println(*out, "is up to date")
		return
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, want, 0o644); err != nil {
		fail(err)
	}
	fmt.Println("wrote", *out)
}

// defaultOut is the committed dashboard, found from the working directory (proyecto3/src or
// any directory below the repository root).
func defaultOut() string {
	const rel = "grafana/dashboards/tweets.json"
	for _, cand := range []string{"../" + rel, "proyecto3/" + rel, "../../" + rel, "../../../" + rel} {
		if _, err := os.Stat(filepath.Dir(cand)); err == nil {
			return cand
		}
	}
	return "../" + rel
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "dashgen:", err)
	os.Exit(1)
}
