package main

import (
	"strings"
	"testing"
	"time"
)

// samples every 5 ms for total, taking 30 µs, except those in slow (start, end) spans: 300 µs.
func synth(total time.Duration, slow ...[2]time.Duration) []sample {
	var out []sample
	for at := time.Duration(0); at < total; at += 5 * time.Millisecond {
		took := 30 * time.Microsecond
		for _, s := range slow {
			if at >= s[0] && at < s[1] {
				took = 300 * time.Microsecond
			}
		}
		out = append(out, sample{at: at, took: took})
	}
	return out
}

func TestSummarizeFindsSlowWindows(t *testing.T) {
	ms := time.Millisecond
	s := summarize(synth(5*time.Second,
		[2]time.Duration{1000 * ms, 1100 * ms}, // two buckets: one window of 100 ms
		[2]time.Duration{2500 * ms, 2550 * ms}, // one bucket
		[2]time.Duration{4000 * ms, 4010 * ms}, // 2 of 10 samples: the bucket's median is fast
	), 2)
	want := []window{{1000 * ms, 1100 * ms}, {2500 * ms, 2550 * ms}}
	if len(s.windows) != len(want) {
		t.Fatalf("windows %v, want %v", s.windows, want)
	}
	for i := range want {
		if s.windows[i] != want[i] {
			t.Fatalf("windows %v, want %v", s.windows, want)
		}
	}
	if s.median != 30*time.Microsecond || s.slowest != 300*time.Microsecond {
		t.Errorf("median %v slowest %v, want 30µs and 300µs", s.median, s.slowest)
	}
	if s.slowTime != 150*ms || s.longest != 100*ms || s.period != 1500*ms {
		t.Errorf("slow time %v longest %v period %v, want 150ms 100ms 1.5s", s.slowTime, s.longest, s.period)
	}
	if got := s.String(); !strings.Contains(got, "2 slow windows, 0.15 s in total, longest 100 ms, one every 1.5 s") {
		t.Errorf("summary line: %s", got)
	}
}

func TestSummarizeQuietRun(t *testing.T) {
	s := summarize(synth(time.Second), 2)
	if len(s.windows) != 0 || !strings.HasSuffix(s.String(), "no slow window") {
		t.Errorf("a steady run: %s", s)
	}
	if got := summarize(nil, 2).String(); got != "vm probe: no samples" {
		t.Errorf("no samples: %s", got)
	}
}

func TestProgressLine(t *testing.T) {
	ms := time.Millisecond
	s := summarize(synth(5*time.Second, [2]time.Duration{1000 * ms, 1100 * ms}), 2)
	want := "vmprobe: 5s of 30s, 1000 samples, median 30.0 µs, 1 slow windows so far"
	if got := progressLine(5*time.Second, 30*time.Second, s); got != want {
		t.Errorf("progress line:\n  %s\nwant:\n  %s", got, want)
	}
}
