// Command vmprobe measures how much CPU this machine actually gets, while a benchmark runs.
//
//	nice -n -20 vmprobe --duration 30s
//
// Every --interval it times a fixed computation (--work iterations of an integer recurrence,
// ~30 µs on the development machine) on one locked thread. Run at the highest priority it
// preempts every other thread of the machine, so what slows it down is not a busy run queue but
// the machine itself getting less CPU than it shows: a virtual machine whose host deschedules
// its vCPUs (without reporting it as steal time), or interrupts. Measured on the development
// VM with nothing else running: every ~1.5 s both vCPUs ran this computation 3-12x slower for
// 50-150 ms (docs/benchmarks.md, "The VM's own slowdowns").
//
// Every --progress (default 5 s) it prints to stderr how far it is and the slow windows so far;
// at the end, one summary line on stdout: the run's median computation time and the slow windows, 50 ms
// spans whose median took at least --slow times the run's median (how many, their total and
// longest duration, the median time between them). --samples writes every sample as CSV, in
// Unix milliseconds like the load generator's --trace, and --windows the slow windows
// (bench/vm-attribution.py counts the slow requests that fell in them).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"tweetsdelclima/internal/config"
)

// sample is one timed computation: when it started (since the probe's start) and how long it took.
type sample struct {
	at, took time.Duration
}

// window is a run of consecutive slow 50 ms buckets.
type window struct {
	start, end time.Duration
}

// summary describes the slow windows among samples.
type summary struct {
	samples  int
	median   time.Duration // of all samples
	slowest  time.Duration
	windows  []window
	slowTime time.Duration // sum of the windows' lengths
	longest  time.Duration
	period   time.Duration // median time between the starts of consecutive windows (0: fewer than 2)
}

const bucket = 50 * time.Millisecond

// summarize groups samples (in time order) into 50 ms buckets; a bucket whose median is at
// least slow × the median of all samples is slow, and consecutive slow buckets form a window.
func summarize(samples []sample, slow float64) summary {
	s := summary{samples: len(samples)}
	if len(samples) == 0 {
		return s
	}
	all := make([]time.Duration, len(samples))
	for i, x := range samples {
		all[i] = x.took
	}
	s.median = median(all)
	s.slowest = slices.Max(all)
	threshold := time.Duration(float64(s.median) * slow)

	var cur *window
	for i := 0; i < len(samples); {
		b := samples[i].at / bucket
		var took []time.Duration
		for ; i < len(samples) && samples[i].at/bucket == b; i++ {
			took = append(took, samples[i].took)
		}
		start := b * bucket
		if median(took) < threshold {
			cur = nil
			continue
		}
		if cur != nil && cur.end == start {
			cur.end = start + bucket
			continue
		}
		s.windows = append(s.windows, window{start: start, end: start + bucket})
		cur = &s.windows[len(s.windows)-1]
	}
	var gaps []time.Duration
	for i, w := range s.windows {
		s.slowTime += w.end - w.start
		s.longest = max(s.longest, w.end-w.start)
		if i > 0 {
			gaps = append(gaps, w.start-s.windows[i-1].start)
		}
	}
	if len(gaps) > 0 {
		s.period = median(gaps)
	}
	return s
}

// median of xs (the upper one for an even count); xs is reordered.
func median(xs []time.Duration) time.Duration {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func (s summary) String() string {
	if s.samples == 0 {
		return "vm probe: no samples"
	}
	line := fmt.Sprintf("vm probe: %d samples, fixed computation median %.1f µs, slowest %.1f ms; ",
		s.samples, us(s.median), ms(s.slowest))
	if len(s.windows) == 0 {
		return line + "no slow window"
	}
	line += fmt.Sprintf("%d slow windows, %.2f s in total, longest %.0f ms", len(s.windows),
		s.slowTime.Seconds(), ms(s.longest))
	if s.period > 0 {
		line += fmt.Sprintf(", one every %.1f s (median)", s.period.Seconds())
	}
	return line
}

// progressLine is one line of progress: how far the probe is and what it has seen so far.
func progressLine(elapsed, duration time.Duration, s summary) string {
	return fmt.Sprintf("vmprobe: %.0fs of %.0fs, %d samples, median %.1f µs, %d slow windows so far",
		elapsed.Seconds(), duration.Seconds(), s.samples, us(s.median), len(s.windows))
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// compute is the fixed work: n steps of a linear congruential recurrence, which the compiler
// cannot remove (its result is returned) nor shorten.
func compute(n int) uint32 {
	x := uint32(1)
	for range n {
		x = x*1664525 + 1013904223
	}
	return x
}

// sink takes every result so that the compiler cannot drop the computation.
//
//lint:ignore U1000 written on purpose and never read
var sink uint32

func main() {
	fs := flag.NewFlagSet("vmprobe", flag.ExitOnError)
	duration := fs.Duration("duration", 10*time.Second, "how long to probe")
	interval := fs.Duration("interval", 10*time.Millisecond, "time between two computations")
	work := fs.Int("work", 20000, "iterations of the fixed computation")
	slow := fs.Float64("slow", 2, "a 50 ms span is slow when its median computation takes this many times the run's median")
	samplesOut := fs.String("samples", "", "also write every sample (at_unix_ms,took_us) as CSV to this file")
	windowsOut := fs.String("windows", "", "also write the slow windows (start_unix_ms,end_unix_ms) as CSV to this file")
	progress := fs.Duration("progress", 5*time.Second, "time between two progress lines on stderr (0: none)")
	if err := config.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *duration <= 0 || *interval <= 0 || *work <= 0 || *slow <= 1 || *progress < 0 {
		fmt.Fprintln(os.Stderr, "vmprobe: --duration, --interval and --work must be positive, --slow above 1, --progress not negative")
		os.Exit(2)
	}
	// One thread does everything: the probe should cost the machine as little as possible
	// (~1.3 % of a core at the default interval).
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	samples := make([]sample, 0, int(*duration / *interval)+1)
	start := time.Now()
	next := *progress
	for time.Since(start) < *duration {
		t := time.Now()
		sink += compute(*work)
		samples = append(samples, sample{at: t.Sub(start), took: time.Since(t)})
		if *progress > 0 && time.Since(start) >= next {
			fmt.Fprintln(os.Stderr, progressLine(time.Since(start), *duration, summarize(samples, *slow)))
			next += *progress
		}
		time.Sleep(*interval)
	}
	sum := summarize(samples, *slow)
	origin := ms(time.Duration(start.UnixNano()))
	if *samplesOut != "" {
		writeCSV(*samplesOut, "at_unix_ms,took_us", len(samples), func(b *bytes.Buffer, i int) {
			fmt.Fprintf(b, "%.3f,%.1f", origin+ms(samples[i].at), us(samples[i].took))
		})
	}
	if *windowsOut != "" {
		writeCSV(*windowsOut, "start_unix_ms,end_unix_ms", len(sum.windows), func(b *bytes.Buffer, i int) {
			fmt.Fprintf(b, "%.3f,%.3f", origin+ms(sum.windows[i].start), origin+ms(sum.windows[i].end))
		})
	}
	fmt.Println(sum)
}

// writeCSV writes header and n lines made by line; an error is reported, not fatal.
func writeCSV(path, header string, n int, line func(b *bytes.Buffer, i int)) {
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for i := range n {
		line(&b, i)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "vmprobe:", err)
	}
}
