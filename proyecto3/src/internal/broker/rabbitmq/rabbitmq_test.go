package rabbitmq

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"tweetsdelclima/internal/broker/brokertest"
	"tweetsdelclima/internal/tweet"
)

// ---- unit tests (no broker) ----

func TestDecode(t *testing.T) {
	tw := brokertest.Tweet(3)
	body, _ := tw.Marshal()
	ok := amqp.Delivery{MessageId: tw.ID, Body: body, Headers: amqp.Table{tweet.BrokerHeaderRecv: tw.ReceivedAtMs}}
	if got, err := decode(ok); err != nil || got != tw {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, tw)
	}
	asString := ok
	asString.Headers = amqp.Table{tweet.BrokerHeaderRecv: tweet.FormatMs(tw.ReceivedAtMs)}
	if got, err := decode(asString); err != nil || got != tw {
		t.Errorf("string header: decode = %+v, %v", got, err)
	}
	fromTimestamp := ok
	fromTimestamp.Headers = nil
	fromTimestamp.Timestamp = time.Unix(tw.ReceivedAtMs/1000, 0)
	if got, err := decode(fromTimestamp); err != nil || got.ReceivedAtMs != tw.ReceivedAtMs/1000*1000 {
		t.Errorf("timestamp fallback: decode = %+v, %v", got, err)
	}
	for name, d := range map[string]amqp.Delivery{
		"garbage body":   {MessageId: tw.ID, Body: []byte("\xff\xff\xff"), Headers: ok.Headers},
		"no id":          {Body: body, Headers: ok.Headers},
		"no received-at": {MessageId: tw.ID, Body: body},
		"bad header":     {MessageId: tw.ID, Body: body, Headers: amqp.Table{tweet.BrokerHeaderRecv: "soon"}},
		"bad type":       {MessageId: tw.ID, Body: body, Headers: amqp.Table{tweet.BrokerHeaderRecv: 1.5}},
	} {
		if _, err := decode(d); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := NewPublisher(Config{Queue: "q"}, nil); err == nil {
		t.Error("no URL accepted")
	}
	if _, err := NewSource(Config{URL: "amqp://127.0.0.1/"}, nil); err == nil {
		t.Error("no queue accepted")
	}
	if _, err := NewSource(Config{URL: "http://x", Queue: "q"}, nil); err == nil {
		t.Error("non-AMQP URL accepted")
	}
}

func TestPublishWhileDisconnectedFailsWithinContext(t *testing.T) {
	p, err := NewPublisher(Config{URL: "amqp://127.0.0.1:1/", Queue: "q", DialTimeout: 200 * time.Millisecond}, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Publish(ctx, brokertest.Tweet(1))
	if !errors.Is(err, ErrNotConnected) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish = %v, want ErrNotConnected and DeadlineExceeded", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Publish took %s past a 300ms deadline", el)
	}
	if err := p.Check(context.Background()); err == nil {
		t.Error("Check succeeded without a connection")
	}
	_ = p.Close()
	if err := p.Publish(context.Background(), brokertest.Tweet(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}

// ---- integration tests (a real RabbitMQ: RABBITMQ_URL, RABBITMQ_USERNAME, RABBITMQ_PASSWORD) ----

// testQueue returns a config for a fresh queue, deleted at the end of the test.
func testQueue(t *testing.T) Config {
	t.Helper()
	env := brokertest.Integration(t)
	cfg := Config{
		URL: env.RabbitURL, Username: env.RabbitUser, Password: env.RabbitPassword,
		Queue:        "tweets-test-" + brokertest.Suffix(),
		BatchSize:    100,
		RetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond,
		ReconnectBackoff: 50 * time.Millisecond, MaxReconnectBackoff: 500 * time.Millisecond,
	}
	t.Cleanup(func() {
		if err := DeleteQueue(cfg); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	return cfg
}

func newPublisher(t *testing.T, cfg Config) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	waitCheck(t, p.Check)
	return p
}

func waitCheck(t *testing.T, check func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := check(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not connected after 15s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publishAll(t testing.TB, p *Publisher, tweets []tweet.Tweet, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	sem := make(chan struct{}, 64)
	for _, tw := range tweets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := p.Publish(ctx, tw); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d publishes failed, first: %v", n, firstErr.Load())
	}
}

type running struct {
	s    *Source
	stop func()
}

func runSource(t *testing.T, cfg Config, h func(context.Context, []tweet.Tweet) error) running {
	t.Helper()
	s, err := NewSource(cfg, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, h) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("Run did not return within 20s of cancel")
			}
			_ = s.Close()
		})
	}
	t.Cleanup(stop)
	waitCheck(t, s.Check)
	return running{s: s, stop: stop}
}

