//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// engine is the load generator's HTTP/1.1 client: one OS thread drives non-blocking sockets with
// epoll. It exists because the load generator shares the 2 cores with the system it measures,
// and every microsecond it spends per request is taken from that system. A Go HTTP client
// (net/http, fasthttp) costs a goroutine, a timer, a failed read (EAGAIN) and a wake-up through
// the runtime's poller per request; here a request is one write and, usually, one read, with
// the readiness of all connections collected by one epoll_pwait2, which also keeps the rate's
// clock (docs/benchmarks.md, "Afternoon of 2026-11-29: a load generator on one thread").
//
// Keep-alive connections, one request at a time on each (no pipelining), as many as there are
// requests in flight, up to maxConns.
type engine struct {
	ep       int
	sa       unix.Sockaddr
	family   int
	timeout  time.Duration
	maxConns int

	conns []*conn       // by file descriptor
	idle  []*conn       // connected, no request: reused last in, first out
	open  int           // connections open
	busy  int           // requests in flight
	peak  int           // most requests in flight at once
	tick  time.Duration // the shortest sleep between two sends (see the --tick flag)
	// rtPriority > 0: run's thread goes to SCHED_FIFO at this priority (the --rt-priority flag)
	rtPriority int
	seq        uint64 // numbers the requests, so that an expiry finds its own request
	expiry     []expiring
	events     []unix.EpollEvent

	start time.Time    // the run's start: results' due times are from it
	done  func(result) // called once per request sent, on the engine's thread

	sent, dropped atomic.Int64 // requests sent, and not sent because maxConns were in flight
}

// plan is what run sends: n requests, the i-th (wires[i % len(wires)]) due at
// start + i·interval.
type plan struct {
	n        int
	start    time.Time
	interval time.Duration
	wires    [][]byte
}

type connState uint8

const (
	connecting connState = iota + 1
	idle
	busy
)

type conn struct {
	fd      int
	state   connState
	out     []byte    // what remains to be written of the request in progress
	in      []byte    // the response read so far
	req     uint64    // the request in progress (its seq)
	due     time.Time // when it was due
	res     result
	pollOut bool // EPOLLOUT is in the connection's epoll interest (connecting, or a rest to write)
}

// expiring is a request's deadline; the queue is in sending order, so its deadlines are too.
type expiring struct {
	c        *conn
	req      uint64
	deadline time.Time
}

// pending reports whether the entry's request is still in progress on its connection.
func (x expiring) pending() bool { return x.c != nil && x.c.req == x.req && x.c.state != 0 }

// newEngine resolves target (an http:// URL) once and prepares the epoll instance.
func newEngine(target *url.URL, timeout time.Duration, maxConns int) (*engine, string, error) {
	if target.Scheme != "http" {
		return nil, "", fmt.Errorf("only http:// URLs are supported, not %q", target.Scheme)
	}
	host := target.Host
	if target.Port() == "" {
		host = net.JoinHostPort(target.Hostname(), "80")
	}
	addr, err := net.ResolveTCPAddr("tcp", host)
	if err != nil {
		return nil, "", err
	}
	e := &engine{timeout: timeout, maxConns: maxConns, events: make([]unix.EpollEvent, 256)}
	if ip4 := addr.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: addr.Port}
		copy(sa.Addr[:], ip4)
		e.sa, e.family = sa, unix.AF_INET
	} else {
		sa := &unix.SockaddrInet6{Port: addr.Port}
		copy(sa.Addr[:], addr.IP.To16())
		e.sa, e.family = sa, unix.AF_INET6
	}
	if e.ep, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, "", fmt.Errorf("epoll_create1: %w", err)
	}
	return e, target.Host, nil
}

// requestHead is the head of every request: method, path, Host and the JSON body's headers.
func requestHead(target *url.URL, host string, bodyLen int) []byte {
	return fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		target.RequestURI(), host, bodyLen)
}

