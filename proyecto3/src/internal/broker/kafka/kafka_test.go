package kafka

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	ck "github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"tweetsdelclima/internal/broker/brokertest"
	"tweetsdelclima/internal/tweet"
)

// fakeCluster starts an in-process Kafka-protocol broker (kfake) with a seeded topic.
func fakeCluster(t *testing.T, partitions int32, topic string) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func testConfig(brokers, topic, group string) Config {
	return Config{
		Brokers: brokers, Topic: topic, Group: group,
		BatchSize: 50, BatchWait: 5 * time.Millisecond,
		RetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond,
		ConsumerExtra: map[string]string{
			// kfake answers quickly; keep group joins short so the tests are fast.
			"session.timeout.ms":                 "6000",
			"heartbeat.interval.ms":              "500",
			"topic.metadata.refresh.interval.ms": "1000",
		},
	}
}

func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func publishAll(t testing.TB, p *Publisher, tweets []tweet.Tweet) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(tweets))
	sem := make(chan struct{}, 32)
	for _, tw := range tweets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := p.Publish(ctx, tw); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("publish: %v", err)
	}
}

// runSource runs a new source with h until the returned stop is called (also at cleanup).
func runSource(t *testing.T, cfg Config, h func(context.Context, []tweet.Tweet) error) (stop func()) {
	t.Helper()
	s, err := NewSource(cfg, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("Run did not return within 30s of cancel")
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// committed returns the group's committed offsets per partition (missing: none committed).
func committed(t testing.TB, brokers, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	a, err := ck.NewAdminClient(&ck.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tps := make([]ck.TopicPartition, partitions)
	for i := range tps {
		tps[i] = ck.TopicPartition{Topic: &topic, Partition: int32(i)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := a.ListConsumerGroupOffsets(ctx, []ck.ConsumerGroupTopicPartitions{{Group: group, Partitions: tps}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, g := range res.ConsumerGroupsTopicPartitions {
		for _, tp := range g.Partitions {
			if tp.Offset >= 0 {
				out[tp.Partition] = int64(tp.Offset)
			}
		}
	}
	return out
}

func sum(m map[int32]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func TestRoundTripKeepsIdentityAndFields(t *testing.T) {
	const topic, group, n = "weather-tweets", "g-roundtrip", 300
	brokers := fakeCluster(t, 3, topic)
	cfg := testConfig(brokers, topic, group)
	p := newPublisher(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := brokertest.Tweets(n)
	publishAll(t, p, want)

	rec := brokertest.NewRecorder()
	stop := runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 30*time.Second, want)
	stop()
	brokertest.CheckSame(t, want, rec.Seen())
	if d := rec.Delivered(); d != n {
		t.Errorf("delivered %d tweets, want %d (no rebalance happened, so no duplicate expected)", d, n)
	}
	if got := sum(committed(t, brokers, group, topic, 3)); got != n {
		t.Errorf("committed offsets add up to %d, want %d", got, n)
	}
}

func TestRecordFormat(t *testing.T) {
	const topic = "weather-tweets"
	brokers := fakeCluster(t, 1, topic)
	p := newPublisher(t, testConfig(brokers, topic, ""))
	tw := brokertest.Tweet(7)
	publishAll(t, p, []tweet.Tweet{tw})

	c, err := ck.NewConsumer(&ck.ConfigMap{"bootstrap.servers": brokers, "group.id": "raw", "auto.offset.reset": "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	m, err := c.ReadMessage(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Key != nil {
		t.Errorf("key = %q, want none (keyless records for sticky partitioning)", m.Key)
	}
	hdr := map[string]string{}
	for _, h := range m.Headers {
		hdr[h.Key] = string(h.Value)
	}
	if hdr[tweet.BrokerHeaderID] != tw.ID || hdr[tweet.BrokerHeaderRecv] != tweet.FormatMs(tw.ReceivedAtMs) {
		t.Errorf("headers = %v", hdr)
	}
	if m.Timestamp.UnixMilli() != tw.ReceivedAtMs {
		t.Errorf("timestamp = %d, want received-at %d", m.Timestamp.UnixMilli(), tw.ReceivedAtMs)
	}
	got, err := tweet.Unmarshal(m.Value, tw.ID, tw.ReceivedAtMs)
	if err != nil || got != tw {
		t.Errorf("value decodes to %+v, %v; want %+v", got, err, tw)
	}
}

func TestHandlerErrorRetriesSameBatchWithoutCommit(t *testing.T) {
	const topic, group, n = "weather-tweets", "g-retry", 20
	brokers := fakeCluster(t, 1, topic)
	cfg := testConfig(brokers, topic, group)
	want := brokertest.Tweets(n)
	publishAll(t, newPublisher(t, cfg), want)

	var failing sync.WaitGroup
	failing.Add(1)
	release := make(chan struct{})
	rec := brokertest.NewRecorder()
	rec.Fail = func(call int, _ []tweet.Tweet) error {
		if call == 3 {
			failing.Done()
		}
		select {
		case <-release:
			return nil
		default:
			return errors.New("valkey down")
		}
	}
	runSource(t, cfg, rec.Handle)
	failing.Wait() // three failed calls so far

	if c := committed(t, brokers, group, topic, 1); len(c) != 0 {
		t.Fatalf("offsets committed while the handler failed: %v", c)
	}
	calls := rec.Calls()
	first := ids(calls[0])
	for i, c := range calls[1:] {
		if got := ids(c); !equal(got, first) {
			t.Fatalf("retry %d got a different batch: %v, want %v", i+1, got, first)
		}
	}
	close(release)
	rec.WaitStored(t, 30*time.Second, want)
	waitCommitted(t, brokers, group, topic, 1, n)
}

func waitCommitted(t *testing.T, brokers, group, topic string, partitions int32, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := sum(committed(t, brokers, group, topic, partitions))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offsets add up to %d, want %d", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ids(b []tweet.Tweet) []string {
	out := make([]string, len(b))
	for i, t := range b {
		out[i] = t.ID
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewConsumerGetsWhatAFailedOneNeverCommitted(t *testing.T) {
	const topic, group, n = "weather-tweets", "g-takeover", 100
	brokers := fakeCluster(t, 3, topic)
	cfg := testConfig(brokers, topic, group)
	want := brokertest.Tweets(n)
	publishAll(t, newPublisher(t, cfg), want)

	broken := brokertest.NewRecorder()
	broken.Fail = func(int, []tweet.Tweet) error { return errors.New("valkey down") }
	stop := runSource(t, cfg, broken.Handle)
	broken.WaitFor(t, 30*time.Second, "a few failed calls", func(_ map[string]tweet.Tweet, calls [][]tweet.Tweet) bool {
		return len(calls) >= 3
	})
	stop() // the consumer dies without ever succeeding

	if c := committed(t, brokers, group, topic, 3); len(c) != 0 {
		t.Fatalf("offsets committed by a consumer whose handler never succeeded: %v", c)
	}
	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 30*time.Second, want)
	brokertest.CheckSame(t, want, rec.Seen())
	waitCommitted(t, brokers, group, topic, 3, n)
}

func TestUndecodableMessagesAreSkippedAndCommitted(t *testing.T) {
	const topic, group = "weather-tweets", "g-poison"
	brokers := fakeCluster(t, 1, topic)
	cfg := testConfig(brokers, topic, group)

	raw, err := ck.NewProducer(&ck.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	good := brokertest.Tweet(1)
	value, _ := good.Marshal()
	tp := ck.TopicPartition{Topic: ptr(topic), Partition: 0}
	bad := []*ck.Message{
		{TopicPartition: tp, Value: []byte("not protobuf \xff\xff\xff")},                    // no headers, garbage
		{TopicPartition: tp, Key: []byte(good.ID), Value: value},                            // no received-at
		{TopicPartition: tp, Value: value, Headers: hdrs("not-a-uuid", "5")},                // bad id
		{TopicPartition: tp, Value: []byte{0x08, 0x63}, Headers: hdrs(tweet.NewID(), "12")}, // municipality 99
	}
	msgs := append(bad, &ck.Message{TopicPartition: tp, Key: []byte(good.ID), Value: value, Headers: hdrs(good.ID, tweet.FormatMs(good.ReceivedAtMs))})
	dr := make(chan ck.Event, len(msgs))
	for _, m := range msgs {
		if err := raw.Produce(m, dr); err != nil {
			t.Fatal(err)
		}
	}
	for range msgs {
		if m := (<-dr).(*ck.Message); m.TopicPartition.Error != nil {
			t.Fatal(m.TopicPartition.Error)
		}
	}
	before := testutil.ToFloat64(m.DecodeErrors)
	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 30*time.Second, []tweet.Tweet{good})
	waitCommitted(t, brokers, group, topic, 1, int64(len(msgs)))
	if got := testutil.ToFloat64(m.DecodeErrors) - before; got != float64(len(bad)) {
		t.Errorf("decode errors counted %v, want %d", got, len(bad))
	}
	brokertest.CheckSame(t, []tweet.Tweet{good}, rec.Seen())
}

func ptr[T any](v T) *T { return &v }

func hdrs(id, recv string) []ck.Header {
	return []ck.Header{{Key: tweet.BrokerHeaderID, Value: []byte(id)}, {Key: tweet.BrokerHeaderRecv, Value: []byte(recv)}}
}

// TestRebalancesLoseNothing: members join and leave the group while tweets flow; every tweet is
// stored at least once. Under both rebalance protocols, since the Source performs the
// (un)assignments itself.
func TestRebalancesLoseNothing(t *testing.T) {
	for _, strategy := range []string{"", "cooperative-sticky"} {
		name := "eager"
		if strategy != "" {
			name = strategy
		}
		t.Run(name, func(t *testing.T) { testRebalancesLoseNothing(t, strategy) })
	}
}

func testRebalancesLoseNothing(t *testing.T, strategy string) {
	const topic, group, n = "weather-tweets", "g-rebalance", 600
	brokers := fakeCluster(t, 4, topic)
	cfg := testConfig(brokers, topic, group)
	if strategy != "" {
		cfg.ConsumerExtra["partition.assignment.strategy"] = strategy
	}
	p := newPublisher(t, cfg)
	want := brokertest.Tweets(n)

	rec := brokertest.NewRecorder()
	var mu sync.Mutex
	perMember := map[string]int{}
	member := func(name string) (stop func()) {
		c := cfg
		c.ClientID = name
		return runSource(t, c, func(ctx context.Context, b []tweet.Tweet) error {
			mu.Lock()
			perMember[name] += len(b)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			return rec.Handle(ctx, b)
		})
	}
	stop1 := member("m1")
	publishAll(t, p, want[:200])
	time.Sleep(300 * time.Millisecond)
	stop2 := member("m2")
	publishAll(t, p, want[200:400])
	time.Sleep(300 * time.Millisecond)
	stop1()
	member("m3")
	publishAll(t, p, want[400:])
	time.Sleep(300 * time.Millisecond)
	stop2()
	rec.WaitStored(t, 60*time.Second, want)
	brokertest.CheckSame(t, want, rec.Seen())
	mu.Lock()
	t.Logf("delivered %d for %d distinct tweets; per member %v", rec.Delivered(), n, perMember)
	mu.Unlock()
}

func TestCloseUnblocksRunAndRejectsPublish(t *testing.T) {
	const topic = "weather-tweets"
	brokers := fakeCluster(t, 1, topic)
	cfg := testConfig(brokers, topic, "g-close")
	p, err := NewPublisher(cfg, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), brokertest.Tweet(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	s, err := NewSource(cfg, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background(), brokertest.NewRecorder().Handle) }()
	time.Sleep(500 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running after Close")
	}
}

func TestPublishHonoursContextWhenBrokerIsDown(t *testing.T) {
	cfg := testConfig("127.0.0.1:1", "weather-tweets", "")
	cfg.CloseTimeout = 200 * time.Millisecond
	p := newPublisher(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Publish(ctx, brokertest.Tweet(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Publish took %s, past its 300ms deadline", el)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if err := p.Check(ctx2); err == nil {
		t.Error("Check succeeded with no broker")
	}
}

// A batch being stored when shutdown begins is finished and committed (within DrainTimeout).
func TestShutdownDrainsBatchInProgress(t *testing.T) {
	const topic, group, n = "weather-tweets", "g-drain", 10
	brokers := fakeCluster(t, 1, topic)
	cfg := testConfig(brokers, topic, group)
	want := brokertest.Tweets(n)
	publishAll(t, newPublisher(t, cfg), want)

	rec := brokertest.NewRecorder()
	handle, stopDuring := rec.HoldFirstBatch()
	stopDuring(runSource(t, cfg, handle))
	if got := sum(committed(t, brokers, group, topic, 1)); got != int64(rec.Delivered()) || got == 0 {
		t.Errorf("committed %d, stored %d: the batch in progress should be stored and committed", got, rec.Delivered())
	}
}

// The producer's Go-side channels are sized for what goes through them: with the client's
// defaults (a million entries each) a producer alone held 24 MB of heap that every GC scans.
func TestPublisherHeapIsSmall(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	cfg := testConfig("127.0.0.1:1", "weather-tweets", "")
	cfg.CloseTimeout = 200 * time.Millisecond
	before := heap()
	p := newPublisher(t, cfg)
	grown := int64(heap()) - int64(before)
	runtime.KeepAlive(p)
	if grown > 4<<20 {
		t.Fatalf("a publisher grew the heap by %.1f MiB, want under 4 MiB", float64(grown)/(1<<20))
	}
	t.Logf("a publisher grew the heap by %.2f MiB", float64(grown)/(1<<20))
}

// Offsets are committed every CommitInterval, not after every batch: stored batches are
// staged, and a graceful stop commits what is staged.
func TestStoredBatchesAreCommittedTogether(t *testing.T) {
	const topic, group, n = "weather-tweets", "g-staged", 100
	brokers := fakeCluster(t, 1, topic)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchSize = 10 // at least 10 batches
	cfg.CommitInterval = time.Hour
	want := brokertest.Tweets(n)
	publishAll(t, newPublisher(t, cfg), want)

	rec := brokertest.NewRecorder()
	stop := runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 30*time.Second, want)
	time.Sleep(300 * time.Millisecond)
	if c := committed(t, brokers, group, topic, 1); len(c) != 0 {
		t.Fatalf("committed %v before the commit interval: want every batch staged", c)
	}
	stop()
	if got := sum(committed(t, brokers, group, topic, 1)); got != n {
		t.Fatalf("after a graceful stop the committed offset is %d, want %d", got, n)
	}
}

// A member commits its staged offsets before it gives up partitions, so the member that gets
// them resumes after what was stored: nothing delivered twice although nothing was committed
// before the rebalance.
func TestRevokeCommitsStagedOffsets(t *testing.T) {
	const topic, group, n = "weather-tweets", "g-revoke", 200
	brokers := fakeCluster(t, 4, topic)
	cfg := testConfig(brokers, topic, group)
	cfg.CommitInterval = time.Hour
	want := brokertest.Tweets(n)
	publishAll(t, newPublisher(t, cfg), want)

	rec := brokertest.NewRecorder()
	member := func(name string) {
		c := cfg
		c.ClientID = name
		runSource(t, c, rec.Handle)
	}
	member("m1")
	rec.WaitStored(t, 30*time.Second, want)
	if c := committed(t, brokers, group, topic, 4); len(c) != 0 {
		t.Fatalf("committed %v before the rebalance: want every batch staged", c)
	}
	member("m2") // the group rebalances: m1's partitions are revoked, then shared
	waitCommitted(t, brokers, group, topic, 4, n)
	time.Sleep(time.Second) // both members fetch from the committed offsets meanwhile
	if d := rec.Delivered(); d != n {
		t.Fatalf("delivered %d times for %d tweets: the new owner read again what m1 had stored", d, n)
	}
}

func TestNegativeCommitIntervalIsRefused(t *testing.T) {
	cfg := testConfig("127.0.0.1:1", "weather-tweets", "g")
	cfg.CommitInterval = -time.Second
	_, err := NewSource(cfg, brokertest.Logger(t))
	if err == nil || !strings.Contains(err.Error(), "CommitInterval") {
		t.Fatalf("NewSource with a negative CommitInterval: %v, want an error naming it", err)
	}
}

func TestLingerDefaultsAndNone(t *testing.T) {
	for _, c := range []struct {
		set  time.Duration
		want string
	}{
		{0, "10"}, // unset: DefaultLinger
		{-1, "0"}, // negative: none
		{5 * time.Millisecond, "5"},
		{2500 * time.Microsecond, "2.5"},
	} {
		if got := lingerMs(Config{Linger: c.set}.withDefaults().Linger); got != c.want {
			t.Errorf("Linger %v: linger.ms %q, want %q", c.set, got, c.want)
		}
	}
}
