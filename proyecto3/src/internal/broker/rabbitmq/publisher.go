package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

var _ broker.Publisher = (*Publisher)(nil)

var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("rabbitmq: closed")
	// ErrNacked means the broker refused the message (publisher confirm with nack).
	ErrNacked = errors.New("rabbitmq: message nacked by the broker")
	// ErrUnroutable means the broker returned the mandatory message: no queue took it.
	ErrUnroutable = errors.New("rabbitmq: message returned unroutable (is the queue there?)")
	// ErrNotConnected wraps ctx's error when Publish gave up while the publisher was
	// (re)connecting.
	ErrNotConnected = errors.New("rabbitmq: not connected (reconnecting)")
)

// Publisher publishes tweets over one connection with a pool of confirm-mode channels.
// It reconnects by itself; Publish waits for the connection within its ctx.
type Publisher struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	sess    *pubSession   // nil while disconnected
	ready   chan struct{} // closed when sess is set
	lastErr error         // why the last connection attempt or session failed
	closed  bool

	done     chan struct{} // closed by Close
	stopped  chan struct{} // closed when the connection manager returned
	inflight sync.WaitGroup
	next     atomic.Uint64
}

type pubSession struct {
	d     *dialed
	chans []*pubChannel
	lost  chan struct{} // closed once the session is broken
	kind  string        // queue type in use
}

type pubChannel struct {
	ch      *amqp.Channel
	returns chan amqp.Return

	mu       sync.Mutex
	returned map[string]time.Time // message ids returned by the broker, not yet claimed
}

