// Package rabbitmq implements broker.Publisher and broker.Source on RabbitMQ with amqp091-go.
//
// Wire format (docs/contracts.md, "Tweet identity on the wire"): default exchange, routing
// key = queue name; message-id = tweet id, timestamp = received-at (seconds), header
// received-at-ms (int64), body = protobuf WeatherTweetRequest, content-type
// application/x-protobuf, delivery mode persistent.
//
// The queue is durable and of type quorum; when the server refuses a quorum queue (an old
// server, or a classic queue of that name already exists) the clients log it and use a
// classic durable queue instead.
//
// Publisher: one connection, a pool of channels in confirm mode used round-robin by
// concurrent callers; Publish returns after the broker's confirm of its own message.
// Source: one connection and channel with QoS prefetch and manual acks; a batch is acked
// (multiple=true) only after the handler stored it. Both reconnect with backoff when the
// connection is lost.
package rabbitmq

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"tweetsdelclima/internal/broker"
)

// Config configures the Publisher and the Source. Zero values take the defaults below.
type Config struct {
	// URL is the AMQP URI, e.g. amqp://host:5672/ (the vhost is its path).
	URL string
	// Username and Password, when set, replace the URL's userinfo (the caller reads them
	// from RABBITMQ_USERNAME / RABBITMQ_PASSWORD).
	Username string
	Password string
	// Queue is the durable queue published to (default exchange) and consumed from.
	Queue string
	// ConnectionName is shown in the management UI (default "tweetsdelclima").
	ConnectionName string

	// Channels is the publisher's pool of confirm-mode channels (default 2). Fewer channels
	// let the broker confirm several messages with one frame (multiple=true): at 1000/s,
	// RabbitMQ's CPU fell 7 % from 8 channels to 2, and the raw publish rate with 64
	// concurrent publishers was the same with 1, 2 or 8 channels (15-20k msgs/s, within the
	// noise; docs/benchmarks.md).
	Channels int
	// Linger is how long the publisher holds what it writes so that the messages of that
	// time reach the broker in one TCP write (default 10ms, as the Kafka producer's linger:
	// the gateway waits for both brokers; negative: every message is written at once).
	// At 1000 tweets/s it halves RabbitMQ's CPU (docs/benchmarks.md).
	Linger time.Duration
	// CloseTimeout bounds how long Publisher.Close waits for publishes in flight (default 5s).
	CloseTimeout time.Duration

	// Prefetch is the source's QoS prefetch count (default 500).
	Prefetch int
	// BatchSize is the most messages the source hands to the handler at once (default 200).
	BatchSize int
	// BatchWait is how long the source waits to fill a batch after its first message (default 5ms).
	BatchWait time.Duration
	// RetryBackoff is the first wait before the source retries a failed batch (default 100ms);
	// it doubles up to MaxRetryBackoff (default 5s).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// DrainTimeout is how long a handler call in progress may go on after Run's ctx is
	// cancelled, so that the batch is stored and acknowledged rather than redelivered (default 5s).
	DrainTimeout time.Duration

	// ReconnectBackoff is the first wait before redialling a lost connection (default 100ms);
	// it doubles up to MaxReconnectBackoff (default 5s).
	ReconnectBackoff    time.Duration
	MaxReconnectBackoff time.Duration
	// DialTimeout bounds the TCP connect and the AMQP handshake (default 5s).
	DialTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval that detects a dead peer (default 10s).
	Heartbeat time.Duration
}

// DefaultLinger is the publisher's Linger when none is set.
const DefaultLinger = 10 * time.Millisecond

func (c Config) withDefaults() Config {
	if c.ConnectionName == "" {
		c.ConnectionName = "tweetsdelclima"
	}
	if c.Channels <= 0 {
		c.Channels = 2
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 500
	}
	broker.SourceDefaults(&c.BatchSize, &c.BatchWait, &c.DrainTimeout, &c.RetryBackoff, &c.MaxRetryBackoff)
	if c.ReconnectBackoff <= 0 {
		c.ReconnectBackoff = 100 * time.Millisecond
	}
	if c.MaxReconnectBackoff < c.ReconnectBackoff {
		c.MaxReconnectBackoff = max(5*time.Second, c.ReconnectBackoff)
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 10 * time.Second
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("rabbitmq: URL is required"))
	} else if _, err := amqp.ParseURI(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("rabbitmq: URL: %w", err))
	}
	if c.Queue == "" {
		errs = append(errs, errors.New("rabbitmq: Queue is required"))
	}
	return errors.Join(errs...)
}

