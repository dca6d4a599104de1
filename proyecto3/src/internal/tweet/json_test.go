package tweet

import (
	"strings"
	"testing"

	pb "tweetsdelclima/gen/wetherweetpb"
)

func TestParseJSONValid(t *testing.T) {
	for _, tc := range []struct {
		body string
		want Tweet
	}{
		{`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}`,
			Tweet{Municipality: pb.Municipalities_mixco, Temperature: 25, Humidity: 60, Weather: pb.Weathers_sunny}},
		{`{"weather":"foggy","humidity":0,"temperature":-50,"municipality":"chinautla"}`,
			Tweet{Municipality: pb.Municipalities_chinautla, Temperature: -50, Humidity: 0, Weather: pb.Weathers_foggy}},
		{` {"municipality":"amatitlan","temperature":60,"humidity":100,"weather":"rainy"} `,
			Tweet{Municipality: pb.Municipalities_amatitlan, Temperature: 60, Humidity: 100, Weather: pb.Weathers_rainy}},
		{`{"municipality":"guatemala","temperature":0,"humidity":1,"weather":"cloudy"}`,
			Tweet{Municipality: pb.Municipalities_guatemala, Temperature: 0, Humidity: 1, Weather: pb.Weathers_cloudy}},
	} {
		got, err := ParseJSON([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.body, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.body, got, tc.want)
		}
	}
}

func TestParseJSONInvalidNamesTheField(t *testing.T) {
	for _, tc := range []struct{ body, field string }{
		{``, "body"},
		{`not json`, "body"},
		{`[]`, "body"},
		{`null`, "body"},
		{`"mixco"`, "body"},
		{`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"} {}`, "body"},
		{`{"temperature":25,"humidity":60,"weather":"sunny"}`, "municipality"},
		{`{"municipality":"Mixco","temperature":25,"humidity":60,"weather":"sunny"}`, "municipality"},
		{`{"municipality":"municipalities_unknown","temperature":25,"humidity":60,"weather":"sunny"}`, "municipality"},
		{`{"municipality":1,"temperature":25,"humidity":60,"weather":"sunny"}`, "municipality"},
		{`{"municipality":null,"temperature":25,"humidity":60,"weather":"sunny"}`, "municipality"},
		{`{"municipality":"mixco","humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":25.5,"humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":25.0,"humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":2.5e1,"humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":"25","humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":61,"humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":-51,"humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":99999999999999999999,"humidity":60,"weather":"sunny"}`, "temperature"},
		{`{"municipality":"mixco","temperature":25,"humidity":101,"weather":"sunny"}`, "humidity"},
		{`{"municipality":"mixco","temperature":25,"humidity":-1,"weather":"sunny"}`, "humidity"},
		{`{"municipality":"mixco","temperature":25,"humidity":true,"weather":"sunny"}`, "humidity"},
		{`{"municipality":"mixco","temperature":25,"humidity":60}`, "weather"},
		{`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"snowy"}`, "weather"},
		{`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","humidty":3}`, "humidty"},
	} {
		_, err := ParseJSON([]byte(tc.body))
		if err == nil {
			t.Errorf("%s: accepted, want an error on %q", tc.body, tc.field)
			continue
		}
		if err.Field != tc.field {
			t.Errorf("%s: error names %q (%s), want %q", tc.body, err.Field, err.Message, tc.field)
		}
		if err.Message == "" {
			t.Errorf("%s: empty message", tc.body)
		}
	}
}

