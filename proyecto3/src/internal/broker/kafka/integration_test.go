package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"tweetsdelclima/internal/broker/brokertest"
	"tweetsdelclima/internal/tweet"
)

// Integration tests: a real Kafka at KAFKA_BROKERS (see brokertest.Integration).

// realTopic creates a fresh topic and group for the test and deletes both at the end.
func realTopic(t *testing.T, partitions int) Config {
	t.Helper()
	env := brokertest.Integration(t)
	sfx := brokertest.Suffix()
	cfg := Config{
		Brokers: env.KafkaBrokers, Topic: "tweets-test-" + sfx, Group: "tweets-test-" + sfx,
		BatchSize: 200, RetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond,
		ConsumerExtra: map[string]string{"session.timeout.ms": "6000", "heartbeat.interval.ms": "500"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopic(ctx, cfg.Brokers, TopicSpec{Name: cfg.Topic, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DeleteGroup(ctx, cfg.Brokers, cfg.Group); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if err := DeleteTopic(ctx, cfg.Brokers, cfg.Topic); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return cfg
}

func TestIntegrationPublishConsume1000(t *testing.T) {
	cfg := realTopic(t, 3)
	p := newPublisher(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := brokertest.Tweets(1000)
	publishAll(t, p, want)

	rec := brokertest.NewRecorder()
	stop := runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 60*time.Second, want)
	stop()
	brokertest.CheckSame(t, want, rec.Seen())
	if d := rec.Delivered(); d != len(want) {
		t.Errorf("delivered %d, want exactly %d (nothing failed, so no redelivery expected)", d, len(want))
	}
	if got := sum(committed(t, cfg.Brokers, cfg.Group, cfg.Topic, 3)); got != int64(len(want)) {
		t.Errorf("committed offsets add up to %d, want %d", got, len(want))
	}
}

func TestIntegrationFailedConsumerLosesNothing(t *testing.T) {
	cfg := realTopic(t, 3)
	want := brokertest.Tweets(300)
	publishAll(t, newPublisher(t, cfg), want)

	broken := brokertest.NewRecorder()
	broken.Fail = func(int, []tweet.Tweet) error { return errors.New("valkey down") }
	stop := runSource(t, cfg, broken.Handle)
	broken.WaitFor(t, 30*time.Second, "failed calls", func(_ map[string]tweet.Tweet, calls [][]tweet.Tweet) bool {
		return len(calls) >= 3
	})
	stop()
	if c := committed(t, cfg.Brokers, cfg.Group, cfg.Topic, 3); len(c) != 0 {
		t.Fatalf("offsets committed by a consumer whose handler never succeeded: %v", c)
	}
	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 60*time.Second, want)
	brokertest.CheckSame(t, want, rec.Seen())
}
