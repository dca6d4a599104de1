package ops

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestProbesMetricsAndProfiles(t *testing.T) {
	failing := errors.New("broker down")
	var checkErr error
	s := New("127.0.0.1:0", slog.New(slog.DiscardHandler), func(context.Context) error { return checkErr })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	base := "http://" + s.Address

	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before SetReady = %d, want 503", code)
	}
	s.SetReady(true)
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz when ready = %d, want 200", code)
	}
	checkErr = failing
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "broker down") {
		t.Errorf("/readyz with a failing check = %d %q, want 503 naming the failure", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, want 200 with the Go collector", code)
	}
	start := time.Now()
	code, body := get(t, base+"/debug/pprof/trace?seconds=0.1")
	if code != http.StatusOK || !strings.HasPrefix(body, "go 1.") {
		t.Errorf("/debug/pprof/trace = %d, body starting %q; want 200 and a Go execution trace", code, body[:min(len(body), 16)])
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a 0.1 s trace took %s", el)
	}
}
