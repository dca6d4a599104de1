package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"tweetsdelclima/internal/broker"
)

var m = broker.MetricsFor(broker.Kafka)

var rebalancesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "tweets_kafka_rebalances_total",
	Help: "Consumer-group rebalance events seen by the Kafka source, by kind (assign, revoke, lost).",
}, []string{"kind"})
