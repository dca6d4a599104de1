package main

import (
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
