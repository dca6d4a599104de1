// Package broker defines how the writers publish to and the consumers read from a message
// broker, independently of which broker it is. Implementations live in broker/kafka and
// broker/rabbitmq; the writer and consumer binaries pick one with --broker.
package broker

import (
	"context"
	"fmt"

	"tweetsdelclima/internal/tweet"
)

// Names of the supported brokers, as given to --broker and stored in Valkey.
const (
	Kafka    = "kafka"
	RabbitMQ = "rabbitmq"
)

// CheckName validates a --broker value.
func CheckName(name string) error {
	if name != Kafka && name != RabbitMQ {
		return fmt.Errorf("--broker must be %q or %q, got %q", Kafka, RabbitMQ, name)
	}
	return nil
}

// Publisher puts tweets on a broker.
type Publisher interface {
	// Publish returns nil only once the broker holds the tweet durably (Kafka: delivery report
	// with acks=all; RabbitMQ: publisher confirm of a persistent message on a durable queue).
	// It is safe for concurrent use and honours ctx's deadline.
	Publish(ctx context.Context, t tweet.Tweet) error
	// Check reports whether the broker is reachable (readiness).
	Check(ctx context.Context) error
	// Close flushes what is in flight and releases the connection.
	Close() error
}

// Handler stores a batch of tweets. It returns nil only once the batch is durably stored;
// the source acknowledges the batch's messages only after that.
type Handler func(ctx context.Context, batch []tweet.Tweet) error

// Source reads tweets from a broker.
type Source interface {
	// Run hands batches to h until ctx is done, and acknowledges (Kafka: commits offsets;
	// RabbitMQ: acks) a batch only after h returned nil for it. When h fails, the batch is
	// retried (with backoff) and never acknowledged before it succeeds. Undecodable messages
	// are logged, counted and acknowledged (they can never succeed). Run returns when ctx is
	// done, after the batch in progress has finished or been abandoned unacknowledged.
	Run(ctx context.Context, h Handler) error
	// Check reports whether the broker is reachable (readiness).
	Check(ctx context.Context) error
	Close() error
}
