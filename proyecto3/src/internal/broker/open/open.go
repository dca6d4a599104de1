// Package open turns the shared broker flags of the writer and the consumer into a
// broker.Publisher or broker.Source: one binary per role, the broker chosen by --broker.
package open

import (
	"flag"
	"log/slog"
	"time"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/broker/kafka"
	"tweetsdelclima/internal/broker/rabbitmq"
	"tweetsdelclima/internal/config"
)

// Flags are the broker settings (docs/contracts.md, "Configuration").
type Flags struct {
	Broker       string
	KafkaBrokers string
	KafkaTopic   string
	KafkaGroup   string
	KafkaLinger  time.Duration
	RabbitURL    string
	RabbitQueue  string
	Channels     int
	RabbitLinger time.Duration
	Prefetch     int
	BatchSize    int
	BatchWait    time.Duration
	KafkaCommit  time.Duration
}

// Register adds the flags; consumer adds the ones only a consumer uses.
func (f *Flags) Register(fs *flag.FlagSet, consumer bool) {
	fs.StringVar(&f.Broker, "broker", "", `which broker: "kafka" or "rabbitmq" (required)`)
	fs.StringVar(&f.KafkaBrokers, "kafka-brokers", "tweets-kafka-kafka-bootstrap:9092", "Kafka bootstrap servers")
	fs.StringVar(&f.KafkaTopic, "kafka-topic", "weather-tweets", "Kafka topic")
	fs.StringVar(&f.RabbitURL, "rabbitmq-url", "amqp://tweets-rabbitmq:5672/", "AMQP URL (credentials: env RABBITMQ_USERNAME, RABBITMQ_PASSWORD)")
	fs.StringVar(&f.RabbitQueue, "rabbitmq-queue", "weather-tweets", "RabbitMQ queue (durable, quorum)")
	if consumer {
		fs.StringVar(&f.KafkaGroup, "kafka-group", "consumer-kafka", "Kafka consumer group")
		fs.IntVar(&f.Prefetch, "prefetch", 500, "RabbitMQ prefetch (unacknowledged deliveries in flight)")
		fs.IntVar(&f.BatchSize, "batch-size", 200, "most tweets stored in one Valkey call")
		fs.DurationVar(&f.BatchWait, "batch-wait", 5*time.Millisecond, "how long to wait to fill a batch")
		fs.DurationVar(&f.KafkaCommit, "kafka-commit-interval", 100*time.Millisecond, "how often the offsets of the stored batches are committed to Kafka")
	} else {
		fs.DurationVar(&f.KafkaLinger, "kafka-linger", kafka.DefaultLinger, "Kafka producer linger (batching delay; negative: none)")
		fs.IntVar(&f.Channels, "rabbitmq-channels", 2, "RabbitMQ publisher channels (confirm mode)")
		fs.DurationVar(&f.RabbitLinger, "rabbitmq-linger", rabbitmq.DefaultLinger, "RabbitMQ publisher linger: how long messages wait to share one TCP write (negative: none)")
	}
}

func (f *Flags) kafka() kafka.Config {
	return kafka.Config{Brokers: f.KafkaBrokers, Topic: f.KafkaTopic, Group: f.KafkaGroup, Linger: f.KafkaLinger,
		BatchSize: f.BatchSize, BatchWait: f.BatchWait, CommitInterval: f.KafkaCommit}
}

func (f *Flags) rabbit() rabbitmq.Config {
	return rabbitmq.Config{URL: f.RabbitURL, Username: config.Secret("RABBITMQ_USERNAME"), Password: config.Secret("RABBITMQ_PASSWORD"),
		Queue: f.RabbitQueue, Channels: f.Channels, Linger: f.RabbitLinger, Prefetch: f.Prefetch, BatchSize: f.BatchSize, BatchWait: f.BatchWait}
}

// Publisher connects a publisher to the chosen broker.
func (f *Flags) Publisher(log *slog.Logger) (broker.Publisher, error) {
	if err := broker.CheckName(f.Broker); err != nil {
		return nil, err
	}
	if f.Broker == broker.Kafka {
		return kafka.NewPublisher(f.kafka(), log)
	}
	return rabbitmq.NewPublisher(f.rabbit(), log)
}

// Source connects a source to the chosen broker.
func (f *Flags) Source(log *slog.Logger) (broker.Source, error) {
	if err := broker.CheckName(f.Broker); err != nil {
		return nil, err
	}
	if f.Broker == broker.Kafka {
		return kafka.NewSource(f.kafka(), log)
	}
	return rabbitmq.NewSource(f.rabbit(), log)
}
