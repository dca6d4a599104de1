// Package pipeline_test runs the Go data path end to end against the real servers that
// proyecto3/local/test.sh starts: gateway (REST) → both writers (gRPC) → Kafka and RabbitMQ →
// both consumers → Valkey. Each test uses its own topic, queue, consumer group and Valkey
// database, so it never touches a running local system.
package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"google.golang.org/grpc"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/broker/kafka"
	"tweetsdelclima/internal/broker/rabbitmq"
	"tweetsdelclima/internal/consumer"
	"tweetsdelclima/internal/gateway"
	"tweetsdelclima/internal/store"
	"tweetsdelclima/internal/testenv"
	"tweetsdelclima/internal/tweet"
	"tweetsdelclima/internal/writer"
)

type system struct {
	t       *testing.T
	log     *slog.Logger
	env     map[string]string
	topic   string
	queue   string
	group   string
	valkey  rueidis.Client
	st      *store.Store
	gateway *httptest.Server
	pubs    map[string]broker.Publisher
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (s *system) kafkaCfg() kafka.Config {
	return kafka.Config{Brokers: s.env["KAFKA_BROKERS"], Topic: s.topic, Group: s.group, BatchWait: 5 * time.Millisecond}
}

func (s *system) rabbitCfg() rabbitmq.Config {
	return rabbitmq.Config{URL: s.env["RABBITMQ_URL"], Username: s.env["RABBITMQ_USERNAME"], Password: s.env["RABBITMQ_PASSWORD"], Queue: s.queue}
}

// newSystem starts both writers (gRPC on 127.0.0.1), the gateway's REST handler, and nothing
// else; consumers are started by the tests that want them.
func newSystem(t *testing.T) *system {
	env := testenv.Env(t, "KAFKA_BROKERS", "RABBITMQ_URL", "RABBITMQ_USERNAME", "RABBITMQ_PASSWORD", "VALKEY_ADDR")
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	s := &system{t: t, log: quiet(), env: env, topic: "it-pipeline-" + suffix, queue: "it-pipeline-" + suffix,
		group: "it-pipeline-" + suffix, pubs: map[string]broker.Publisher{}}
	s.valkey = testenv.Valkey(t, testenv.DBPipeline)
	s.st = store.New(s.valkey, store.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafka.EnsureTopic(ctx, env["KAFKA_BROKERS"], kafka.TopicSpec{Name: s.topic, Partitions: 3}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := kafka.DeleteTopic(ctx, env["KAFKA_BROKERS"], s.topic); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if err := rabbitmq.DeleteQueue(s.rabbitCfg()); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})

	fan := &gateway.Fanout{Timeout: 10 * time.Second}
	for _, b := range []string{broker.Kafka, broker.RabbitMQ} {
		var pub broker.Publisher
		var err error
		if b == broker.Kafka {
			pub, err = kafka.NewPublisher(s.kafkaCfg(), s.log)
		} else {
			pub, err = rabbitmq.NewPublisher(s.rabbitCfg(), s.log)
		}
		if err != nil {
			t.Fatalf("%s publisher: %v", b, err)
		}
		s.pubs[b] = pub
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		pb.RegisterWeatherTweetServiceServer(srv, &writer.Server{Broker: b, Publisher: pub, Timeout: 10 * time.Second})
		go func() { _ = srv.Serve(ln) }()
		w, err := gateway.DialWriter(b, "static:///"+ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fan.Writers = append(fan.Writers, w)
		t.Cleanup(func() { _ = w.Close(); srv.GracefulStop(); _ = pub.Close() })
	}
	s.gateway = httptest.NewServer(gateway.Handler(fan, func(http.ResponseWriter, *http.Request) {}, s.log))
	t.Cleanup(s.gateway.Close)
	return s
}

func (s *system) source(b string) broker.Source {
	var src broker.Source
	var err error
	if b == broker.Kafka {
		src, err = kafka.NewSource(s.kafkaCfg(), s.log)
	} else {
		src, err = rabbitmq.NewSource(s.rabbitCfg(), s.log)
	}
	if err != nil {
		s.t.Fatalf("%s source: %v", b, err)
	}
	return src
}

// startConsumer runs the real consumer loop; the returned stop cancels it and waits.
func (s *system) startConsumer(b string) (stop func()) {
	src := s.source(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = consumer.Run(ctx, b, src, s.st, s.log) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; _ = src.Close() }) }
	s.t.Cleanup(stop)
	return stop
}

