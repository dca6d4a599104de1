package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	ck "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

var _ broker.Publisher = (*Publisher)(nil)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("kafka: publisher closed")

// Publisher publishes tweets with one idempotent librdkafka producer shared by all callers.
type Publisher struct {
	cfg   Config
	log   *slog.Logger
	p     *ck.Producer
	topic string

	mu     sync.RWMutex // Publish holds it for reading while it produces; Close for writing
	closed bool
	wg     sync.WaitGroup // the Events and Logs drainers
}

// NewPublisher creates the producer. It does not wait for the brokers: librdkafka connects in
// the background, and Publish/Check fail (within their ctx) while none is reachable.
func NewPublisher(cfg Config, log *slog.Logger) (*Publisher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(false); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("broker", broker.Kafka, "role", "publisher")
	m := cfg.common()
	for k, v := range map[string]any{
		"enable.idempotence": true,
		"acks":               "all",
		"linger.ms":          lingerMs(cfg.Linger),
		"compression.type":   cfg.Compression,
		"message.timeout.ms": int(cfg.MessageTimeout.Milliseconds()),
		// Delivery reports go to each record's own channel; they need no copy of the record.
		"go.delivery.report.fields": "none",
		// The Go client's channels default to a million entries each, allocated up front: 16 MB
		// of Events() and 8 MB of ProduceChannel(), all pointers, that every GC cycle scans and
		// that let the heap (and RSS) grow to twice their size before a collection. Events()
		// carries only errors here, drained at once; ProduceChannel() is not used.
		"go.events.channel.size":  1000,
		"go.produce.channel.size": 1,
	} {
		_ = m.SetKey(k, v)
	}
	if err := applyExtra(m, cfg.Extra); err != nil {
		return nil, err
	}
	p, err := ck.NewProducer(&m)
	if err != nil {
		return nil, fmt.Errorf("kafka: new producer: %w", err)
	}
	pub := &Publisher{cfg: cfg, log: log, p: p, topic: cfg.Topic}
	pub.wg.Add(2)
	go pub.drainEvents()
	go func() { defer pub.wg.Done(); drainLogs(p.Logs(), log) }()
	log.Info("kafka producer created", "brokers", cfg.Brokers, "topic", cfg.Topic,
		"linger", cfg.Linger, "compression", cfg.Compression)
	return pub, nil
}

// lingerMs is librdkafka's linger.ms for a Config's (defaulted) Linger: milliseconds with
// their fraction, and 0 for a negative Linger (none).
func lingerMs(d time.Duration) string {
	return strconv.FormatFloat(float64(max(d, 0).Microseconds())/1000, 'f', -1, 64)
}

// drainEvents consumes Producer.Events(): errors and stray delivery reports. Leaving it
// undrained makes Flush (and so Close) wait forever.
func (p *Publisher) drainEvents() {
	defer p.wg.Done()
	for ev := range p.p.Events() {
		switch e := ev.(type) {
		case ck.Error:
			logKafkaError(p.log, e, "publisher")
		case *ck.Message:
			// Only records produced without a delivery channel land here; Publish always gives one.
			if e.TopicPartition.Error != nil {
				p.log.Warn("delivery failed", "err", e.TopicPartition.Error)
			}
		}
	}
}

func logKafkaError(log *slog.Logger, e ck.Error, role string) {
	if e.Code() == ck.ErrAllBrokersDown {
		m.Reconnects.WithLabelValues(role).Inc()
	}
	if e.IsFatal() {
		log.Error("kafka fatal error", "code", e.Code().String(), "err", e)
		return
	}
	log.Warn("kafka error", "code", e.Code().String(), "err", e)
}

func drainLogs(ch chan ck.LogEvent, log *slog.Logger) {
	for ev := range ch {
		level := slog.LevelDebug
		switch {
		case ev.Level <= 3:
			level = slog.LevelError
		case ev.Level == 4:
			level = slog.LevelWarn
		case ev.Level <= 6:
			level = slog.LevelInfo
		}
		log.Log(context.Background(), level, ev.Message, "librdkafka", ev.Tag, "client", ev.Name)
	}
}