// NewPublisher starts the connection manager, which connects (and reconnects) in the
// background; Publish and Check report when no connection is there.
func NewPublisher(cfg Config, log *slog.Logger) (*Publisher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Publisher{
		cfg:     cfg,
		log:     log.With("broker", broker.RabbitMQ, "role", "publisher"),
		ready:   make(chan struct{}),
		lastErr: errors.New("rabbitmq: connecting"),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go p.manage()
	return p, nil
}

// manage keeps a session up: connect, wait for its loss, reconnect with backoff.
func (p *Publisher) manage() {
	defer close(p.stopped)
	backoff := p.cfg.ReconnectBackoff
	connectedBefore := false
	for {
		sess, err := p.connect()
		if err != nil {
			p.setErr(err)
			p.log.Warn("connect failed; retrying", "url", redactedURL(p.cfg.URL), "in", backoff, "err", err)
			if !backoffWait(p.done, backoff) {
				return
			}
			backoff = min(2*backoff, p.cfg.MaxReconnectBackoff)
			continue
		}
		backoff = p.cfg.ReconnectBackoff
		if connectedBefore {
			m.Reconnects.WithLabelValues("publisher").Inc()
		}
		connectedBefore = true
		p.log.Info("connected", "url", redactedURL(p.cfg.URL), "queue", p.cfg.Queue, "queue_type", sess.kind, "channels", len(sess.chans), "linger", p.cfg.Linger.String())
		p.mu.Lock()
		p.sess = sess
		close(p.ready)
		p.mu.Unlock()

		var cause error
		select {
		case cause = <-p.watch(sess):
		case <-p.done:
			p.closeSession(sess, ErrClosed)
			return
		}
		p.log.Warn("connection lost; reconnecting", "err", cause)
		p.closeSession(sess, cause)
	}
}

// watch returns a channel that yields why sess broke: its connection or one of its
// channels closed.
func (p *Publisher) watch(sess *pubSession) <-chan error {
	out := make(chan error, 1)
	var once sync.Once
	report := func(e *amqp.Error, what string) {
		once.Do(func() {
			if e == nil {
				out <- fmt.Errorf("rabbitmq: %s closed", what)
			} else {
				out <- fmt.Errorf("rabbitmq: %s closed: %w", what, e)
			}
		})
	}
	cc := sess.d.conn.NotifyClose(make(chan *amqp.Error, 1))
	go func() { e := <-cc; report(e, "connection") }()
	for _, pc := range sess.chans {
		nc := pc.ch.NotifyClose(make(chan *amqp.Error, 1))
		go func() { e := <-nc; report(e, "channel") }()
	}
	return out
}

func (p *Publisher) closeSession(sess *pubSession, cause error) {
	p.mu.Lock()
	if p.sess == sess {
		p.sess = nil
		p.ready = make(chan struct{})
	}
	p.lastErr = cause
	p.mu.Unlock()
	close(sess.lost)
	_ = sess.d.conn.Close()
}

func (p *Publisher) setErr(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

func (p *Publisher) connect() (*pubSession, error) {
	d, err := dial(p.cfg, "publisher")
	if err != nil {
		return nil, err
	}
	kind, err := declareQueue(d.conn, p.cfg.Queue, p.log)
	if err != nil {
		_ = d.conn.Close()
		return nil, err
	}
	sess := &pubSession{d: d, lost: make(chan struct{}), kind: kind}
	for range p.cfg.Channels {
		ch, err := d.conn.Channel()
		if err == nil {
			err = ch.Confirm(false)
		}
		if err != nil {
			_ = d.conn.Close()
			return nil, fmt.Errorf("rabbitmq: open confirm channel: %w", err)
		}
		pc := &pubChannel{ch: ch, returns: make(chan amqp.Return, 4096), returned: make(map[string]time.Time)}
		ch.NotifyReturn(pc.returns)
		sess.chans = append(sess.chans, pc)
	}
	return sess, nil
}

// session returns the current session, waiting for one within ctx.
func (p *Publisher) session(ctx context.Context) (*pubSession, error) {
	for {
		p.mu.Lock()
		sess, ready, closed, lastErr := p.sess, p.ready, p.closed, p.lastErr
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if sess != nil {
			return sess, nil
		}
		select {
		case <-ready:
		case <-p.done:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w (last error: %v)", ErrNotConnected, ctx.Err(), lastErr)
		}
	}
}

// Publish sends t as a persistent, mandatory message and waits for the broker's confirm of
// it. When the connection breaks before the confirm, it publishes again on the next
// connection (within ctx): the broker may then hold the tweet twice, which the consumers'
// id deduplication absorbs.
func (p *Publisher) Publish(ctx context.Context, t tweet.Tweet) (err error) {
	start := time.Now()
	defer func() { m.ObservePublish(start, err) }()

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.inflight.Add(1)
	p.mu.Unlock()
	defer p.inflight.Done()

	body, err := t.Marshal()
	if err != nil {
		return fmt.Errorf("rabbitmq: encode tweet %s: %w", t.ID, err)
	}
	msg := amqp.Publishing{
		ContentType:  tweet.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    t.ID,
		Timestamp:    time.UnixMilli(t.ReceivedAtMs),
		Headers:      amqp.Table{tweet.BrokerHeaderRecv: t.ReceivedAtMs},
		Body:         body,
	}
	for {
		sess, err := p.session(ctx)
		if err != nil {
			return err
		}
		pc := sess.chans[p.next.Add(1)%uint64(len(sess.chans))]
		dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, "", p.cfg.Queue, true, false, msg)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Our headers are valid, so the send failed: the channel or connection is
			// breaking. Once the manager has seen it, publish on the next session.
			if !waitLostFor(ctx, sess, 2*time.Second) {
				return fmt.Errorf("rabbitmq: publish %s: %w", t.ID, err)
			}
			continue
		}
		select {
		case <-dc.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
		if !dc.Acked() {
			if pc.ch.IsClosed() {
				// Not a broker nack: the channel closed before the confirm came. The message
				// may or may not be stored; publishing again is safe (ids are deduplicated).
				if err := waitLost(ctx, sess); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("%w: %s", ErrNacked, t.ID)
		}
		if pc.claimReturn(t.ID) {
			return fmt.Errorf("%w: %s to queue %s", ErrUnroutable, t.ID, p.cfg.Queue)
		}
		return nil
	}
}

// waitLostFor waits at most d (and within ctx) for sess to be marked lost.
func waitLostFor(ctx context.Context, sess *pubSession, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-sess.lost:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// waitLost waits until the manager has noticed sess's loss (so that the next session() call
// does not hand out the same broken session).
func waitLost(ctx context.Context, sess *pubSession) error {
	select {
	case <-sess.lost:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotConnected, ctx.Err())
	}
}

// claimReturn reports whether the broker returned the message with this id. The connection's
// reader delivers a basic.return to pc.returns before it processes the basic.ack that
// follows it, so once the ack is seen any return of the same message is in the buffer.
func (pc *pubChannel) claimReturn(id string) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
drain:
	for {
		select {
		case r, ok := <-pc.returns:
			if !ok { // closed with the channel
				break drain
			}
			pc.returned[r.MessageId] = time.Now()
		default:
			break drain
		}
	}
	if len(pc.returned) == 0 {
		return false
	}
	_, found := pc.returned[id]
	delete(pc.returned, id)
	for k, at := range pc.returned { // returns nobody claimed (their Publish gave up)
		if time.Since(at) > time.Minute {
			delete(pc.returned, k)
		}
	}
	return found
}

// Check reports whether the publisher holds an open connection.
func (p *Publisher) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.sess == nil || p.sess.d.conn.IsClosed() {
		return fmt.Errorf("%w: %v", ErrNotConnected, p.lastErr)
	}
	return nil
}

// Close waits (at most CloseTimeout) for publishes in flight, then closes the connection.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	drained := make(chan struct{})
	go func() { p.inflight.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-time.After(p.cfg.CloseTimeout):
		err = fmt.Errorf("rabbitmq: publishes still in flight after %s", p.cfg.CloseTimeout)
	}
	close(p.done)
	<-p.stopped
	return err
}

// dropConnection cuts the TCP connection under the current session, as a network failure
// or a broker crash would (tests).
func (p *Publisher) dropConnection() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == nil || p.sess.d.tcp == nil {
		return false
	}
	_ = p.sess.d.tcp.Close()
	return true
}