func (s *system) post(body string, id string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, s.gateway.URL+"/tweets", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set(tweet.HeaderID, id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out["id"]
}

func body(t tweet.Tweet) string {
	return fmt.Sprintf(`{"municipality":%q,"temperature":%d,"humidity":%d,"weather":%q}`, t.Municipality, t.Temperature, t.Humidity, t.Weather)
}

// waitStored waits until Valkey holds want tweets and each broker delivered at least want.
func (s *system) waitStored(want int64, perBroker int64) store.Summary {
	deadline := time.Now().Add(60 * time.Second)
	for {
		sum, err := store.ReadSummary(context.Background(), s.valkey)
		if err != nil {
			s.t.Fatal(err)
		}
		if sum.Tweets > want {
			s.t.Fatalf("Valkey counts %d tweets, only %d were sent", sum.Tweets, want)
		}
		if sum.Tweets == want && sum.Brokers[0].Processed >= perBroker && sum.Brokers[1].Processed >= perBroker {
			return sum
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timeout: %d/%d stored, deliveries kafka %d rabbitmq %d", sum.Tweets, want, sum.Brokers[0].Processed, sum.Brokers[1].Processed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Tweets sent to the gateway reach Valkey through both brokers and are counted exactly once;
// every aggregate equals the value computed from the sent tweets.
func TestGatewayToValkeyCountsEachTweetOnce(t *testing.T) {
	s := newSystem(t)
	s.startConsumer(broker.Kafka)
	s.startConsumer(broker.RabbitMQ)
	tweets := testenv.RandomTweets(21, 400)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range tweets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, id := s.post(body(tweets[i]), tweets[i].ID)
			if code != http.StatusAccepted || id != tweets[i].ID {
				t.Errorf("tweet %d: %d id %q", i, code, id)
			}
		}()
	}
	wg.Wait()
	sum := s.waitStored(int64(len(tweets)), int64(len(tweets)))
	e := testenv.Compute(tweets)
	if got, want := fmt.Sprintf("%s %s %s %s", sum.TemperatureMax, sum.TemperatureMin, sum.HumidityMax, sum.HumidityMin),
		fmt.Sprintf("%d %d %d %d", e.TemperatureMax, e.TemperatureMin, e.HumidityMax, e.HumidityMin); got != want {
		t.Errorf("extremes %s, want %s", got, want)
	}
	for _, w := range tweet.Weathers {
		if sum.WeatherCounts[w.String()] != e.WeatherCounts[w.String()] {
			t.Errorf("weather %s: %d, want %d", w, sum.WeatherCounts[w.String()], e.WeatherCounts[w.String()])
		}
	}
	for _, m := range sum.Municipalities {
		if m.Count != e.Count[m.Name] || m.AvgTemperature != e.AvgTemperature[m.Name] || m.AvgHumidity != e.AvgHumidity[m.Name] ||
			m.Most != e.Most[m.Name] || m.Least != e.Least[m.Name] || m.SeriesLen != e.Count[m.Name] {
			t.Errorf("%s: %+v, want count %d avg %s/%s most %s least %s", m.Name, m, e.Count[m.Name],
				e.AvgTemperature[m.Name], e.AvgHumidity[m.Name], e.Most[m.Name], e.Least[m.Name])
		}
	}
	k, r := sum.Brokers[0], sum.Brokers[1]
	if k.First+r.First != int64(len(tweets)) || k.Processed != int64(len(tweets)) || r.Processed != int64(len(tweets)) {
		t.Errorf("brokers: kafka %+v rabbitmq %+v", k, r)
	}
	t.Logf("first to arrive: kafka %d, rabbitmq %d; avg latency kafka %s ms, rabbitmq %s ms", k.First, r.First, k.LatencyAvgMs, r.LatencyAvgMs)
}

// The api retries with the same id after a timeout; the second copy changes nothing.
func TestDuplicateIDIsNotCountedAgain(t *testing.T) {
	s := newSystem(t)
	s.startConsumer(broker.Kafka)
	s.startConsumer(broker.RabbitMQ)
	tw := testenv.RandomTweets(5, 1)[0]
	for range 3 {
		if code, _ := s.post(body(tw), tw.ID); code != http.StatusAccepted {
			t.Fatalf("post: %d", code)
		}
	}
	sum := s.waitStored(1, 3)
	if sum.Brokers[0].Duplicates+sum.Brokers[1].Duplicates != 5 {
		t.Fatalf("6 deliveries of one id: duplicates kafka %d + rabbitmq %d, want 5", sum.Brokers[0].Duplicates, sum.Brokers[1].Duplicates)
	}
}

// A consumer that dies before acknowledging loses nothing: the next one gets the messages again.
func TestConsumerDyingBeforeAckLosesNothing(t *testing.T) {
	s := newSystem(t)
	tweets := testenv.RandomTweets(9, 150)
	for _, tw := range tweets {
		if code, _ := s.post(body(tw), tw.ID); code != http.StatusAccepted {
			t.Fatalf("post: %d", code)
		}
	}
	for _, b := range []string{broker.Kafka, broker.RabbitMQ} {
		// First consumer: its store always fails, so it never acknowledges; then it dies.
		src := s.source(b)
		ctx, cancel := context.WithCancel(context.Background())
		seen := make(chan int, 1000)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = src.Run(ctx, func(_ context.Context, batch []tweet.Tweet) error {
				seen <- len(batch)
				return fmt.Errorf("valkey unreachable (simulated)")
			})
		}()
		select {
		case <-seen:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the first consumer never got a batch", b)
		}
		cancel()
		<-done
		_ = src.Close()
	}
	if n, _ := s.valkey.Do(context.Background(), s.valkey.B().Dbsize().Build()).AsInt64(); n != 0 {
		t.Fatalf("the failing consumers wrote %d keys", n)
	}
	s.startConsumer(broker.Kafka)
	s.startConsumer(broker.RabbitMQ)
	sum := s.waitStored(int64(len(tweets)), int64(len(tweets)))
	if sum.Tweets != int64(len(tweets)) {
		t.Fatalf("stored %d of %d", sum.Tweets, len(tweets))
	}
}
