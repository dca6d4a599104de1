package rabbitmq

import (
	"net"
	"sync"
	"time"
)

// lingerFlushBytes is how much may wait in a lingerConn before it writes at once.
const lingerFlushBytes = 64 << 10

// lingerConn holds what the AMQP client writes for up to linger and hands it to the socket in
// one write: the publisher's counterpart of Kafka's linger.ms. amqp091-go flushes every
// message on its own; at 1000 tweets/s that is one TCP segment per message, and RabbitMQ wakes,
// reads, routes, appends to its log and fsyncs, and confirms once per message. With a few
// messages per segment it does each of those once per batch: its CPU per message at 1000/s
// falls towards what it is at 3000/s, where messages already arrive together
// (docs/benchmarks.md, "RabbitMQ's cost per message"). Writes are never reordered or dropped;
// a failed write closes the socket, so the AMQP client's reader sees the loss and the
// publisher reconnects and publishes again what was not confirmed.
type lingerConn struct {
	net.Conn
	linger time.Duration

	mu    sync.Mutex
	buf   []byte
	timer *time.Timer // flushes buf linger after its first byte
	err   error       // the first failed write; every later Write returns it
}

func newLingerConn(c net.Conn, linger time.Duration) *lingerConn {
	lc := &lingerConn{Conn: c, linger: linger}
	lc.timer = time.AfterFunc(time.Hour, lc.flush)
	lc.timer.Stop()
	return lc
}

// Write queues p; the queue goes out linger after its first write, or at once when it holds
// lingerFlushBytes.
func (c *lingerConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	first := len(c.buf) == 0
	c.buf = append(c.buf, p...)
	if len(c.buf) >= lingerFlushBytes {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if first {
		c.timer.Reset(c.linger)
	}
	return len(p), nil
}

func (c *lingerConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.flushLocked()
}

func (c *lingerConn) flushLocked() error {
	if c.err != nil || len(c.buf) == 0 {
		return c.err
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.err = err
		_ = c.Conn.Close() // the reader fails too: the connection is seen as lost
	}
	return err
}

// Close writes what is queued, then closes the socket. When a write is in progress (a broker
// that stopped reading, e.g. under a resource alarm, blocks it), Close does not wait for it:
// closing the socket is what ends it.
func (c *lingerConn) Close() error {
	c.timer.Stop()
	if c.mu.TryLock() {
		_ = c.flushLocked()
		if c.err == nil {
			c.err = net.ErrClosed
		}
		c.mu.Unlock()
	}
	return c.Conn.Close()
}
