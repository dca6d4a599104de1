// Package gateway is Go Deployment 1: it takes validated tweets (REST from the Rust api, or
// gRPC as the measured alternative) and hands each one to BOTH writers in parallel over gRPC,
// answering success only when both brokers hold it.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc"
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
}

// DialWriter connects to a writer target: "dns:///host:port" (a headless Service: one address
// per pod) or "static:///a:port,b:port" (a fixed list, for a local run).
func DialWriter(brokerName, target string) (*Writer, error) {
	opts := append(service.GRPCDialOptions(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(serviceConfig),
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
	return &Writer{Broker: brokerName, conn: conn, client: pb.NewWeatherTweetServiceClient(conn)}, nil
}

// Close closes the connection.
func (w *Writer) Close() error { return w.conn.Close() }

// Send calls SendTweet with the tweet's identity as metadata.
func (w *Writer) Send(ctx context.Context, t tweet.Tweet) error {
	ctx = metadata.AppendToOutgoingContext(ctx, tweet.MetadataID, t.ID, tweet.MetadataReceived, tweet.FormatMs(t.ReceivedAtMs))
	start := time.Now()
	_, err := w.client.SendTweet(ctx, t.ToProto())
	writerSeconds.WithLabelValues(w.Broker, status.Code(err).String()).Observe(time.Since(start).Seconds())
	return err
}

// Fanout sends every tweet to all writers in parallel.
type Fanout struct {
	Writers []*Writer
	Timeout time.Duration
}

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

// Send returns nil only when every writer answered OK (its broker holds the tweet).
func (f *Fanout) Send(ctx context.Context, t tweet.Tweet) error {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	errs := make([]error, len(f.Writers))
	var wg sync.WaitGroup
	for i, w := range f.Writers {
		if i == len(f.Writers)-1 {
			// The last call runs on the caller's goroutine, whose stack has already grown to
			// what a gRPC call needs: one goroutine fewer to create and grow per tweet.
			errs[i] = w.Send(ctx, t)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Send(ctx, t)
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
