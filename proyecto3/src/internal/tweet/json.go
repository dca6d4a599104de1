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
	if t, ok := parseCommon(body); ok {
		return t, nil
	}
	return parseGeneral(body)
}

// parseGeneral is ParseJSON for any body: every error it finds names its field.
func parseGeneral(body []byte) (Tweet, *FieldError) {
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

// parseCommon reads the shape every client sends: one flat object holding each of the four
// fields once, strings without escapes, integers in the contract's range. It allocates nothing.
// ok is false for anything else (another shape, an error), which the general parser then
// decides, so its results and its error messages are the only ones; FuzzParseJSONCommon checks
// that the two agree on every input this accepts.
func parseCommon(b []byte) (t Tweet, ok bool) {
	const (
		seenMunicipality = 1 << iota
		seenTemperature
		seenHumidity
		seenWeather
		seenAll = seenMunicipality | seenTemperature | seenHumidity | seenWeather
	)
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return Tweet{}, false
	}
	seen := 0
	for {
		var key []byte
		if key, i, ok = plainString(b, skipSpace(b, i+1)); !ok {
			return Tweet{}, false
		}
		if i = skipSpace(b, i); i == len(b) || b[i] != ':' {
			return Tweet{}, false
		}
		i = skipSpace(b, i+1)
		var bit int
		switch string(key) { // no allocation: the compiler compares in place
		case "municipality":
			if t.Municipality, i, ok = enumAt(b, i, municipalityByName); !ok {
				return Tweet{}, false
			}
			bit = seenMunicipality
		case "weather":
			if t.Weather, i, ok = enumAt(b, i, weatherByName); !ok {
				return Tweet{}, false
			}
			bit = seenWeather
		case "temperature":
			if t.Temperature, i, ok = integer(b, i, MinTemperature, MaxTemperature); !ok {
				return Tweet{}, false
			}
			bit = seenTemperature
		case "humidity":
			if t.Humidity, i, ok = integer(b, i, MinHumidity, MaxHumidity); !ok {
				return Tweet{}, false
			}
			bit = seenHumidity
		default:
			return Tweet{}, false
		}
		if seen&bit != 0 { // a repeated field: the general parser decides which value counts
			return Tweet{}, false
		}
		seen |= bit
		if i = skipSpace(b, i); i == len(b) {
			return Tweet{}, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return Tweet{}, false
		}
	}
	return t, seen == seenAll && skipSpace(b, i+1) == len(b)
}

// enumAt reads a plain string at b[i] that names one of values.
func enumAt[E any](b []byte, i int, values map[string]E) (v E, next int, ok bool) {
	name, next, ok := plainString(b, i)
	if !ok {
		return v, next, false
	}
	v, ok = values[string(name)] // no allocation: the map is indexed by the bytes
	return v, next, ok
}

// skipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] made only of printable ASCII without escapes (so its
// bytes are its value) and returns its contents and the index after it.
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i == len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, j, false
		}
	}
	return nil, len(b), false
}

// integer reads an integer literal at b[i] of the form integerLiteral accepts, followed by
// something that cannot continue a JSON number, and within lo..hi.
func integer(b []byte, i, lo, hi int) (n int32, next int, ok bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start, v := i, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 4 { // the contract's limits have at most 3 digits
		v = v*10 + int(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 3 || (digits > 1 && b[start] == '0') {
		return 0, i, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E' || (b[i] >= '0' && b[i] <= '9')) {
		return 0, i, false
	}
	if neg {
		v = -v
	}
	if v < lo || v > hi {
		return 0, i, false
	}
	return int32(v), i, true
}
