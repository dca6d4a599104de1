package writer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/tweet"
)

type fakePublisher struct {
	got []tweet.Tweet
	err error
}

func (f *fakePublisher) Publish(ctx context.Context, t tweet.Tweet) error {
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, t)
	return nil
}
func (f *fakePublisher) Check(context.Context) error { return nil }
func (f *fakePublisher) Close() error                { return nil }

var req = &pb.WeatherTweetRequest{Municipality: pb.Municipalities_chinautla, Temperature: 18, Humidity: 70, Weather: pb.Weathers_cloudy}

func withIdentity(id, ms string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(tweet.MetadataID, id, tweet.MetadataReceived, ms))
}

func TestPublishesWithTheIdentityFromMetadata(t *testing.T) {
	pub := &fakePublisher{}
	s := &Server{Broker: "kafka", Publisher: pub, Timeout: time.Second}
	id := tweet.NewID()
	resp, err := s.SendTweet(withIdentity(id, "1700000000123"), req)
	if err != nil || resp.GetStatus() != "ok" {
		t.Fatalf("SendTweet: %v %v", resp, err)
	}
	if len(pub.got) != 1 || pub.got[0].ID != id || pub.got[0].ReceivedAtMs != 1700000000123 || pub.got[0].Humidity != 70 {
		t.Fatalf("published %+v", pub.got)
	}
}

func TestRejectsMissingIdentityAndBadFields(t *testing.T) {
	pub := &fakePublisher{}
	s := &Server{Broker: "kafka", Publisher: pub, Timeout: time.Second}
	for name, tc := range map[string]struct {
		ctx  context.Context
		req  *pb.WeatherTweetRequest
		want string
	}{
		"no metadata":      {context.Background(), req, tweet.MetadataReceived},
		"bad id":           {withIdentity("x", "1"), req, tweet.MetadataID},
		"unknown weather":  {withIdentity(tweet.NewID(), "1"), &pb.WeatherTweetRequest{Municipality: 1, Temperature: 1, Humidity: 1}, "weather"},
		"humidity too big": {withIdentity(tweet.NewID(), "1"), &pb.WeatherTweetRequest{Municipality: 1, Temperature: 1, Humidity: 101, Weather: 1}, "humidity"},
	} {
		_, err := s.SendTweet(tc.ctx, tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want InvalidArgument naming %s", name, err, tc.want)
		}
	}
	if len(pub.got) != 0 {
		t.Fatalf("invalid requests were published: %+v", pub.got)
	}
}

func TestBrokerFailureIsUnavailableAndTimeoutIsDeadlineExceeded(t *testing.T) {
	s := &Server{Broker: "rabbitmq", Publisher: &fakePublisher{err: errors.New("nacked")}, Timeout: time.Second}
	if _, err := s.SendTweet(withIdentity(tweet.NewID(), "1"), req); status.Code(err) != codes.Unavailable {
		t.Fatalf("broker error: %v, want Unavailable", err)
	}
	s.Publisher = &fakePublisher{err: context.DeadlineExceeded}
	if _, err := s.SendTweet(withIdentity(tweet.NewID(), "1"), req); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("timeout: %v, want DeadlineExceeded", err)
	}
}
