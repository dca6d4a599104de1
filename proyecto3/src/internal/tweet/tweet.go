// Package tweet holds the weather tweet as it travels through the pipeline: its validation
// (the REST contract), its mapping to and from the statement's protobuf message, and the names
// under which its identity travels on every wire (HTTP headers, gRPC metadata, broker headers).
package tweet

import (
	"fmt"

	pb "tweetsdelclima/gen/wetherweetpb"

	"google.golang.org/protobuf/proto"
)

// Limits of the REST contract (DESIGN.md, "REST contract").
const (
	MinTemperature = -50
	MaxTemperature = 60
	MinHumidity    = 0
	MaxHumidity    = 100
	// MaxBodyBytes is the largest accepted request body; larger is 413.
	MaxBodyBytes = 4 << 10
)

// Names of the tweet's identity on each wire (docs/contracts.md, "Tweet identity on the wire").
const (
	HeaderID         = "X-Tweet-Id"
	HeaderReceivedAt = "X-Received-At-Ms"
	MetadataID       = "x-tweet-id"
	MetadataReceived = "x-received-at-ms"
	BrokerHeaderID   = "tweet-id"
	BrokerHeaderRecv = "received-at-ms"
	ContentType      = "application/x-protobuf"
)

// Tweet is one weather report with the identity the api gave it.
type Tweet struct {
	ID           string
	ReceivedAtMs int64
	Municipality pb.Municipalities
	Temperature  int32
	Humidity     int32
	Weather      pb.Weathers
}

// Municipalities and Weathers list the accepted values in the proto's enum order.
var (
	Municipalities = []pb.Municipalities{pb.Municipalities_mixco, pb.Municipalities_guatemala, pb.Municipalities_amatitlan, pb.Municipalities_chinautla}
	Weathers       = []pb.Weathers{pb.Weathers_sunny, pb.Weathers_cloudy, pb.Weathers_rainy, pb.Weathers_foggy}
)

// FieldError says which field of a tweet is wrong and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Names of the accepted values, as in the proto (lower case).
var (
	municipalityByName = byName(Municipalities)
	weatherByName      = byName(Weathers)
)

func byName[E interface {
	comparable
	String() string
}](values []E) map[string]E {
	m := make(map[string]E, len(values))
	for _, v := range values {
		m[v.String()] = v
	}
	return m
}

// ParseMunicipality maps a lower-case name (as in the proto) to its enum value.
func ParseMunicipality(name string) (pb.Municipalities, bool) {
	m, ok := municipalityByName[name]
	return m, ok
}

// ParseWeather maps a lower-case name (as in the proto) to its enum value.
func ParseWeather(name string) (pb.Weathers, bool) {
	w, ok := weatherByName[name]
	return w, ok
}

// Validate checks the fields of a tweet against the contract (not its identity).
func (t Tweet) Validate() *FieldError {
	if _, ok := ParseMunicipality(t.Municipality.String()); !ok {
		return fieldErr("municipality", "must be one of mixco, guatemala, amatitlan, chinautla")
	}
	if t.Temperature < MinTemperature || t.Temperature > MaxTemperature {
		return fieldErr("temperature", "must be an integer between %d and %d", MinTemperature, MaxTemperature)
	}
	if t.Humidity < MinHumidity || t.Humidity > MaxHumidity {
		return fieldErr("humidity", "must be an integer between %d and %d", MinHumidity, MaxHumidity)
	}
	if _, ok := ParseWeather(t.Weather.String()); !ok {
		return fieldErr("weather", "must be one of sunny, cloudy, rainy, foggy")
	}
	return nil
}

// ToProto returns the statement's message for t.
func (t Tweet) ToProto() *pb.WeatherTweetRequest {
	return &pb.WeatherTweetRequest{
		Municipality: t.Municipality,
		Temperature:  t.Temperature,
		Humidity:     t.Humidity,
		Weather:      t.Weather,
	}
}

// FromProto builds a validated tweet from the statement's message and the identity that
// travelled beside it.
func FromProto(m *pb.WeatherTweetRequest, id string, receivedAtMs int64) (Tweet, error) {
	t := Tweet{
		ID:           id,
		ReceivedAtMs: receivedAtMs,
		Municipality: m.GetMunicipality(),
		Temperature:  m.GetTemperature(),
		Humidity:     m.GetHumidity(),
		Weather:      m.GetWeather(),
	}
	if err := ValidateID(id); err != nil {
		return Tweet{}, err
	}
	if receivedAtMs <= 0 {
		return Tweet{}, fieldErr("received_at_ms", "must be a positive Unix time in milliseconds")
	}
	if err := t.Validate(); err != nil {
		return Tweet{}, err
	}
	return t, nil
}

// Marshal encodes the tweet's fields as the protobuf payload carried by the brokers.
func (t Tweet) Marshal() ([]byte, error) { return proto.Marshal(t.ToProto()) }

// Unmarshal decodes a broker payload and attaches the identity from the broker's headers.
func Unmarshal(payload []byte, id string, receivedAtMs int64) (Tweet, error) {
	var m pb.WeatherTweetRequest
	if err := proto.Unmarshal(payload, &m); err != nil {
		return Tweet{}, fmt.Errorf("decode payload: %w", err)
	}
	return FromProto(&m, id, receivedAtMs)
}