// redactedURL is the URL without its password, for logs.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// dialed is one AMQP connection and the TCP connection under it (tests cut the latter to
// simulate a network failure or a broker crash).
type dialed struct {
	conn *amqp.Connection
	tcp  net.Conn
}

// dial opens a connection; Username/Password override the URL's userinfo.
func dial(cfg Config, role string) (*dialed, error) {
	cfg = cfg.withDefaults()
	d := &dialed{}
	base := amqp.DefaultDial(cfg.DialTimeout)
	ac := amqp.Config{
		Heartbeat:  cfg.Heartbeat,
		Locale:     "en_US",
		Properties: amqp.Table{"connection_name": cfg.ConnectionName + "-" + role, "product": "tweetsdelclima"},
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := base(network, addr)
			d.tcp = c
			if err == nil && role == "publisher" && cfg.Linger > 0 {
				return newLingerConn(c, cfg.Linger), nil
			}
			return c, err
		},
	}
	if cfg.Username != "" || cfg.Password != "" {
		uri, err := amqp.ParseURI(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("rabbitmq: URL: %w", err)
		}
		user, pass := uri.Username, uri.Password
		if cfg.Username != "" {
			user = cfg.Username
		}
		if cfg.Password != "" {
			pass = cfg.Password
		}
		ac.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: user, Password: pass}}
	}
	conn, err := amqp.DialConfig(cfg.URL, ac)
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: dial %s: %w", redactedURL(cfg.URL), err)
	}
	d.conn = conn
	return d, nil
}

// declareQueue declares the durable queue: quorum, or classic when the server refuses quorum.
// It returns the type in use.
func declareQueue(conn *amqp.Connection, queue string, log interface{ Warn(string, ...any) }) (string, error) {
	try := func(args amqp.Table, passive bool) error {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		if passive {
			_, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		} else {
			_, err = ch.QueueDeclare(queue, true, false, false, false, args)
		}
		if err == nil {
			_ = ch.Close()
		}
		return err
	}
	errQuorum := try(amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}, false)
	if errQuorum == nil {
		return amqp.QueueTypeQuorum, nil
	}
	var aerr *amqp.Error
	if !errors.As(errQuorum, &aerr) || conn.IsClosed() {
		return "", fmt.Errorf("rabbitmq: declare queue %s: %w", queue, errQuorum)
	}
	errClassic := try(nil, false)
	if errClassic == nil {
		log.Warn("the server refused a quorum queue; using a classic durable queue", "queue", queue, "err", errQuorum)
		return amqp.QueueTypeClassic, nil
	}
	// No permission to declare, maybe: an existing queue (made by an operator) will do.
	if errPassive := try(nil, true); errPassive == nil {
		log.Warn("could not declare the queue; using the existing one", "queue", queue, "err", errQuorum)
		return "existing", nil
	}
	return "", fmt.Errorf("rabbitmq: declare queue %s: quorum: %w; classic: %w", queue, errQuorum, errClassic)
}

func backoffWait(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// DeleteQueue deletes cfg.Queue (tests and benchmarks clean up with it). A missing queue is
// not an error.
func DeleteQueue(cfg Config) error {
	d, err := dial(cfg, "admin")
	if err != nil {
		return err
	}
	defer d.conn.Close()
	ch, err := d.conn.Channel()
	if err != nil {
		return fmt.Errorf("rabbitmq: open channel: %w", err)
	}
	if _, err := ch.QueueDelete(cfg.Queue, false, false, false); err != nil {
		return fmt.Errorf("rabbitmq: delete queue %s: %w", cfg.Queue, err)
	}
	return nil
}
