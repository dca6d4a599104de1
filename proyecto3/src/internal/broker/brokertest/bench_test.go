package brokertest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/broker/brokertest"
	"tweetsdelclima/internal/broker/kafka"
	"tweetsdelclima/internal/broker/rabbitmq"
	"tweetsdelclima/internal/tweet"
)

// Raw publish rate of each broker (real brokers from the integration environment):
//
//	. /tmp/tweets-local/env
//	go test ./internal/broker/brokertest -run '^$' -bench Publish -benchtime 10s [-v]
//
// BENCH_KAFKA_LINGERS (10ms, the writers' default) is a comma-separated list of producer
// lingers to compare ("none": linger.ms=0, every record sent as soon as possible).
// BENCH_RABBITMQ_CHANNELS (2, the writers' default) is a comma-separated list of publisher
// channel counts to compare, BENCH_RABBITMQ_LINGERS (10ms, the writers' default) one of publisher
// lingers ("none": every message written at once, as before the linger existed).
// BENCH_CONCURRENCY (64) concurrent publishers call Publish in a closed loop; each
// sub-benchmark reports msgs/s and the p50/p99/max Publish latency (until the broker's
// acknowledgement). A fresh topic/queue is used and deleted afterwards.
func BenchmarkPublish(b *testing.B) {
	env := brokertest.Integration(b)
	conc := 64
	if v := os.Getenv("BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_CONCURRENCY=%q", v)
		}
		conc = n
	}
	lingers := []time.Duration{kafka.DefaultLinger}
	if v := os.Getenv("BENCH_KAFKA_LINGERS"); v != "" {
		lingers = nil
		for _, f := range strings.Split(v, ",") {
			d, err := parseLinger(f)
			if err != nil {
				b.Fatalf("BENCH_KAFKA_LINGERS: %v", err)
			}
			lingers = append(lingers, d)
		}
	}
	channelCounts := []int{2}
	if v := os.Getenv("BENCH_RABBITMQ_CHANNELS"); v != "" {
		channelCounts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				b.Fatalf("BENCH_RABBITMQ_CHANNELS: %q", f)
			}
			channelCounts = append(channelCounts, n)
		}
	}
	rabbitLingers := []time.Duration{rabbitmq.DefaultLinger}
	if v := os.Getenv("BENCH_RABBITMQ_LINGERS"); v != "" {
		rabbitLingers = nil
		for _, f := range strings.Split(v, ",") {
			d, err := parseLinger(f)
			if err != nil {
				b.Fatalf("BENCH_RABBITMQ_LINGERS: %v", err)
			}
			rabbitLingers = append(rabbitLingers, d)
		}
	}
	type kafkaCase struct {
		comp   string
		linger time.Duration
	}
	var kcases []kafkaCase
	for _, l := range lingers {
		for _, comp := range []string{"none", "lz4"} {
			kcases = append(kcases, kafkaCase{comp, l})
		}
	}
	for _, kc := range kcases {
		comp := kc.comp
		b.Run(fmt.Sprintf("kafka/compression=%s/linger=%s/c=%d", comp, lingerName(kc.linger), conc), func(b *testing.B) {
			sfx := brokertest.Suffix()
			cfg := kafka.Config{Brokers: env.KafkaBrokers, Topic: "tweets-bench-" + sfx, Compression: comp, Linger: kc.linger}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := kafka.EnsureTopic(ctx, cfg.Brokers, kafka.TopicSpec{Name: cfg.Topic, Partitions: 6}); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = kafka.DeleteTopic(context.Background(), cfg.Brokers, cfg.Topic) }()
			p, err := kafka.NewPublisher(cfg, quiet())
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			benchPublish(b, p, conc)
		})
	}
	for _, channels := range channelCounts {
		for _, linger := range rabbitLingers {
			cfg := rabbitmq.Config{
				URL: env.RabbitURL, Username: env.RabbitUser, Password: env.RabbitPassword,
				Queue: "tweets-bench-" + brokertest.Suffix(), Channels: channels, Linger: linger,
			}
			b.Run(fmt.Sprintf("rabbitmq/channels=%d/linger=%s/c=%d", channels, lingerName(linger), conc), func(b *testing.B) {
				p, err := rabbitmq.NewPublisher(cfg, quiet())
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				defer deleteQueue(b, cfg)
				benchPublish(b, p, conc)
			})
		}
	}
}

// parseLinger reads one entry of BENCH_*_LINGERS: a positive duration, or "none" (-1, which
// both publishers' Configs read as no linger).
func parseLinger(f string) (time.Duration, error) {
	if f == "none" {
		return -1, nil
	}
	d, err := time.ParseDuration(f)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q (a positive duration or none)", f)
	}
	return d, nil
}

func lingerName(d time.Duration) string {
	if d < 0 {
		return "none"
	}
	return d.String()
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// benchPublish runs b.N publishes from conc goroutines and reports rate and latencies.
func benchPublish(b *testing.B, p broker.Publisher, conc int) {
	warm, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for warm.Err() == nil && p.Check(warm) != nil {
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Publish(warm, brokertest.Tweet(0)); err != nil {
		b.Fatalf("warm-up publish: %v", err)
	}
	tweets := make([]tweet.Tweet, 4096)
	for i := range tweets {
		tweets[i] = brokertest.Tweet(i)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	var failed atomic.Int64
	var firstErr atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, b.N/conc+1)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					break
				}
				t := tweets[i%int64(len(tweets))]
				t.ID = tweet.NewID()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				s := time.Now()
				err := p.Publish(ctx, t)
				mine = append(mine, time.Since(s))
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
			lat[g] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d publishes failed; first: %v", n, b.N, firstErr.Load())
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(f float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(f*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("N=%d conc=%d GOMAXPROCS=%d elapsed=%s rate=%.0f/s p50=%.2fms p99=%.2fms", b.N, conc,
		runtime.GOMAXPROCS(0), elapsed.Round(time.Millisecond), float64(b.N)/elapsed.Seconds(), q(.5), q(.99))
}

func deleteQueue(b *testing.B, cfg rabbitmq.Config) {
	if err := rabbitmq.DeleteQueue(cfg); err != nil {
		b.Logf("cleanup: %v", err)
	}
}

// TestMetricsOfBothBrokersCoexist: both packages register the same metric families with a
// constant broker label; importing both (as a binary may) must not conflict.
func TestMetricsOfBothBrokersCoexist(t *testing.T) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	found := map[string]map[string]bool{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "tweets_broker_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "broker" {
					if found[mf.GetName()] == nil {
						found[mf.GetName()] = map[string]bool{}
					}
					found[mf.GetName()][l.GetValue()] = true
				}
			}
		}
	}
	for _, name := range []string{"tweets_broker_publish_seconds", "tweets_broker_consumed_total", "tweets_broker_batch_size", "tweets_broker_decode_errors_total"} {
		if !found[name][broker.Kafka] || !found[name][broker.RabbitMQ] {
			t.Errorf("%s: broker labels %v, want kafka and rabbitmq", name, found[name])
		}
	}
}