// Publish sends t and waits for its delivery report (acks=all). On ctx's end it returns
// ctx.Err(); the record may still be delivered later, which is safe (ids are deduplicated
// downstream).
func (p *Publisher) Publish(ctx context.Context, t tweet.Tweet) (err error) {
	start := time.Now()
	defer func() { m.ObservePublish(start, err) }()

	value, err := t.Marshal()
	if err != nil {
		return fmt.Errorf("kafka: encode tweet %s: %w", t.ID, err)
	}
	// No record key: librdkafka's sticky partitioner then sends every keyless record of a linger
	// window to the same partition, so a produce request carries one batch of several records
	// instead of a one-record batch per partition. Measured at 1000/s in 10 interleaved A/B
	// rounds: Kafka's CPU -30 %, and the gateway's p99 <= 50 ms in 8 of 10 runs instead of 3
	// of 10 (docs/benchmarks.md). Nothing needs per-key order; the id travels in a header.
	msg := &ck.Message{
		TopicPartition: ck.TopicPartition{Topic: &p.topic, Partition: ck.PartitionAny},
		Value:          value,
		Headers: []ck.Header{
			{Key: tweet.BrokerHeaderID, Value: []byte(t.ID)},
			{Key: tweet.BrokerHeaderRecv, Value: []byte(tweet.FormatMs(t.ReceivedAtMs))},
		},
	}
	if t.ReceivedAtMs > 0 {
		msg.Timestamp = time.UnixMilli(t.ReceivedAtMs)
	}
	delivered := make(chan ck.Event, 1) // buffered: the report never blocks librdkafka's poller

	if err := p.produce(ctx, msg, delivered); err != nil {
		return err
	}
	select {
	case ev := <-delivered:
		m, ok := ev.(*ck.Message)
		if !ok {
			return fmt.Errorf("kafka: unexpected delivery event %T: %v", ev, ev)
		}
		if m.TopicPartition.Error != nil {
			return fmt.Errorf("kafka: delivery of %s failed: %w", t.ID, m.TopicPartition.Error)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// produce enqueues msg, waiting while librdkafka's local queue is full.
func (p *Publisher) produce(ctx context.Context, msg *ck.Message, delivered chan ck.Event) error {
	backoff := time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.mu.RLock()
		if p.closed {
			p.mu.RUnlock()
			return ErrClosed
		}
		err := p.p.Produce(msg, delivered)
		p.mu.RUnlock()
		if err == nil {
			return nil
		}
		var kerr ck.Error
		if !errors.As(err, &kerr) || kerr.Code() != ck.ErrQueueFull {
			return fmt.Errorf("kafka: produce: %w", err)
		}
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, 50*time.Millisecond)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Check fetches the cluster metadata (the brokers, not a topic), within ctx.
func (p *Publisher) Check(ctx context.Context) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	return checkMetadata(ctx, p.p)
}

type metadataGetter interface {
	GetMetadata(topic *string, allTopics bool, timeoutMs int) (*ck.Metadata, error)
}

func checkMetadata(ctx context.Context, h metadataGetter) error {
	wait := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if wait <= 0 {
		return context.DeadlineExceeded
	}
	md, err := h.GetMetadata(nil, false, timeoutMs(wait))
	if err != nil {
		return fmt.Errorf("kafka: metadata: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("kafka: metadata lists no broker")
	}
	return nil
}

// Close flushes what is in flight (at most CloseTimeout) and closes the producer.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	var err error
	if left := p.p.Flush(timeoutMs(p.cfg.CloseTimeout)); left > 0 {
		err = fmt.Errorf("kafka: %d records/events not delivered within %s", left, p.cfg.CloseTimeout)
		p.log.Warn("close: flush incomplete", "left", left)
	}
	p.p.Close() // closes Events() and Logs(): the drainers end
	p.wg.Wait()
	return err
}
