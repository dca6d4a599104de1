package rabbitmq

import (
	"tweetsdelclima/internal/broker"
)

var m = broker.MetricsFor(broker.RabbitMQ)
