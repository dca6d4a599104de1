//go:build linux

// Command loadgen is the benchmark's open-loop load generator: it sends POST /tweets at a fixed
// rate whatever the responses do, and measures each latency from the moment the request was
// due (so a slow server cannot hide its queueing: no coordinated omission).
//
//	loadgen --url http://127.0.0.1:8081/tweets --rate 1000 --duration 60s
//
// It prints progress every second (with the latency percentiles of the requests completed in that
// second, which shows when a stall happened) and ends with a summary: requests by status, achieved rate,
// latency percentiles. The exit status is 1 when any request failed.
//
// The requests go out through engine.go, an HTTP/1.1 client on one thread with epoll (so this
// command builds on Linux only), to take as little as possible of the CPU it shares with the
// system it measures.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tweetsdelclima/internal/config"
	"tweetsdelclima/internal/tweet"
)

type result struct {
	code    int           // 0: transport error
	due     time.Duration // when the request was due, from the start
	late    time.Duration // how late after due the request began to be written (the load generator's own delay)
	latency time.Duration
}

func main() {
	fs := flag.NewFlagSet("loadgen", flag.ExitOnError)
	urlFlag := fs.String("url", "http://127.0.0.1:8080/tweets", "POST target")
	rate := fs.Float64("rate", 1000, "requests per second (open loop)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	total := fs.Int("total", 0, "stop after this many requests (0: rate × duration)")
	maxInFlight := fs.Int("max-in-flight", 2000, "cap on concurrent requests; a request due while the cap is reached counts as dropped")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	tick := fs.Duration("tick", time.Millisecond, "when no response wakes it first, the sender sleeps at least this long, then sends every request that fell due meanwhile, each measured from its own due time (0: wake for every request; at 3000/s that cost a Go server 40 % more CPU for the same requests)")
	rtPriority := fs.Int("rt-priority", 0, "run the sender's thread under SCHED_FIFO at this priority (1-99; needs root or CAP_SYS_NICE), so that it sends and reads on time although the machine is busy, as a client on a machine of its own would; 0: the normal scheduler")
	seed := fs.Uint64("seed", 1, "random seed of the tweets")
	jsonOut := fs.String("json", "", "also write the summary as JSON to this file")
	traceOut := fs.String("trace", "", "also write every request (due_unix_ms,late_ms,latency_ms,status; in due order) as CSV to this file; late_ms: the load generator's own delay before sending")
	if err := config.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	n := *total
	if n <= 0 {
		n = int(*rate * duration.Seconds())
	}
	var eng *engine
	var host string
	target, err := url.Parse(*urlFlag)
	switch {
	case err != nil:
	case *maxInFlight < 1:
		err = fmt.Errorf("--max-in-flight must be at least 1, not %d", *maxInFlight)
	case !(*rate > 0):
		err = fmt.Errorf("--rate must be more than 0, not %v", *rate)
	case *rtPriority < 0 || *rtPriority > 99:
		err = fmt.Errorf("--rt-priority must be 0 (off) or 1-99, not %d", *rtPriority)
	default:
		if eng, host, err = newEngine(target, *timeout, *maxInFlight); err != nil {
			err = fmt.Errorf("--url %q: %w", *urlFlag, err)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(2)
	}
	defer eng.closeAll()
	eng.tick = *tick
	eng.rtPriority = *rtPriority
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var stopped atomic.Bool
	go func() { <-ctx.Done(); stopped.Store(true) }()

	results := make([]result, 0, n)
	var mu sync.Mutex          // guards window
	var window []time.Duration // latencies completed since the last progress line
	var done atomic.Int64
	p := plan{n: n, interval: time.Duration(float64(time.Second) / *rate), wires: requests(target, host, *seed)}
	start := time.Now()
	p.start = start

	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				mu.Lock()
				w := window
				window = nil
				mu.Unlock()
				slices.Sort(w)
				fmt.Fprintf(os.Stderr, "loadgen: %5.1fs sent %d done %d dropped %d in flight %d | last 1s: %d done, p50 %.1f ms p99 %.1f ms max %.1f ms\n",
					time.Since(start).Seconds(), eng.sent.Load(), done.Load(), eng.dropped.Load(), eng.sent.Load()-done.Load(),
					len(w), ms(percentile(w, 0.5)), ms(percentile(w, 0.99)), ms(percentile(w, 1)))
			}
		}
	}()

	eng.done = func(res result) {
		done.Add(1)
		results = append(results, res) // the engine's thread only; read after run returns
		mu.Lock()
		window = append(window, res.latency)
		mu.Unlock()
	}
	sendTime := eng.run(p, stopped.Load)
	peak, dropped := eng.peak, eng.dropped.Load()
	close(progressDone)
	elapsed := time.Since(start)

	codes := map[int]int{}
	lat := make([]time.Duration, 0, len(results))
	for _, r := range results {
		codes[r.code]++
		lat = append(lat, r.latency)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return percentile(lat, p) }
	ok := codes[http.StatusAccepted]
	summary := map[string]any{
		"target_rate": *rate, "requests": len(results), "accepted": ok, "dropped": dropped,
		"status": codes, "peak_in_flight": peak, "send_seconds": sendTime.Seconds(), "elapsed_seconds": elapsed.Seconds(),
		"achieved_rate": float64(len(results)) / sendTime.Seconds(),
		"p50_ms":        ms(pct(0.50)), "p90_ms": ms(pct(0.90)), "p99_ms": ms(pct(0.99)), "max_ms": ms(pct(1)),
	}
	fmt.Printf("loadgen summary: %d requests at %.0f/s target (%.0f/s achieved over %.1fs), %d accepted (202), %d dropped\n",
		len(results), *rate, summary["achieved_rate"], sendTime.Seconds(), ok, dropped)
	fmt.Printf("  status: %v (0 = transport error), at most %d in flight at once\n", codes, peak)
	fmt.Printf("  latency from due time: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
		ms(pct(0.5)), ms(pct(0.9)), ms(pct(0.99)), ms(pct(1)))
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(summary, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if *traceOut != "" {
		if err := writeTrace(*traceOut, start, results); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if ok != len(results) || dropped > 0 {
		os.Exit(1)
	}
}

// percentile returns sorted[⌊p·n⌋] (0-based, capped at the last): ⌊p·n⌋ samples precede it, so
// it errs high, never low. 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// writeTrace writes one CSV line per request, in the order they were due: when it was due
// (Unix time in ms, to line it up with other probes), how late the load generator began to send
// it (ms), its latency from its due time (ms) and its status (0: transport error).
func writeTrace(path string, start time.Time, results []result) error {
	rs := slices.Clone(results)
	slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.due, b.due) })
	var b bytes.Buffer
	b.WriteString("due_unix_ms,late_ms,latency_ms,status\n")
	origin := ms(time.Duration(start.UnixNano()))
	for _, r := range rs {
		fmt.Fprintf(&b, "%.3f,%.3f,%.3f,%d\n", origin+ms(r.due), ms(r.late), ms(r.latency), r.code)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// requests builds the requests the load generator sends, once: 1,024 valid tweets drawn from
// seed, each a whole HTTP/1.1 request that the engine only writes.
func requests(target *url.URL, host string, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 42))
	wires := make([][]byte, 1024)
	for i := range wires {
		b, _ := json.Marshal(map[string]any{
			"municipality": tweet.Municipalities[r.IntN(4)].String(),
			"temperature":  r.IntN(tweet.MaxTemperature-tweet.MinTemperature+1) + tweet.MinTemperature,
			"humidity":     r.IntN(tweet.MaxHumidity + 1),
			"weather":      tweet.Weathers[r.IntN(4)].String(),
		})
		wires[i] = append(requestHead(target, host, len(b)), b...)
	}
	return wires
}