func TestProtoRoundTrip(t *testing.T) {
	in := Tweet{ID: NewID(), ReceivedAtMs: NowMs(), Municipality: pb.Municipalities_amatitlan, Temperature: -7, Humidity: 99, Weather: pb.Weathers_foggy}
	b, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Unmarshal(b, in.ID, in.ReceivedAtMs)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: %+v != %+v", out, in)
	}
	if _, err := Unmarshal([]byte{0xff, 0xff}, in.ID, in.ReceivedAtMs); err == nil {
		t.Fatal("garbage payload decoded")
	}
	if _, err := Unmarshal(b, "not-a-uuid", in.ReceivedAtMs); err == nil || !strings.Contains(err.Error(), "id") {
		t.Fatalf("bad id accepted: %v", err)
	}
	if _, err := Unmarshal(b, strings.ToUpper(in.ID), in.ReceivedAtMs); err == nil {
		t.Fatal("non-canonical id accepted")
	}
	unknown := in
	unknown.Weather = pb.Weathers_weathers_unknown
	b, _ = unknown.Marshal()
	if _, err := Unmarshal(b, in.ID, in.ReceivedAtMs); err == nil {
		t.Fatal("weathers_unknown accepted")
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}`))
	f.Add([]byte(`{"temperature":1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tw, err := ParseJSON(b)
		if err == nil {
			if verr := tw.Validate(); verr != nil {
				t.Fatalf("ParseJSON accepted an invalid tweet: %v", verr)
			}
		} else if err.Field == "" {
			t.Fatalf("error without a field: %v", err)
		}
	})
}

// FuzzParseJSONCommon checks parseCommon against the general parser: whatever the fast path
// accepts, the general one accepts with the same tweet.
func FuzzParseJSONCommon(f *testing.F) {
	for _, s := range []string{
		`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}`,
		` {"weather" : "foggy", "humidity":0,"temperature":-50,"municipality":"chinautla"}` + "\n",
		`{"municipality":"mixco","temperature":-0,"humidity":100,"weather":"rainy"}`,
		`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","weather":"rainy"}`,
		`{"municipality":"mixco","temperature":025,"humidity":60,"weather":"sunny"}`,
		`{"municipality":"mixco","temperature":25e0,"humidity":60,"weather":"sunny"}`,
		`{"municip\u0061lity":"mixco","temperature":25,"humidity":60,"weather":"sunny"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseCommon(b)
		if !ok {
			return
		}
		slow, err := parseGeneral(b)
		if err != nil {
			t.Fatalf("%q: fast path accepted %+v, general parser refused: %v", b, fast, err)
		}
		if fast != slow {
			t.Fatalf("%q: fast path %+v, general parser %+v", b, fast, slow)
		}
	})
}

// TestParseCommonTakesTheUsualBody makes sure the fast path is the one a client's body takes
// (every body the load generators send has this shape), and not a body it must leave alone.
func TestParseCommonTakesTheUsualBody(t *testing.T) {
	for body, want := range map[string]bool{
		`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}`:              true,
		`{"municipality": "amatitlan", "temperature": -7, "humidity": 100, "weather": "foggy"}`:  true,
		`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","extra":1}`:    false,
		`{"municipality":"mixco","temperature":25,"humidity":60}`:                                false,
		`{"municipality":"mixco","temperature":61,"humidity":60,"weather":"sunny"}`:              false,
		`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"} x`:            false,
		`{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny","humidity":1}`: false,
		`{"municipality":"mi\u0078co","temperature":25,"humidity":60,"weather":"sunny"}`:         false,
		`{"municipality":"mixco","temperature":2.5,"humidity":60,"weather":"sunny"}`:             false,
	} {
		if _, ok := parseCommon([]byte(body)); ok != want {
			t.Errorf("%s: fast path took it: %v, want %v", body, ok, want)
		}
	}
}

const usualBody = `{"municipality":"guatemala","temperature":23,"humidity":61,"weather":"cloudy"}`

// BenchmarkParseJSON is the validation of one usual REST body. Reproduce:
//
//	cd proyecto3/src && go test ./internal/tweet -run '^$' -bench ParseJSON -benchmem
func BenchmarkParseJSON(b *testing.B) {
	body := []byte(usualBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJSONGeneral is the same body through the general parser (any other shape).
func BenchmarkParseJSONGeneral(b *testing.B) {
	body := []byte(usualBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseGeneral(body); err != nil {
			b.Fatal(err)
		}
	}
}
