package rabbitmq

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// recordConn is a net.Conn that records each Write it gets (unit tests only).
type recordConn struct {
	net.Conn // nil: only Write and Close are called
	mu       sync.Mutex
	writes   [][]byte
	failWith error
	closed   bool
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failWith != nil {
		return 0, c.failWith
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recordConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *recordConn) snapshot() ([][]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.writes...), c.closed
}

func waitWrites(t *testing.T, c *recordConn, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, _ := c.snapshot()
		if len(w) >= n {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes after 5s, want %d", len(w), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLingerConnMergesWritesWithinLinger(t *testing.T) {
	rc := &recordConn{}
	lc := newLingerConn(rc, 50*time.Millisecond)
	start := time.Now()
	for _, s := range []string{"method", "header", "body"} {
		if n, err := lc.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if w, _ := rc.snapshot(); len(w) != 0 {
		t.Fatalf("written before the linger passed: %q", w)
	}
	w := waitWrites(t, rc, 1)
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("flushed after %s, before the 50ms linger", elapsed)
	}
	if len(w) != 1 || string(w[0]) != "methodheaderbody" {
		t.Fatalf("writes %q, want one write \"methodheaderbody\"", w)
	}
	// The next write starts a new linger window.
	if _, err := lc.Write([]byte("next")); err != nil {
		t.Fatal(err)
	}
	if w = waitWrites(t, rc, 2); string(w[1]) != "next" {
		t.Fatalf("second write %q, want \"next\"", w[1])
	}
}

func TestLingerConnWritesAtOnceWhenFull(t *testing.T) {
	rc := &recordConn{}
	lc := newLingerConn(rc, time.Hour)
	chunk := bytes.Repeat([]byte{'x'}, 1000)
	total := 0
	for total < lingerFlushBytes {
		if _, err := lc.Write(chunk); err != nil {
			t.Fatal(err)
		}
		total += len(chunk)
	}
	w, _ := rc.snapshot()
	if len(w) != 1 || len(w[0]) != total {
		t.Fatalf("got %d writes, want one of %d bytes without waiting for the linger", len(w), total)
	}
}

func TestLingerConnCloseFlushes(t *testing.T) {
	rc := &recordConn{}
	lc := newLingerConn(rc, time.Hour)
	if _, err := lc.Write([]byte("connection.close")); err != nil {
		t.Fatal(err)
	}
	if err := lc.Close(); err != nil {
		t.Fatal(err)
	}
	w, closed := rc.snapshot()
	if len(w) != 1 || string(w[0]) != "connection.close" || !closed {
		t.Fatalf("after Close: writes %q, closed %v; want the queued bytes written, then closed", w, closed)
	}
	if _, err := lc.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

func TestLingerConnFailedWriteClosesAndSticks(t *testing.T) {
	broken := errors.New("connection reset")
	rc := &recordConn{failWith: broken}
	lc := newLingerConn(rc, time.Millisecond)
	if _, err := lc.Write([]byte("publish")); err != nil {
		t.Fatalf("Write = %v; the failure can only show at the flush", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, closed := rc.snapshot(); closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the socket was not closed after a failed write: the reader would not see the loss")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := lc.Write([]byte("again")); !errors.Is(err, broken) {
		t.Fatalf("Write after a failed flush = %v, want %v", err, broken)
	}
}

// stuckConn is a socket whose writes block until it is closed, as with a peer that stopped
// reading.
type stuckConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *stuckConn) Write(p []byte) (int, error) {
	<-c.closed
	return 0, net.ErrClosed
}

func (c *stuckConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func TestLingerConnCloseEndsABlockedWrite(t *testing.T) {
	sc := &stuckConn{closed: make(chan struct{})}
	lc := newLingerConn(sc, time.Millisecond)
	if _, err := lc.Write([]byte("publish")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the flush is now blocked in the socket's Write
	done := make(chan struct{})
	go func() { _ = lc.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a write that only closing the socket can end")
	}
	if _, err := lc.Write([]byte("late")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}
