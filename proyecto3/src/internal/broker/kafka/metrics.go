package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"tweetsdelclima/internal/broker"
)

// The broker metrics share their names with the other broker package: the same families,
// told apart by the constant label broker="kafka"|"rabbitmq". Name, help, buckets and label
// names must stay identical in internal/broker/kafka and internal/broker/rabbitmq, or a binary
// importing both panics at start-up (checked by internal/broker/brokertest).
var (
	constLabels = prometheus.Labels{"broker": broker.Kafka}

	publishedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name:        "tweets_broker_published_total",
		Help:        "Tweets published to the broker, by result (ok, error, timeout).",
		ConstLabels: constLabels,
	}, []string{"result"})
	publishSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:        "tweets_broker_publish_seconds",
		Help:        "Time from Publish until the broker confirmed the tweet (or the call failed).",
		ConstLabels: constLabels,
		Buckets:     []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	})
	consumedTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name:        "tweets_broker_consumed_total",
		Help:        "Tweets handed to the handler and acknowledged (offsets committed / acked) after it succeeded.",
		ConstLabels: constLabels,
	})
	batchSize = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:        "tweets_broker_batch_size",
		Help:        "Number of messages in each batch the source read.",
		ConstLabels: constLabels,
		Buckets:     []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
	})
	decodeErrorsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name:        "tweets_broker_decode_errors_total",
		Help:        "Messages that could not be decoded into a tweet (logged, acknowledged, skipped).",
		ConstLabels: constLabels,
	})
	handlerErrorsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name:        "tweets_broker_handler_errors_total",
		Help:        "Handler failures; each one makes the source retry the same batch after a backoff.",
		ConstLabels: constLabels,
	})
	ackErrorsTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name:        "tweets_broker_ack_errors_total",
		Help:        "Handled batches whose acknowledgement (offset commit / ack) failed; they will be redelivered.",
		ConstLabels: constLabels,
	})
	reconnectsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name:        "tweets_broker_reconnects_total",
		Help:        "Connection losses after which the client reconnected, by role (publisher, source).",
		ConstLabels: constLabels,
	}, []string{"role"})
)

var rebalancesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "tweets_kafka_rebalances_total",
	Help: "Consumer-group rebalance events seen by the Kafka source, by kind (assign, revoke, lost).",
}, []string{"kind"})
