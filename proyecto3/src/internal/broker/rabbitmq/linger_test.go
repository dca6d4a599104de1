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
	at       []time.Time // when each write came
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
	c.at = append(c.at, time.Now())
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

func TestLingerConnMergesWrites(t *testing.T) {
	rc := &recordConn{}
	lc := newLingerConn(rc, time.Hour) // flushed by hand below: no timing in this test
	for _, s := range []string{"method", "header", "body"} {
		if n, err := lc.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if w, _ := rc.snapshot(); len(w) != 0 {
		t.Fatalf("written before the linger passed: %q", w)
	}
	lc.flush()
	if w, _ := rc.snapshot(); len(w) != 1 || string(w[0]) != "methodheaderbody" {
		t.Fatalf("writes %q, want one write \"methodheaderbody\"", w)
	}
	lc.flush() // nothing queued: nothing written
	if w, _ := rc.snapshot(); len(w) != 1 {
		t.Fatalf("an empty flush wrote: %q", w)
	}
}

func TestLingerConnFlushesAfterTheLinger(t *testing.T) {
	rc := &recordConn{}
	const linger = 20 * time.Millisecond
	lc := newLingerConn(rc, linger)
	for round := range 2 { // the second write starts a new linger window
		start := time.Now()
		if _, err := lc.Write([]byte("publish")); err != nil {
			t.Fatal(err)
		}
		w := waitWrites(t, rc, round+1)
		if string(w[round]) != "publish" {
			t.Fatalf("write %d = %q, want \"publish\"", round, w[round])
		}
		rc.mu.Lock()
		after := rc.at[round].Sub(start)
		rc.mu.Unlock()
		if after < linger {
			t.Errorf("write %d reached the socket after %s, before the %s linger", round, after, linger)
		}
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
	writing chan struct{} // closed when the first Write has started
	closed  chan struct{}
	w, c    sync.Once
}

func (c *stuckConn) Write(p []byte) (int, error) {
	c.w.Do(func() { close(c.writing) })
	<-c.closed
	return 0, net.ErrClosed
}

func (c *stuckConn) Close() error {
	c.c.Do(func() { close(c.closed) })
	return nil
}

func TestLingerConnCloseEndsABlockedWrite(t *testing.T) {
	sc := &stuckConn{writing: make(chan struct{}), closed: make(chan struct{})}
	lc := newLingerConn(sc, time.Millisecond)
	if _, err := lc.Write([]byte("publish")); err != nil {
		t.Fatal(err)
	}
	<-sc.writing // the flush is now blocked in the socket's Write, holding the queue
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
