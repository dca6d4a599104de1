package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

var _ broker.Source = (*Source)(nil)

// errLost ends a session whose connection or channel broke.
var errLost = errors.New("rabbitmq: delivery channel closed")

// Source consumes tweets with manual acks. Messages are acked only after the handler stored
// their batch; when the connection breaks (or the process dies) before that, the broker
// requeues every unacked message and delivers it again, to this source after it reconnects
// or to another consumer. Duplicates are possible, losses are not.
//
// Shutdown: when Run's ctx is cancelled, a handler call in progress keeps a live context for
// up to DrainTimeout, and its batch is acked if it succeeds; everything else still unacked is
// requeued by the broker when the connection closes.
type Source struct {
	cfg Config
	log *slog.Logger

	runMu     sync.Mutex // one Run at a time
	mu        sync.Mutex
	cur       *dialed // current connection, nil between sessions
	lastErr   error
	closed    bool
	cancelRun context.CancelFunc
}

// NewSource returns a source; it connects when Run starts.
func NewSource(cfg Config, log *slog.Logger) (*Source, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Source{
		cfg:     cfg,
		log:     log.With("broker", broker.RabbitMQ, "role", "source"),
		lastErr: errors.New("rabbitmq: not started"),
	}, nil
}

// Run consumes until ctx is done or Close, reconnecting with backoff whenever the connection
// is lost. It returns nil at the end; ErrClosed when called after Close.
func (s *Source) Run(ctx context.Context, h broker.Handler) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancelRun = cancel
	s.mu.Unlock()

	backoff := s.cfg.ReconnectBackoff
	for sessions := 0; ctx.Err() == nil; sessions++ {
		if sessions > 0 {
			m.Reconnects.WithLabelValues("source").Inc()
		}
		started := time.Now()
		err := s.session(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		if time.Since(started) > time.Minute {
			backoff = s.cfg.ReconnectBackoff // it ran well for a while: start over
		}
		s.log.Warn("session ended; reconnecting", "in", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, s.cfg.MaxReconnectBackoff)
	}
	return nil
}

// session consumes over one connection until it breaks or ctx is done.
func (s *Source) session(ctx context.Context, h broker.Handler) error {
	d, err := dial(s.cfg, "source")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cur = d
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
		_ = d.conn.Close() // requeues whatever is still unacked
	}()
	kind, err := declareQueue(d.conn, s.cfg.Queue, s.log)
	if err != nil {
		return err
	}
	ch, err := d.conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: open channel: %w", err)
	}
	if err := ch.Qos(s.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("rabbitmq: qos: %w", err)
	}
	deliveries, err := ch.Consume(s.cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("rabbitmq: consume %s: %w", s.cfg.Queue, err)
	}
	s.log.Info("consuming", "url", redactedURL(s.cfg.URL), "queue", s.cfg.Queue, "queue_type", kind,
		"prefetch", s.cfg.Prefetch, "batch_size", s.cfg.BatchSize, "batch_wait", s.cfg.BatchWait)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	for {
		batch, err := s.readBatch(ctx, deliveries)
		if err != nil || ctx.Err() != nil {
			if err == errLost {
				select {
				case e := <-closed:
					if e != nil {
						return fmt.Errorf("%w: %w", errLost, e)
					}
				default:
				}
			}
			return err
		}
		if err := s.handle(ctx, ch, h, batch); err != nil {
			return err
		}
	}
}

