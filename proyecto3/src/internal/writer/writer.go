// Package writer is the gRPC server of Go Deployments 2 and 3: it implements the statement's
// WeatherTweetService and answers OK only after its broker holds the tweet.
package writer

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

var requests = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "writer_requests_total",
	Help: "SendTweet calls by broker and gRPC code.",
}, []string{"broker", "code"})

// Server implements WeatherTweetService on one broker.
type Server struct {
	pb.UnimplementedWeatherTweetServiceServer
	Broker    string
	Publisher broker.Publisher
	Timeout   time.Duration // bound of one publish
}

// SendTweet publishes the tweet with the identity from the metadata (required here: the
// gateway always sends it) and returns after the broker's acknowledgement.
func (s *Server) SendTweet(ctx context.Context, req *pb.WeatherTweetRequest) (*pb.WeatherTweetResponse, error) {
	resp, err := s.send(ctx, req)
	requests.WithLabelValues(s.Broker, status.Code(err).String()).Inc()
	return resp, err
}

func (s *Server) send(ctx context.Context, req *pb.WeatherTweetRequest) (*pb.WeatherTweetResponse, error) {
	t, err := tweet.FromIncoming(ctx, req, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	if err := s.Publisher.Publish(ctx, t); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, status.Errorf(codes.DeadlineExceeded, "%s did not acknowledge in time: %v", s.Broker, err)
		}
		return nil, status.Errorf(codes.Unavailable, "%s: %v", s.Broker, err)
	}
	return &pb.WeatherTweetResponse{Status: "ok"}, nil
}