func TestIntegrationPublishConsume1000(t *testing.T) {
	cfg := testQueue(t)
	p := newPublisher(t, cfg)
	if kind := p.sess.kind; kind != amqp.QueueTypeQuorum {
		t.Errorf("queue type %q, want quorum", kind)
	}
	want := brokertest.Tweets(1000)
	publishAll(t, p, want, 60*time.Second)

	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 60*time.Second, want)
	brokertest.CheckSame(t, want, rec.Seen())
	time.Sleep(200 * time.Millisecond)
	if d := rec.Delivered(); d != len(want) {
		t.Errorf("delivered %d, want exactly %d (nothing failed, so no redelivery expected)", d, len(want))
	}
}

func TestIntegrationWireFormat(t *testing.T) {
	cfg := testQueue(t)
	p := newPublisher(t, cfg)
	tw := brokertest.Tweet(9)
	publishAll(t, p, []tweet.Tweet{tw}, 10*time.Second)

	d, err := dial(cfg, "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer d.conn.Close()
	ch, err := d.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	m, ok, err := ch.Get(cfg.Queue, true)
	if err != nil || !ok {
		t.Fatalf("get: ok=%v err=%v", ok, err)
	}
	if m.MessageId != tw.ID || m.ContentType != tweet.ContentType || m.DeliveryMode != amqp.Persistent ||
		m.Timestamp.Unix() != tw.ReceivedAtMs/1000 || m.Headers[tweet.BrokerHeaderRecv] != tw.ReceivedAtMs {
		t.Errorf("message properties: id=%q type=%q mode=%d ts=%v headers=%v", m.MessageId, m.ContentType, m.DeliveryMode, m.Timestamp, m.Headers)
	}
	if got, err := tweet.Unmarshal(m.Body, tw.ID, tw.ReceivedAtMs); err != nil || got != tw {
		t.Errorf("body decodes to %+v, %v", got, err)
	}
}

func TestIntegrationConsumerDiesBeforeAckLosesNothing(t *testing.T) {
	cfg := testQueue(t)
	want := brokertest.Tweets(300)
	publishAll(t, newPublisher(t, cfg), want, 30*time.Second)

	// The first consumer's store never succeeds; it is killed (its connection closed)
	// while it holds unacked messages.
	dying := brokertest.NewRecorder()
	dying.Fail = func(int, []tweet.Tweet) error { return errors.New("valkey down") }
	r := runSource(t, cfg, dying.Handle)
	dying.WaitFor(t, 20*time.Second, "failed calls", func(_ map[string]tweet.Tweet, calls [][]tweet.Tweet) bool {
		return len(calls) >= 2
	})
	if err := r.s.Close(); err != nil {
		t.Fatal(err)
	}
	r.stop()

	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 30*time.Second, want)
	brokertest.CheckSame(t, want, rec.Seen())
}

func TestIntegrationSourceReconnectsAfterConnectionDrop(t *testing.T) {
	cfg := testQueue(t)
	want := brokertest.Tweets(400)
	p := newPublisher(t, cfg)
	publishAll(t, p, want[:200], 30*time.Second)

	var dropped atomic.Bool
	rec := brokertest.NewRecorder()
	var r running
	started := make(chan struct{})
	rec.Fail = func(call int, _ []tweet.Tweet) error {
		<-started
		if dropped.CompareAndSwap(false, true) {
			r.s.dropConnection() // the batch in hand can no longer be acked
			return errors.New("connection dropped")
		}
		return nil
	}
	before := testutil.ToFloat64(m.Reconnects.WithLabelValues("source"))
	r = runSource(t, cfg, rec.Handle)
	close(started)
	publishAll(t, p, want[200:], 30*time.Second)
	rec.WaitStored(t, 30*time.Second, want)
	brokertest.CheckSame(t, want, rec.Seen())
	if got := testutil.ToFloat64(m.Reconnects.WithLabelValues("source")) - before; got < 1 {
		t.Errorf("source reconnects counted %v, want ≥ 1", got)
	}
}

func TestIntegrationPublisherSurvivesConnectionDrop(t *testing.T) {
	cfg := testQueue(t)
	p := newPublisher(t, cfg)
	want := brokertest.Tweets(3000)
	before := testutil.ToFloat64(m.Reconnects.WithLabelValues("publisher"))

	// Publish concurrently while the TCP connection is cut twice: every Publish must still
	// return nil (it waits for the reconnection and publishes again within its ctx).
	stop := make(chan struct{})
	var drops sync.WaitGroup
	drops.Add(1)
	go func() {
		defer drops.Done()
		// The cuts land while publishes are in flight: 3000 publishes take ~150 ms on a
		// quiet machine and longer on a busy one.
		for _, after := range []time.Duration{5 * time.Millisecond, 40 * time.Millisecond} {
			select {
			case <-time.After(after):
			case <-stop:
				return
			}
			if !p.dropConnection() {
				t.Log("no connection to drop at this instant")
			}
		}
	}()
	publishAll(t, p, want, 60*time.Second)
	close(stop)
	drops.Wait()
	if got := testutil.ToFloat64(m.Reconnects.WithLabelValues("publisher")) - before; got < 1 {
		t.Errorf("publisher reconnects counted %v, want ≥ 1", got)
	}
	// And it still publishes afterwards.
	after := brokertest.Tweet(99999)
	publishAll(t, p, []tweet.Tweet{after}, 10*time.Second)

	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	all := append(want, after)
	rec.WaitStored(t, 60*time.Second, all)
	brokertest.CheckSame(t, all, rec.Seen())
	t.Logf("delivered %d for %d distinct tweets (duplicates come from publishes repeated after a drop)", rec.Delivered(), len(all))
}

