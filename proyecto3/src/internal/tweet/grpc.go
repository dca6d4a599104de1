package tweet

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "tweetsdelclima/gen/wetherweetpb"
)

// FromIncoming builds a validated tweet from a gRPC request and the x-tweet-id /
// x-received-at-ms metadata. When mint is true, missing identity is created here (an entry
// point); otherwise it is required (a writer). Errors are InvalidArgument naming the field.
func FromIncoming(ctx context.Context, req *pb.WeatherTweetRequest, mint bool) (Tweet, error) {
	first := func(k string) string { // reads the one key, without copying all the metadata
		if v := metadata.ValueFromIncomingContext(ctx, k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	id, recv := first(MetadataID), first(MetadataReceived)
	if mint && id == "" {
		id = NewID()
	}
	var ms int64
	if recv == "" && mint {
		ms = NowMs()
	} else {
		var ferr *FieldError
		if ms, ferr = ParseMs(recv); ferr != nil {
			return Tweet{}, status.Errorf(codes.InvalidArgument, "%s: %s", MetadataReceived, ferr.Message)
		}
	}
	if ferr := ValidateID(id); ferr != nil {
		return Tweet{}, status.Errorf(codes.InvalidArgument, "%s: %s", MetadataID, ferr.Message)
	}
	t, err := FromProto(req, id, ms)
	if err != nil {
		return Tweet{}, status.Error(codes.InvalidArgument, err.Error())
	}
	return t, nil
}
