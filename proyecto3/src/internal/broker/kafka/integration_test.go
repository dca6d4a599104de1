package kafka

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
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

// TestIntegrationKilledMemberReleasesItsPartitionsQuickly: a consumer process that dies
// without leaving the group (SIGKILL, OOM, a node lost) holds its partitions until the
// coordinator gives up on it. With librdkafka's defaults that is a 45 s session timeout (and,
// when the broker restarted meanwhile, up to the dead member's 5 min rebalance timeout), so a
// restarted consumer stored nothing for that long. The Source's defaults bound it at 10 s
// (30 s after a broker restart): a new member must be consuming well within 30 s.
func TestIntegrationKilledMemberReleasesItsPartitionsQuickly(t *testing.T) {
	cfg := realTopic(t, 3)
	cfg.ConsumerExtra = nil // the Source's own defaults are what is under test

	child := exec.Command(os.Args[0], "-test.run=^TestHelperGroupMember$", "-test.v")
	child.Env = append(os.Environ(), "TWEETS_HELPER_GROUP_MEMBER="+cfg.Brokers+","+cfg.Topic+","+cfg.Group)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = child.Stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	assigned := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "partitions assigned") {
				once.Do(func() { close(assigned) })
			}
		}
	}()
	select {
	case <-assigned:
	case <-time.After(60 * time.Second):
		t.Fatal("the helper member got no partitions within 60s")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed := time.Now()

	want := brokertest.Tweets(50)
	publishAll(t, newPublisher(t, cfg), want)
	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 30*time.Second, want)
	t.Logf("a new member stored every tweet %.1fs after the old one was killed", time.Since(killed).Seconds())
}

// TestHelperGroupMember is the member that the test above kills: it runs only as that test's
// child process (TWEETS_HELPER_GROUP_MEMBER=brokers,topic,group) and consumes until killed.
func TestHelperGroupMember(t *testing.T) {
	spec := strings.Split(os.Getenv("TWEETS_HELPER_GROUP_MEMBER"), ",")
	if len(spec) != 3 {
		t.Skip("runs only as the child process of TestIntegrationKilledMemberReleasesItsPartitionsQuickly")
	}
	s, err := NewSource(Config{Brokers: spec[0], Topic: spec[1], Group: spec[2]},
		slog.New(slog.NewTextHandler(os.Stdout, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Run(context.Background(), func(context.Context, []tweet.Tweet) error { return nil })
}
