package main

import (
	"os"
	"testing"
	"time"
)

func TestPercentileNeverUnderReports(t *testing.T) {
	if got := percentile(nil, 0.99); got != 0 {
		t.Fatalf("empty: got %v, want 0", got)
	}
	lat := make([]time.Duration, 100) // 1ms .. 100ms, sorted
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0, time.Millisecond}, {0.5, 51 * time.Millisecond}, {0.99, 100 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := percentile(lat, c.p); got != c.want {
			t.Errorf("p%v: got %v, want %v", c.p*100, got, c.want)
		}
	}
}

func TestWriteTraceIsInDueOrder(t *testing.T) {
	path := t.TempDir() + "/trace.csv"
	rs := []result{ // completion order: the second request answered first
		{code: 202, due: time.Millisecond, late: 100 * time.Microsecond, latency: 2500 * time.Microsecond},
		{code: 0, due: 0, latency: 10 * time.Second},
	}
	start := time.UnixMilli(1_800_000_000_000)
	if err := writeTrace(path, start, rs); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "due_unix_ms,late_ms,latency_ms,status\n1800000000000.000,0.000,10000.000,0\n1800000000001.000,0.100,2.500,202\n"
	if string(got) != want {
		t.Fatalf("trace:\n%s\nwant:\n%s", got, want)
	}
}
