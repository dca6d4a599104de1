package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestEnvOverridesDefaultButNotTheCommandLine(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	timeout := fs.Duration("writer-timeout", time.Second, "")
	addr := fs.String("grpc-addr", ":1", "")
	level := fs.String("log-level", "info", "")
	t.Setenv("WRITER_TIMEOUT", "3s")
	t.Setenv("GRPC_ADDR", ":2")
	if err := Parse(fs, []string{"--grpc-addr", ":3"}); err != nil {
		t.Fatal(err)
	}
	if *timeout != 3*time.Second || *addr != ":3" || *level != "info" {
		t.Fatalf("timeout %v addr %s level %s: want 3s (env), :3 (flag wins), info (default)", *timeout, *addr, *level)
	}
}

func TestBadEnvValueNamesTheVariable(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Duration("writer-timeout", time.Second, "")
	t.Setenv("WRITER_TIMEOUT", "soon")
	err := Parse(fs, nil)
	if err == nil || !strings.Contains(err.Error(), "WRITER_TIMEOUT") {
		t.Fatalf("got %v, want an error naming WRITER_TIMEOUT", err)
	}
}

func TestLoggerRejectsUnknownLevel(t *testing.T) {
	c := Common{LogLevel: "loud"}
	if _, err := c.Logger(nil, "x"); err == nil {
		t.Fatal("log level 'loud' accepted")
	}
}
