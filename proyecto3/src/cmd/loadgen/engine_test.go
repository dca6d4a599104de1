//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tweetsdelclima/internal/tweet"
)

type runResult struct {
	results []result
	peak    int
	dropped int64
}

// load sends n requests at rate to rawURL through a new engine and returns what it recorded.
func load(t *testing.T, rawURL string, n int, rate float64, maxConns int, timeout time.Duration, opts ...func(*engine)) runResult {
	t.Helper()
	target, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	e, host, err := newEngine(target, timeout, maxConns)
	if err != nil {
		t.Fatal(err)
	}
	defer e.closeAll()
	e.tick = time.Millisecond
	var rs []result
	e.done = func(r result) { rs = append(rs, r) }
	for _, o := range opts {
		o(e)
	}
	p := plan{n: n, start: time.Now(), interval: time.Duration(float64(time.Second) / rate), wires: requests(target, host, 1)}
	finished := make(chan struct{})
	go func() { // run holds its OS thread; a hang must fail the test, not the package's timeout
		defer close(finished)
		e.run(p, func() bool { return false })
	}()
	select {
	case <-finished:
	case <-time.After(timeout + time.Duration(float64(n)/rate*float64(time.Second)) + 10*time.Second):
		t.Fatal("the engine did not finish")
	}
	if int(e.sent.Load()+e.dropped.Load()) != n || len(rs) != int(e.sent.Load()) {
		t.Fatalf("sent %d + dropped %d of %d, %d results", e.sent.Load(), e.dropped.Load(), n, len(rs))
	}
	if e.open != len(e.idleOpen()) {
		t.Fatalf("%d connections open after the run, %d of them idle: a request left one busy", e.open, len(e.idleOpen()))
	}
	return runResult{results: rs, peak: e.peak, dropped: e.dropped.Load()}
}

// idleOpen is the idle connections that are still open.
func (e *engine) idleOpen() []*conn {
	var open []*conn
	for _, c := range e.idle {
		if c.state == idle {
			open = append(open, c)
		}
	}
	return open
}

func codes(rs []result) map[int]int {
	m := map[int]int{}
	for _, r := range rs {
		m[r.code]++
	}
	return m
}

// Every request reaches a real net/http server once, well formed, with a valid tweet, over
// reused keep-alive connections.
func TestEngineSendsEachRequestOnce(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]int{}
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/tweets" || r.URL.RawQuery != "a=1" ||
			r.Header.Get("Content-Type") != "application/json" || r.Host != r.Context().Value(http.LocalAddrContextKey).(net.Addr).String() {
			t.Errorf("unexpected request %s %s host %q type %q: %v", r.Method, r.URL, r.Host, r.Header.Get("Content-Type"), err)
		}
		if _, err := tweet.ParseJSON(b); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		mu.Lock()
		bodies[string(b)]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "accepted"})
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	const n = 600
	got := load(t, srv.URL+"/tweets?a=1", n, 3000, n, 5*time.Second)
	if c := codes(got.results); c[http.StatusAccepted] != n {
		t.Fatalf("codes %v, %d dropped; want %d × 202", c, got.dropped, n)
	}
	mu.Lock() // the handlers wrote before answering, but the race detector cannot see through TCP
	defer mu.Unlock()
	total := 0
	for _, k := range bodies {
		total += k
	}
	if total != n || len(bodies) > 1024 {
		t.Fatalf("server got %d requests with %d distinct bodies, want %d", total, len(bodies), n)
	}
	if c := conns.Load(); c > int64(got.peak) || c == 0 {
		t.Fatalf("%d connections for at most %d requests in flight: connections were not reused", c, got.peak)
	}
	for _, r := range got.results {
		if r.late < 0 || r.latency < r.late {
			t.Fatalf("late %v, latency %v", r.late, r.latency)
		}
	}
}

// rawServer accepts connections and, for each request read, lets answer write whatever it likes.
func rawServer(t *testing.T, answer func(c net.Conn, i int)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var requests atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					answer(c, int(requests.Add(1)))
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/tweets"
}

// Responses framed every way HTTP/1.1 allows, and split across many reads, are all read whole.
func TestEngineReadsEveryFraming(t *testing.T) {
	responses := []string{
		"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 201 Created\r\n\r\nuntil the end", // the server closes after it
	}
	want := map[int]int{202: 4, 200: 4, 503: 4, 204: 4, 201: 4}
	url := rawServer(t, func(c net.Conn, i int) {
		raw := responses[i%len(responses)]
		for len(raw) > 0 { // a few bytes at a time
			k := min(len(raw), 7)
			if _, err := c.Write([]byte(raw[:k])); err != nil {
				return
			}
			raw = raw[k:]
			time.Sleep(100 * time.Microsecond)
		}
		if i%len(responses) == 4 || i%len(responses) == 2 {
			c.Close()
		}
	})
	got := load(t, url, 20, 200, 20, 5*time.Second)
	if c := codes(got.results); len(c) != len(want) || c[202] != 4 || c[200] != 4 || c[503] != 4 || c[204] != 4 || c[201] != 4 {
		t.Fatalf("codes %v, %d dropped; want %v", c, got.dropped, want)
	}
}

