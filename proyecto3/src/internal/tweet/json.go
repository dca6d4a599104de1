package tweet

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
)

var integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,9})$`)

var knownFields = map[string]bool{"municipality": true, "temperature": true, "humidity": true, "weather": true}

// ParseJSON validates a REST body (DESIGN.md, "REST contract") and returns the tweet without
// identity. Every error names the offending field; "body" when the JSON itself is wrong.
// Integers must be written as integers: 25.0, 2.5e1 and "25" are rejected. Unknown fields are
// rejected so that a typo ("humidty") is reported, not silently ignored.
func ParseJSON(body []byte) (Tweet, *FieldError) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return Tweet{}, fieldErr("body", "must be a JSON object: %v", err)
	}
	if raw == nil {
		return Tweet{}, fieldErr("body", "must be a JSON object")
	}
	if dec.More() {
		return Tweet{}, fieldErr("body", "must hold exactly one JSON object")
	}
	var t Tweet
	name, ferr := stringField(raw, "municipality")
	if ferr != nil {
		return Tweet{}, ferr
	}
	var ok bool
	if t.Municipality, ok = ParseMunicipality(name); !ok {
		return Tweet{}, fieldErr("municipality", "must be one of mixco, guatemala, amatitlan, chinautla")
	}
	if t.Temperature, ferr = intField(raw, "temperature", MinTemperature, MaxTemperature); ferr != nil {
		return Tweet{}, ferr
	}
	if t.Humidity, ferr = intField(raw, "humidity", MinHumidity, MaxHumidity); ferr != nil {
		return Tweet{}, ferr
	}
	if name, ferr = stringField(raw, "weather"); ferr != nil {
		return Tweet{}, ferr
	}
	if t.Weather, ok = ParseWeather(name); !ok {
		return Tweet{}, fieldErr("weather", "must be one of sunny, cloudy, rainy, foggy")
	}
	var unknown []string
	for k := range raw {
		if !knownFields[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Tweet{}, fieldErr(unknown[0], "is not a field of a tweet")
	}
	return t, nil
}

func stringField(raw map[string]json.RawMessage, name string) (string, *FieldError) {
	v, present := raw[name]
	if !present {
		return "", fieldErr(name, "is required")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return "", fieldErr(name, "must be a string")
	}
	return s, nil
}

func intField(raw map[string]json.RawMessage, name string, lo, hi int) (int32, *FieldError) {
	v, present := raw[name]
	if !present {
		return 0, fieldErr(name, "is required")
	}
	lit := string(bytes.TrimSpace(v))
	if !integerLiteral.MatchString(lit) {
		return 0, fieldErr(name, "must be an integer between %d and %d", lo, hi)
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, fieldErr(name, "must be an integer between %d and %d", lo, hi)
	}
	return int32(n), nil
}
