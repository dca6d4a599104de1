// Package store is the consumers' side of Valkey: one atomic script per batch that counts each
// tweet once, whichever broker delivers it and however often, and keeps every aggregate the
// dashboard reads up to date. The key schema is documented in proyecto3/docs/contracts.md.
package store

import (
	"context"
	_ "embed"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/rueidis"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

//go:embed save.lua
var saveScript string

// Options tune what the script keeps.
type Options struct {
	DedupTTL         time.Duration // how long an id is remembered (default 24h)
	SeriesMaxLen     int           // approximate cap of each municipality's time series (default 10000)
	ThroughputMaxLen int           // approximate cap of the tweets-per-second stream (default 86400)
	Timeout          time.Duration // per call (default 5s)
}

func (o *Options) defaults() {
	if o.DedupTTL <= 0 {
		o.DedupTTL = 24 * time.Hour
	}
	if o.SeriesMaxLen <= 0 {
		o.SeriesMaxLen = 10000
	}
	if o.ThroughputMaxLen <= 0 {
		o.ThroughputMaxLen = 86400
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
}

// Store writes batches of tweets to Valkey.
type Store struct {
	client rueidis.Client
	script *rueidis.Lua
	opts   Options
}

var (
	savedTweets = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_store_deliveries_total",
		Help: "Tweet deliveries stored in Valkey, by broker and whether the tweet was new.",
	}, []string{"broker", "new"})
	saveSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tweets_store_save_seconds",
		Help:    "Time of one Valkey save script call (one batch).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"broker"})
	saveErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "tweets_store_save_errors_total",
		Help: "Failed Valkey save script calls.",
	}, []string{"broker"})
)

// New returns a store on client.
func New(client rueidis.Client, opts Options) *Store {
	opts.defaults()
	return &Store{client: client, script: rueidis.NewLuaScript(saveScript), opts: opts}
}

// Connect opens a Valkey client for addr (host:port) with an optional password.
func Connect(addr, password string) (rueidis.Client, error) {
	return rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{addr},
		Password:          password,
		DisableCache:      true,
		ConnWriteTimeout:  5 * time.Second,
		Dialer:            net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second},
		ForceSingleClient: true,
	})
}

// Save stores a batch delivered by the named broker and returns how many of its tweets were
// new. It is safe to retry: a tweet already stored changes only the per-broker delivery
// counters, never the aggregates.
func (s *Store) Save(ctx context.Context, brokerName string, batch []tweet.Tweet) (int, error) {
	if err := broker.CheckName(brokerName); err != nil {
		return 0, err
	}
	return s.exec(ctx, brokerName, batch)
}

func (s *Store) exec(ctx context.Context, brokerName string, batch []tweet.Tweet) (int, error) {
	args := make([]string, 0, 4+6*len(batch))
	args = append(args, brokerName,
		strconv.FormatInt(int64(s.opts.DedupTTL/time.Second), 10),
		strconv.Itoa(s.opts.SeriesMaxLen),
		strconv.Itoa(s.opts.ThroughputMaxLen))
	for _, t := range batch {
		if err := tweet.ValidateID(t.ID); err != nil {
			return 0, fmt.Errorf("tweet %q: %w", t.ID, err)
		}
		if t.ReceivedAtMs <= 0 {
			return 0, fmt.Errorf("tweet %s: received_at_ms must be positive", t.ID)
		}
		if err := t.Validate(); err != nil {
			return 0, fmt.Errorf("tweet %s: %w", t.ID, err)
		}
		args = append(args, t.ID, tweet.FormatMs(t.ReceivedAtMs), t.Municipality.String(),
			strconv.Itoa(int(t.Temperature)), strconv.Itoa(int(t.Humidity)), t.Weather.String())
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	start := time.Now()
	n, err := s.script.Exec(ctx, s.client, nil, args).AsInt64()
	if err != nil {
		saveErrors.WithLabelValues(brokerName).Inc()
		return 0, fmt.Errorf("valkey save: %w", err)
	}
	saveSeconds.WithLabelValues(brokerName).Observe(time.Since(start).Seconds())
	if len(batch) > 0 {
		savedTweets.WithLabelValues(brokerName, "true").Add(float64(n))
		savedTweets.WithLabelValues(brokerName, "false").Add(float64(int64(len(batch)) - n))
	}
	return int(n), nil
}

// Tick closes the tweets-per-second bucket when its second has passed, so the last second of
// a load shows up without waiting for the next tweet. Consumers call it every second.
func (s *Store) Tick(ctx context.Context) error {
	_, err := s.exec(ctx, "tick", nil)
	return err
}

// Check pings Valkey (readiness).
func (s *Store) Check(ctx context.Context) error {
	return s.client.Do(ctx, s.client.B().Ping().Build()).Error()
}

// Reset empties the current database so every dashboard panel shows "No data".
func Reset(ctx context.Context, client rueidis.Client) error {
	return client.Do(ctx, client.B().Flushdb().Build()).Error()
}
