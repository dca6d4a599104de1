package gateway

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/tweet"
)

// GRPCServer is the gateway's gRPC entry (FORWARD=grpc in the api): the same fan-out as REST.
type GRPCServer struct {
	pb.UnimplementedWeatherTweetServiceServer
	Fanout *Fanout
}

// SendTweet validates the tweet, takes its identity from the metadata (or makes it), and
// answers OK only when both brokers hold it.
func (s *GRPCServer) SendTweet(ctx context.Context, req *pb.WeatherTweetRequest) (*pb.WeatherTweetResponse, error) {
	t, err := tweet.FromIncoming(ctx, req, true)
	if err != nil {
		return nil, err
	}
	if err := s.Fanout.Send(ctx, t); err != nil {
		var oe *OverloadedError
		if errors.As(err, &oe) {
			return nil, status.Error(codes.ResourceExhausted, err.Error())
		}
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &pb.WeatherTweetResponse{Status: "accepted"}, nil
}
