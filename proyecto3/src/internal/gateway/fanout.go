// Package gateway is Go Deployment 1: it takes validated tweets (REST from the Rust api, or
// gRPC as the measured alternative) and hands each one to BOTH writers in parallel over gRPC,
// answering success only when both brokers hold it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/service"
	"tweetsdelclima/internal/tweet"
)

// serviceConfig spreads calls over every writer address (round_robin) and retries a call that
// never reached a writer (UNAVAILABLE). Retrying is safe: the tweet keeps its id and the
// consumers count each id once.
const serviceConfig = `{
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [{"service": "wetherweet.WeatherTweetService"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.02s",
      "maxBackoff": "0.2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

var writerSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "gateway_writer_call_seconds",
	Help:    "Duration of SendTweet calls to a writer, by broker and gRPC code.",
	Buckets: latencyBuckets,
}, []string{"broker", "code"})

// Writer is a gRPC client of one writer Deployment (all its replicas).
type Writer struct {
	Broker string
	conn   *grpc.ClientConn
	client pb.WeatherTweetServiceClient
	ok     prometheus.Observer // writerSeconds{broker, "OK"}, looked up once
}

// DialWriter connects to a writer target: "dns:///host:port" (a headless Service: one address
// per pod) or "static:///a:port,b:port" (a fixed list, for a local run).
func DialWriter(brokerName, target string) (*Writer, error) {
	opts := append(service.GRPCDialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(serviceConfig),
		// A call made while no writer address is connected (a writer restarting, the only
		// replica being replaced) waits for one within its deadline instead of failing at
		// once: a restart of writer-rabbitmq under 1000 tweets/s was ~2,500 refused tweets
		// without it (docs/benchmarks.md). MaxInFlight bounds what waits.
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
	)
	if rest, ok := strings.CutPrefix(target, "static:///"); ok {
		var addrs []resolver.Address
		for _, a := range strings.Split(rest, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, resolver.Address{Addr: a})
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("writer %s: %q lists no address", brokerName, target)
		}
		r := manual.NewBuilderWithScheme("static")
		r.InitialState(resolver.State{Addresses: addrs})
		opts = append(opts, grpc.WithResolvers(r))
		target = "static:///" + brokerName
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("writer %s: %w", brokerName, err)
	}
	conn.Connect()
	return &Writer{Broker: brokerName, conn: conn, client: pb.NewWeatherTweetServiceClient(conn),
		ok: writerSeconds.WithLabelValues(brokerName, codes.OK.String())}, nil
}

// Close closes the connection.
func (w *Writer) Close() error { return w.conn.Close() }

// withIdentity puts the tweet's id and received-at time in the outgoing gRPC metadata.
func withIdentity(ctx context.Context, t tweet.Tweet) context.Context {
	return metadata.AppendToOutgoingContext(ctx, tweet.MetadataID, t.ID, tweet.MetadataReceived, tweet.FormatMs(t.ReceivedAtMs))
}

// send calls SendTweet with a context that already holds the tweet's identity.
func (w *Writer) send(ctx context.Context, req *pb.WeatherTweetRequest) error {
	start := time.Now()
	_, err := w.client.SendTweet(ctx, req)
	seconds := w.ok
	if err != nil {
		seconds = writerSeconds.WithLabelValues(w.Broker, status.Code(err).String())
	}
	seconds.Observe(time.Since(start).Seconds())
	return err
}

var overloaded = promauto.NewCounter(prometheus.CounterOpts{
	Name: "gateway_overloaded_total",
	Help: "Tweets refused at once (503, or RESOURCE_EXHAUSTED over gRPC) because MaxInFlight tweets were already being sent.",
})

// Fanout sends every tweet to all writers in parallel.
type Fanout struct {
	Writers []*Writer
	Timeout time.Duration
	// MaxInFlight bounds the tweets being sent at once (0: no bound). A tweet beyond it is
	// refused at once with an *OverloadedError, before anything is sent, so the caller can
	// retry it (the api does, with backoff and the same id). Without it a stalled broker holds
	// every tweet for the whole writer deadline, so the tweets in flight grow to rate x
	// deadline, and the gateway's memory with them, about 70 KB each with their connection
	// (bench/stall.sh: 5,025 in flight and 359 MiB at 1000/s with one writer stopped for 8 s;
	// with a bound of 2000, 157 MiB; of 1000, 88 MiB).
	MaxInFlight int64
	// Log, when set, gets one line per second at most while tweets are being refused.
	Log *slog.Logger

	inFlight atomic.Int64
	refused  atomic.Int64 // refusals not yet logged
	lastLog  atomic.Int64 // unix nanoseconds of the last refusal log line
}

// OverloadedError is the refusal of a tweet beyond MaxInFlight. Nothing was sent.
type OverloadedError struct{ Limit int64 }

func (e *OverloadedError) Error() string {
	return fmt.Sprintf("overloaded: %d tweets already in flight; retry later", e.Limit)
}

// logRefusal counts a refusal and logs the count at most once a second: a line per refused tweet
// would flood the log exactly when the gateway is short of time.
func (f *Fanout) logRefusal() {
	f.refused.Add(1)
	if f.Log == nil {
		return
	}
	now, last := time.Now().UnixNano(), f.lastLog.Load()
	if now-last < int64(time.Second) || !f.lastLog.CompareAndSwap(last, now) {
		return
	}
	f.Log.Warn("overloaded: refusing tweets beyond max-in-flight", "refused", f.refused.Swap(0), "max_in_flight", f.MaxInFlight)
}

// InFlight is the number of tweets being sent now.
func (f *Fanout) InFlight() int64 { return f.inFlight.Load() }

// BrokerError says which brokers did not take a tweet.
type BrokerError struct {
	Failed map[string]error
}

func (e *BrokerError) Error() string {
	var parts []string
	for b, err := range e.Failed {
		parts = append(parts, b+": "+status.Convert(err).Message())
	}
	return "not stored by " + strings.Join(parts, "; ")
}

// Send returns nil only when every writer answered OK (its broker holds the tweet), and an
// *OverloadedError, without sending anything, when MaxInFlight tweets are already in flight.
func (f *Fanout) Send(ctx context.Context, t tweet.Tweet) error {
	if n := f.inFlight.Add(1); f.MaxInFlight > 0 && n > f.MaxInFlight {
		f.inFlight.Add(-1)
		overloaded.Inc()
		f.logRefusal()
		return &OverloadedError{Limit: f.MaxInFlight}
	}
	defer f.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	// Every writer gets the same metadata and message (read-only while it is sent): built once.
	ctx, req := withIdentity(ctx, t), t.ToProto()
	errs := make([]error, len(f.Writers))
	var wg sync.WaitGroup
	for i, w := range f.Writers {
		if i == len(f.Writers)-1 {
			// The last call runs on the caller's goroutine, whose stack has already grown to
			// what a gRPC call needs: one goroutine fewer to create and grow per tweet.
			errs[i] = w.send(ctx, req)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.send(ctx, req)
		}()
	}
	wg.Wait()
	var be *BrokerError
	for i, err := range errs {
		if err != nil {
			if be == nil {
				be = &BrokerError{Failed: map[string]error{}}
			}
			be.Failed[f.Writers[i].Broker] = err
		}
	}
	if be != nil {
		return be
	}
	return nil
}

// IsBrokerError reports whether err is a BrokerError.
func IsBrokerError(err error) bool {
	var be *BrokerError
	return errors.As(err, &be)
}
