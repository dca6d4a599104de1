// Package kafka implements broker.Publisher and broker.Source on Apache Kafka with
// confluent-kafka-go (librdkafka).
//
// Wire format (docs/contracts.md, "Tweet identity on the wire"): no record key (sticky
// partitioning), headers tweet-id and received-at-ms, value = protobuf WeatherTweetRequest,
// record timestamp = received-at. A record with a key and no tweet-id header (another
// producer) still decodes: the key is the id's fallback.
//
// Publisher: one idempotent producer (enable.idempotence, acks=all) shared by every caller;
// librdkafka batches records for linger.ms; Publish waits for the delivery report of its own
// record (a per-record delivery channel), never flushes.
//
// Source: a consumer group with auto-commit off. Run polls a batch, hands it to the handler,
// and only after the handler returned nil stages the batch's next offsets, which it commits
// synchronously every CommitInterval, before giving up a partition and when Run stops;
// a failing handler gets the same batch again after a backoff. Rebalances: see Source.
package kafka

import (
	"errors"
	"fmt"
	"strings"
	"time"

	ck "github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"tweetsdelclima/internal/broker"
)

// DefaultLinger is the producer's Linger when none is set: 10 ms, as the RabbitMQ writer's
// (rabbitmq.DefaultLinger). With both at 10 ms instead of 5, the whole machine spent 11-12 %
// less CPU per tweet at 1000 and 3000 tweets/s (docs/benchmarks.md).
const DefaultLinger = 10 * time.Millisecond

// Config configures both the Publisher and the Source. Zero values take the defaults below.
type Config struct {
	// Brokers is the bootstrap list, comma-separated host:port (librdkafka's bootstrap.servers).
	Brokers string
	// Topic to publish to / consume from.
	Topic string
	// Group is the consumer group of the Source (required by NewSource).
	Group string
	// ClientID identifies this client in broker logs (default "tweetsdelclima").
	ClientID string

	// Linger is the producer's batching delay, linger.ms (default DefaultLinger; negative:
	// none, every record sent as soon as the producer's thread gets to it).
	Linger time.Duration
	// Compression is the producer's compression.type: "none" (default, see the benchmark
	// in the package tests: records of ~20 bytes gain nothing), "lz4", "zstd", "snappy", "gzip".
	Compression string
	// MessageTimeout bounds how long librdkafka keeps retrying a record (message.timeout.ms,
	// default 30s). Publish itself returns at its ctx's deadline.
	MessageTimeout time.Duration
	// CloseTimeout bounds the flush done by Publisher.Close and the consumer close done by
	// Source.Close (default 10s).
	CloseTimeout time.Duration

	// BatchSize is the most messages the Source hands to the handler at once (default 200).
	BatchSize int
	// BatchWait is how long the Source waits to fill a batch after its first message (default 5ms).
	BatchWait time.Duration
	// RetryBackoff is the first wait before the Source retries a failed batch (default 100ms);
	// it doubles up to MaxRetryBackoff (default 5s).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// DrainTimeout is how long a handler call in progress may go on after Run's ctx is
	// cancelled, so that the batch is stored and acknowledged rather than redelivered (default 5s).
	DrainTimeout time.Duration
	// CommitInterval is how often the Source commits the offsets of the batches stored since
	// its last commit (default 100ms). Committing after every batch (a batch closes 5 ms after
	// its first message) was ~27 % of Kafka's CPU at 1000 tweets/s (docs/benchmarks.md).
	CommitInterval time.Duration

	// Extra librdkafka properties for both clients, applied last (tuning, security).
	Extra map[string]string
	// ConsumerExtra are librdkafka properties for the Source only (e.g. session.timeout.ms).
	ConsumerExtra map[string]string
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = "tweetsdelclima"
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.MessageTimeout <= 0 {
		c.MessageTimeout = 30 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 10 * time.Second
	}
	broker.SourceDefaults(&c.BatchSize, &c.BatchWait, &c.DrainTimeout, &c.RetryBackoff, &c.MaxRetryBackoff)
	if c.CommitInterval == 0 {
		c.CommitInterval = 100 * time.Millisecond
	}
	return c
}

func (c Config) validate(needGroup bool) error {
	var errs []error
	if strings.TrimSpace(c.Brokers) == "" {
		errs = append(errs, errors.New("kafka: Brokers is required"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("kafka: Topic is required"))
	}
	if needGroup && c.Group == "" {
		errs = append(errs, errors.New("kafka: Group is required"))
	}
	if c.CommitInterval < 0 {
		errs = append(errs, fmt.Errorf("kafka: CommitInterval (--kafka-commit-interval) must not be negative, got %s", c.CommitInterval))
	}
	return errors.Join(errs...)
}

func (c Config) common() ck.ConfigMap {
	return ck.ConfigMap{
		"bootstrap.servers":      c.Brokers,
		"client.id":              c.ClientID,
		"go.logs.channel.enable": true,
		// Small produce and fetch requests must not wait for Nagle's algorithm (and the peer's
		// delayed ACK): that alone adds tens of ms to every round trip on a quiet connection.
		"socket.nagle.disable": true,
		// A broker that is down is reported as an error event, and librdkafka keeps retrying.
		"reconnect.backoff.ms":     100,
		"reconnect.backoff.max.ms": 5000,
	}
}

func applyExtra(m ck.ConfigMap, extra map[string]string) error {
	for k, v := range extra {
		if err := m.SetKey(k, v); err != nil {
			return fmt.Errorf("kafka: property %s: %w", k, err)
		}
	}
	return nil
}

// timeoutMs converts what is left of a deadline into librdkafka's milliseconds (at least 1).
func timeoutMs(d time.Duration) int {
	return int(max(d.Milliseconds(), 1))
}