// A request without an answer within the timeout fails (status 0) at the timeout, and its
// connection is closed; a server that hangs up without answering fails the request at once.
func TestEngineTimeoutAndHangUp(t *testing.T) {
	url := rawServer(t, func(c net.Conn, i int) {
		if i%2 == 0 {
			c.Close()
			return
		}
		time.Sleep(600 * time.Millisecond)
	})
	got := load(t, url, 4, 100, 10, 200*time.Millisecond)
	for _, r := range got.results {
		if r.code != 0 {
			t.Fatalf("status %d, want 0 (no answer)", r.code)
		}
	}
	var slow, fast int
	for _, r := range got.results {
		switch {
		case r.latency >= 200*time.Millisecond && r.latency < 550*time.Millisecond:
			slow++
		case r.latency < 150*time.Millisecond:
			fast++
		}
	}
	if slow != 2 || fast != 2 {
		t.Fatalf("latencies %v: want 2 timed out at ~200ms and 2 hung up at once", got.results)
	}
}

// Requests due while max-in-flight are unanswered are dropped, not queued.
func TestEngineDropsBeyondMaxInFlight(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	got := load(t, srv.URL+"/tweets", 50, 500, 3, 5*time.Second)
	if c := codes(got.results); c[202] != 3 || len(got.results) != 3 || got.dropped != 47 || got.peak != 3 {
		t.Fatalf("codes %v, dropped %d, peak %d: want 3 × 202, 47 dropped, peak 3", c, got.dropped, got.peak)
	}
}

// A server that closes idle keep-alive connections costs no request: the engine sees the close
// and dials again.
func TestEngineSurvivesIdleCloses(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.IdleTimeout = 20 * time.Millisecond
	srv.Start()
	defer srv.Close()
	got := load(t, srv.URL+"/tweets", 8, 20, 4, 5*time.Second) // one every 50 ms
	if c := codes(got.results); c[202] != 8 {
		t.Fatalf("codes %v, want 8 × 202", c)
	}
}

// Nothing listening: every request fails at once, none hangs.
func TestEngineConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got := load(t, "http://"+addr+"/tweets", 5, 100, 5, 5*time.Second)
	for _, r := range got.results {
		if r.code != 0 || r.latency > time.Second {
			t.Fatalf("status %d after %v, want 0 at once", r.code, r.latency)
		}
	}
}

func TestNewEngineRefusesHTTPS(t *testing.T) {
	u, _ := url.Parse("https://127.0.0.1:8443/tweets")
	if _, _, err := newEngine(u, time.Second, 1); err == nil {
		t.Fatal("https accepted")
	}
}

// policy is the calling thread's scheduling policy.
func policy(t *testing.T) uint32 {
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a.Policy
}

// With --rt-priority the sender's thread runs under SCHED_FIFO while it sends (the results are
// recorded on it), and setFIFO's restore gives a thread back the scheduling it had.
func TestEngineRealtimeSender(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		before := policy(t)
		restore, err := setFIFO(1)
		if err != nil {
			done <- err
			return
		}
		fifo := policy(t)
		restore()
		if fifo != unix.SCHED_FIFO || policy(t) != before {
			t.Errorf("policy %d under setFIFO(1), %d after restore; want %d and %d", fifo, policy(t), unix.SCHED_FIFO, before)
		}
		done <- nil
	}()
	if err := <-done; errors.Is(err, unix.EPERM) {
		t.Skipf("no permission for SCHED_FIFO here: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	var policies []uint32
	got := load(t, srv.URL, 50, 1000, 50, 5*time.Second, func(e *engine) {
		e.rtPriority = 1
		record := e.done
		e.done = func(r result) { policies = append(policies, policy(t)); record(r) }
	})
	if c := codes(got.results); c[http.StatusAccepted] != 50 {
		t.Fatalf("codes %v", c)
	}
	for _, p := range policies {
		if p != unix.SCHED_FIFO {
			t.Fatalf("a result was recorded under policy %d, want SCHED_FIFO (%d)", p, unix.SCHED_FIFO)
		}
	}
}