func TestIntegrationUndecodableRejected(t *testing.T) {
	cfg := testQueue(t)
	p := newPublisher(t, cfg)
	good := brokertest.Tweet(5)
	publishAll(t, p, []tweet.Tweet{good}, 10*time.Second)
	d, err := dial(cfg, "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer d.conn.Close()
	ch, _ := d.conn.Channel()
	for _, m := range []amqp.Publishing{
		{Body: []byte("garbage")},
		{MessageId: "not-a-uuid", Body: []byte{}, Headers: amqp.Table{tweet.BrokerHeaderRecv: int64(5)}},
	} {
		if err := ch.Publish("", cfg.Queue, false, false, m); err != nil {
			t.Fatal(err)
		}
	}
	good2 := brokertest.Tweet(6)
	publishAll(t, p, []tweet.Tweet{good2}, 10*time.Second)

	before := testutil.ToFloat64(m.DecodeErrors)
	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 20*time.Second, []tweet.Tweet{good, good2})
	if got := testutil.ToFloat64(m.DecodeErrors) - before; got != 2 {
		t.Errorf("decode errors %v, want 2", got)
	}
	brokertest.CheckSame(t, []tweet.Tweet{good, good2}, rec.Seen())
	// The queue is empty: everything was acked or rejected.
	waitQueueEmpty(t, ch, cfg.Queue)
}

func waitQueueEmpty(t *testing.T, ch *amqp.Channel, queue string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Messages == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s still holds %d ready messages", queue, q.Messages)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestIntegrationUnroutableIsAnError(t *testing.T) {
	cfg := testQueue(t)
	p := newPublisher(t, cfg)
	d, err := dial(cfg, "admin")
	if err != nil {
		t.Fatal(err)
	}
	defer d.conn.Close()
	ch, _ := d.conn.Channel()
	if _, err := ch.QueueDelete(cfg.Queue, false, false, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, brokertest.Tweet(1)); !errors.Is(err, ErrUnroutable) {
		t.Errorf("Publish to a deleted queue = %v, want ErrUnroutable", err)
	}
}

func TestIntegrationClassicFallback(t *testing.T) {
	cfg := testQueue(t)
	d, err := dial(cfg, "admin")
	if err != nil {
		t.Fatal(err)
	}
	defer d.conn.Close()
	ch, _ := d.conn.Channel()
	if _, err := ch.QueueDeclare(cfg.Queue, true, false, false, false, nil); err != nil { // classic
		t.Fatal(err)
	}
	p := newPublisher(t, cfg)
	if kind := p.sess.kind; kind != amqp.QueueTypeClassic {
		t.Errorf("queue type %q, want the classic fallback", kind)
	}
	want := brokertest.Tweets(10)
	publishAll(t, p, want, 10*time.Second)
	rec := brokertest.NewRecorder()
	runSource(t, cfg, rec.Handle)
	rec.WaitStored(t, 20*time.Second, want)
}

func TestIntegrationCredentialsOverrideURL(t *testing.T) {
	cfg := testQueue(t)
	u, err := amqp.ParseURI(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Username, u.Password = "nobody", "wrong"
	cfg.URL = u.String()
	newPublisher(t, cfg) // connects with cfg.Username/Password despite the URL's userinfo

	bad := cfg
	bad.Username, bad.Password = "", ""
	bad.ReconnectBackoff, bad.MaxReconnectBackoff = time.Second, time.Second
	p, err := NewPublisher(bad, brokertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	time.Sleep(500 * time.Millisecond)
	if err := p.Check(context.Background()); err == nil {
		t.Error("connected with the URL's wrong credentials")
	}
}

// A batch being stored when shutdown begins is finished and acked (within DrainTimeout).
func TestIntegrationShutdownDrainsBatchInProgress(t *testing.T) {
	cfg := testQueue(t)
	want := brokertest.Tweets(10)
	publishAll(t, newPublisher(t, cfg), want, 10*time.Second)

	rec := brokertest.NewRecorder()
	handle, stopDuring := rec.HoldFirstBatch()
	stopDuring(runSource(t, cfg, handle).stop)
	if rec.Delivered() == 0 {
		t.Fatal("the batch in progress was not stored")
	}
	d, err := dial(cfg, "check")
	if err != nil {
		t.Fatal(err)
	}
	defer d.conn.Close()
	ch, _ := d.conn.Channel()
	q, err := ch.QueueDeclarePassive(cfg.Queue, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages != len(want)-rec.Delivered() {
		t.Errorf("queue holds %d messages after %d of %d were stored: the stored batch was not acked", q.Messages, rec.Delivered(), len(want))
	}
}