// readBatch waits for a first delivery, then takes more for at most BatchWait or until
// BatchSize. A batch cut short by ctx or a lost channel is dropped: its messages are unacked
// and the broker delivers them again.
func (s *Source) readBatch(ctx context.Context, deliveries <-chan amqp.Delivery) ([]amqp.Delivery, error) {
	var batch []amqp.Delivery
	select {
	case d, ok := <-deliveries:
		if !ok {
			return nil, errLost
		}
		batch = append(make([]amqp.Delivery, 0, s.cfg.BatchSize), d)
	case <-ctx.Done():
		return nil, nil
	}
	timer := time.NewTimer(s.cfg.BatchWait)
	defer timer.Stop()
	for len(batch) < s.cfg.BatchSize {
		select {
		case d, ok := <-deliveries:
			if !ok {
				return nil, errLost
			}
			batch = append(batch, d)
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
	return batch, nil
}

// handle decodes the batch (rejecting what cannot be decoded), calls h until it succeeds,
// then acks the batch with one multiple ack. It returns an error only when the channel broke.
func (s *Source) handle(ctx context.Context, ch *amqp.Channel, h broker.Handler, batch []amqp.Delivery) error {
	m.BatchSize.Observe(float64(len(batch)))
	tweets := make([]tweet.Tweet, 0, len(batch))
	var lastGood uint64
	for _, d := range batch {
		t, err := decode(d)
		if err != nil {
			m.DecodeErrors.Inc()
			s.log.Warn("undecodable message rejected", "delivery_tag", d.DeliveryTag, "message_id", d.MessageId, "err", err)
			if err := ch.Nack(d.DeliveryTag, false, false); err != nil {
				return fmt.Errorf("rabbitmq: reject undecodable message: %w", err)
			}
			continue
		}
		tweets = append(tweets, t)
		lastGood = d.DeliveryTag
	}
	if len(tweets) == 0 {
		return nil
	}
	if !broker.HandleUntilStored(ctx, h, tweets, s.retry(), m, s.log) {
		return nil
	}
	if err := ch.Ack(lastGood, true); err != nil {
		m.AckErrors.Inc()
		return fmt.Errorf("rabbitmq: ack (the batch will be delivered again): %w", err)
	}
	m.Consumed.Add(float64(len(tweets)))
	return nil
}

// decode rebuilds a tweet: id from message-id, received-at from the received-at-ms header
// (the AMQP timestamp, in seconds, as a fallback), fields from the protobuf body.
func decode(d amqp.Delivery) (tweet.Tweet, error) {
	var ms int64
	switch v := d.Headers[tweet.BrokerHeaderRecv].(type) {
	case int64:
		ms = v
	case int32:
		ms = int64(v)
	case int:
		ms = int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return tweet.Tweet{}, fmt.Errorf("header %s: %q is not an integer", tweet.BrokerHeaderRecv, v)
		}
		ms = n
	case nil:
		if !d.Timestamp.IsZero() {
			ms = d.Timestamp.UnixMilli()
		}
	default:
		return tweet.Tweet{}, fmt.Errorf("header %s has type %T", tweet.BrokerHeaderRecv, v)
	}
	return tweet.Unmarshal(d.Body, d.MessageId, ms)
}

// Check reports whether the source holds an open connection.
func (s *Source) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.cur == nil || s.cur.conn.IsClosed() {
		return fmt.Errorf("%w: %v", ErrNotConnected, s.lastErr)
	}
	return nil
}

// Close stops Run (a batch in progress is abandoned unacked, so the broker delivers it
// again) and closes the connection. Cancel Run's ctx and let it return first for a graceful stop.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.cancelRun != nil {
		s.cancelRun()
	}
	d := s.cur
	s.mu.Unlock()
	if d != nil {
		_ = d.conn.Close() // unblocks a Run waiting on the broker
	}
	s.runMu.Lock() // wait for Run to return
	//lint:ignore SA2001 the lock is taken only to wait for a Run in progress
	s.runMu.Unlock()
	return nil
}

// dropConnection cuts the TCP connection under the current session (tests).
func (s *Source) dropConnection() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.tcp == nil {
		return false
	}
	_ = s.cur.tcp.Close()
	return true
}

func (s *Source) retry() broker.Retry {
	return broker.Retry{Backoff: s.cfg.RetryBackoff, MaxBackoff: s.cfg.MaxRetryBackoff, Drain: s.cfg.DrainTimeout}
}