// run sends the plan's requests and returns when every request sent has finished, with how
// long the sending took (until the last request was due, or stop returned true). A request due
// while maxConns are in flight is not sent but dropped. stop is checked at least every 50 ms.
// run takes the calling goroutine's OS thread until it returns.
func (e *engine) run(p plan, stop func() bool) (sendTime time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if e.rtPriority > 0 {
		if restore, err := setFIFO(e.rtPriority); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: --rt-priority %d: %v; the sender runs under the normal scheduler\n", e.rtPriority, err)
		} else {
			// The thread's own policy back before it is unlocked: the Go runtime may run
			// anything on it afterwards.
			defer restore()
		}
	}
	n, start, interval := p.n, p.start, p.interval
	i, sending := 0, true
	e.start = start
	for {
		now := time.Now()
		stopping := stop()
		for ; i < n && !stopping; i++ {
			due := start.Add(time.Duration(i) * interval)
			if due.After(now) {
				break
			}
			if e.busy >= e.maxConns {
				e.dropped.Add(1)
				continue
			}
			e.sent.Add(1)
			e.send(p.wires[i%len(p.wires)], due, now)
		}
		if sending && (i >= n || stopping) {
			sending = false
			sendTime = time.Since(start)
		}
		e.expire(now)
		if !sending && e.busy == 0 {
			return sendTime
		}
		wait := 50 * time.Millisecond
		if i < n && !stopping {
			wait = min(wait, time.Until(start.Add(time.Duration(i)*interval)))
			if wait > 0 && wait < e.tick {
				wait = e.tick
			}
		}
		e.poll(max(wait, 0))
	}
}

// setFIFO puts the calling thread under SCHED_FIFO at priority (1-99); restore gives it back
// the scheduling it had. On the shared 2 cores of a local benchmark the sender otherwise waits
// for a core behind the system it measures, and its delays (sending late, reading a response
// late) count as latency (docs/benchmarks.md, "The load generator's own delays").
func setFIFO(priority int) (restore func(), err error) {
	orig, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return nil, fmt.Errorf("sched_getattr: %w", err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(priority)}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return nil, fmt.Errorf("sched_setattr: %w", err)
	}
	return func() { _ = unix.SchedSetAttr(0, orig, 0) }, nil
}

// send starts one request on an idle connection, or on a new one.
func (e *engine) send(wire []byte, due, now time.Time) {
	c := e.takeIdle()
	e.seq++
	e.busy++
	e.peak = max(e.peak, e.busy)
	e.expiry = append(e.expiry, expiring{deadline: now.Add(e.timeout), req: e.seq})
	if c == nil {
		var err error
		if c, err = e.dial(); err != nil {
			e.done(result{code: 0, due: due.Sub(e.start), late: time.Since(due), latency: time.Since(due)})
			e.busy--
			return
		}
	}
	e.expiry[len(e.expiry)-1].c = c
	c.req, c.out, c.in = e.seq, wire, c.in[:0]
	c.due, c.res = due, result{due: due.Sub(e.start), late: now.Sub(due)}
	if c.state == idle {
		c.state = busy
		e.write(c)
	} // a connecting connection writes once connected
}

func (e *engine) takeIdle() *conn {
	for len(e.idle) > 0 {
		c := e.idle[len(e.idle)-1]
		e.idle = e.idle[:len(e.idle)-1]
		if c.state == idle { // not closed since it became idle
			return c
		}
	}
	return nil
}

