package broker

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The broker metrics: one set of families for every broker, told apart by the label
// broker="kafka"|"rabbitmq", so a dashboard compares them with one query.
var (
	publishedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_broker_published_total",
		Help: "Tweets published to the broker, by result (ok, error, timeout).",
	}, []string{"broker", "result"})
	publishSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tweets_broker_publish_seconds",
		Help:    "Time from Publish until the broker confirmed the tweet (or the call failed).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	}, []string{"broker"})
	consumedTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_broker_consumed_total",
		Help: "Tweets handed to the handler and acknowledged (offsets committed / acked) after it succeeded.",
	}, []string{"broker"})
	batchSize = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tweets_broker_batch_size",
		Help:    "Number of messages in each batch the source read.",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
	}, []string{"broker"})
	decodeErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_broker_decode_errors_total",
		Help: "Messages that could not be decoded into a tweet (logged, acknowledged, skipped).",
	}, []string{"broker"})
	handlerErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_broker_handler_errors_total",
		Help: "Handler failures; each one makes the source retry the same batch after a backoff.",
	}, []string{"broker"})
	ackErrorsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_broker_ack_errors_total",
		Help: "Handled batches whose acknowledgement (offset commit / ack) failed; they will be redelivered.",
	}, []string{"broker"})
	reconnectsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_broker_reconnects_total",
		Help: "Connection losses after which the client reconnected, by role (publisher, source).",
	}, []string{"broker", "role"})
)

// Metrics are the broker metrics of one broker.
type Metrics struct {
	Published      *prometheus.CounterVec // by result
	PublishSeconds prometheus.Observer
	Consumed       prometheus.Counter
	BatchSize      prometheus.Observer
	DecodeErrors   prometheus.Counter
	HandlerErrors  prometheus.Counter
	AckErrors      prometheus.Counter
	Reconnects     *prometheus.CounterVec // by role
}

// MetricsFor returns the metrics labelled with the named broker.
func MetricsFor(name string) *Metrics {
	l := prometheus.Labels{"broker": name}
	return &Metrics{
		Published:      publishedTotal.MustCurryWith(l),
		PublishSeconds: publishSeconds.WithLabelValues(name),
		Consumed:       consumedTotal.WithLabelValues(name),
		BatchSize:      batchSize.WithLabelValues(name),
		DecodeErrors:   decodeErrorsTotal.WithLabelValues(name),
		HandlerErrors:  handlerErrorsTotal.WithLabelValues(name),
		AckErrors:      ackErrorsTotal.WithLabelValues(name),
		Reconnects:     reconnectsTotal.MustCurryWith(l),
	}
}

// ObservePublish records one Publish: its duration and result (ok, timeout, error).
func (m *Metrics) ObservePublish(start time.Time, err error) {
	m.PublishSeconds.Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		m.Published.WithLabelValues("ok").Inc()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		m.Published.WithLabelValues("timeout").Inc()
	default:
		m.Published.WithLabelValues("error").Inc()
	}
}