func (e *engine) dial() (*conn, error) {
	fd, err := unix.Socket(e.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := unix.Connect(fd, e.sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return nil, fmt.Errorf("connect: %w", err)
	}
	// Connected when writable (loopback connects at once, but the answer is the same).
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	for fd >= len(e.conns) {
		e.conns = append(e.conns, nil)
	}
	c := &conn{fd: fd, state: connecting, in: make([]byte, 0, 512), pollOut: true}
	e.conns[fd] = c
	e.open++
	return c, nil
}

// poll waits up to wait for readiness and handles every ready connection.
func (e *engine) poll(wait time.Duration) {
	ts := unix.NsecToTimespec(wait.Nanoseconds())
	r, _, errno := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(e.ep), uintptr(unsafe.Pointer(&e.events[0])),
		uintptr(len(e.events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
	if errno != 0 {
		if errno == unix.EINTR {
			return
		}
		panic(fmt.Sprintf("epoll_pwait2: %v", errno)) // EBADF/EFAULT/EINVAL: a bug here
	}
	for _, ev := range e.events[:int(r)] {
		c := e.conns[ev.Fd]
		if c == nil {
			continue
		}
		if c.state == connecting && ev.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			if err := socketError(c.fd); err != nil {
				e.fail(c)
				continue
			}
			c.state = busy
			e.write(c)
			continue
		}
		if ev.Events&unix.EPOLLOUT != 0 && c.state == busy && len(c.out) > 0 {
			e.write(c)
		}
		if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && c.state != 0 {
			e.read(c)
		}
	}
}

// write writes what remains of the request, and asks for writability only while some remains.
func (e *engine) write(c *conn) {
	n, err := unix.Write(c.fd, c.out)
	if err != nil && !errors.Is(err, unix.EAGAIN) {
		e.fail(c)
		return
	}
	c.out = c.out[max(n, 0):]
	if want := len(c.out) > 0; want != c.pollOut {
		events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
		if want {
			events |= unix.EPOLLOUT
		}
		ev := unix.EpollEvent{Events: events, Fd: int32(c.fd)}
		if err := unix.EpollCtl(e.ep, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			e.fail(c)
			return
		}
		c.pollOut = want
	}
}

// read takes what the socket has and finishes the request when its response is complete.
func (e *engine) read(c *conn) {
	for {
		if len(c.in) == cap(c.in) {
			if cap(c.in) >= maxResponse {
				e.fail(c)
				return
			}
			c.in = append(c.in, make([]byte, cap(c.in))...)[:len(c.in)]
		}
		avail := cap(c.in) - len(c.in)
		n, err := unix.Read(c.fd, c.in[len(c.in):cap(c.in)])
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 { // reset, or the server closed the connection
			if c.state == busy {
				if r, perr := parseResponse(c.in); perr == nil && r.untilEOF && len(c.out) == 0 {
					e.finish(c, r.status, true)
					return
				}
			}
			e.fail(c)
			return
		}
		c.in = c.in[:len(c.in)+n]
		if n < avail { // the socket had less than asked: it is empty now
			break
		}
	}
	if c.state != busy {
		if len(c.in) > 0 { // bytes nobody asked for
			e.fail(c)
		}
		return
	}
	r, err := parseResponse(c.in)
	switch {
	case err != nil:
		e.fail(c)
	case r.complete && r.length == len(c.in) && len(c.out) == 0:
		e.finish(c, r.status, r.close)
	case r.complete: // more than one response, or an answer before the whole request was sent
		e.fail(c)
	}
}

// finish records the request's response and keeps the connection unless it must close.
func (e *engine) finish(c *conn, status int, closeConn bool) {
	c.res.code = status
	c.res.latency = time.Since(c.due)
	e.busy--
	e.done(c.res)
	c.req, c.in = 0, c.in[:0]
	if closeConn {
		e.close(c)
		return
	}
	c.state = idle
	e.idle = append(e.idle, c)
}

// fail ends the connection and, when one was in progress, its request as a transport error.
func (e *engine) fail(c *conn) {
	if c.state == busy || c.state == connecting {
		c.res.code = 0
		c.res.latency = time.Since(c.due)
		e.busy--
		e.done(c.res)
	}
	e.close(c)
}

func (e *engine) close(c *conn) {
	if c.state == 0 {
		return
	}
	_ = unix.EpollCtl(e.ep, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	e.conns[c.fd] = nil
	c.state, c.req = 0, 0
	e.open--
}

// expire fails the requests whose deadline passed (their connection is closed, as a client
// must when it gives up on an HTTP/1.1 response).
func (e *engine) expire(now time.Time) {
	k := 0
	for ; k < len(e.expiry) && !e.expiry[k].deadline.After(now); k++ {
		if x := e.expiry[k]; x.pending() {
			e.fail(x.c)
		}
	}
	if k > 0 {
		e.expiry = append(e.expiry[:0], e.expiry[k:]...)
	}
	// Entries of finished requests are dropped when they reach the front; bound the queue if
	// requests finish much faster than the timeout.
	if len(e.expiry) > 4*e.maxConns+1024 {
		live := e.expiry[:0]
		for _, x := range e.expiry {
			if x.pending() {
				live = append(live, x)
			}
		}
		e.expiry = live
	}
}

// closeAll closes every connection and the epoll instance.
func (e *engine) closeAll() {
	for _, c := range e.conns {
		if c != nil {
			e.close(c)
		}
	}
	unix.Close(e.ep)
}

func socketError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return nil
}
