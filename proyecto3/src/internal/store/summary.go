package store

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/tweet"
)

// LatencyBuckets are the fields of broker:<b>:latency, in order (upper bounds in ms).
var LatencyBuckets = []string{"le_5", "le_10", "le_25", "le_50", "le_100", "le_250", "le_500", "le_1000", "le_2500", "le_5000", "le_inf"}

// Municipality is what the dashboard shows for one municipality.
type Municipality struct {
	Name           string
	Count          int64
	AvgTemperature string
	AvgHumidity    string
	Weather        map[string]int64
	Most, Least    string
	SeriesLen      int64
}

// Broker is the delivery record of one broker.
type Broker struct {
	Name         string
	Processed    int64
	First        int64
	Duplicates   int64
	LatencyAvgMs string
	LatencyMaxMs int64
	Histogram    map[string]int64
}

// Summary is everything the dashboard reads, read back from Valkey.
type Summary struct {
	Tweets                                                   int64
	TemperatureMax, TemperatureMin, HumidityMax, HumidityMin string // "" when there is no data
	WeatherCounts                                            map[string]int64
	Municipalities                                           []Municipality
	Brokers                                                  []Broker
	ThroughputSeconds, ThroughputTweets                      int64 // closed seconds in the throughput stream
}

// ReadSummary reads the dashboard's keys.
func ReadSummary(ctx context.Context, c rueidis.Client) (Summary, error) {
	var s Summary
	hash := func(key string) (map[string]string, error) {
		return c.Do(ctx, c.B().Hgetall().Key(key).Build()).AsStrMap()
	}
	g, err := hash("global:stats")
	if err != nil {
		return s, err
	}
	s.Tweets = atoi(g["tweets"])
	s.TemperatureMax, s.TemperatureMin = g["temperature_max"], g["temperature_min"]
	s.HumidityMax, s.HumidityMin = g["humidity_max"], g["humidity_min"]
	wc, err := hash("weather:counts")
	if err != nil {
		return s, err
	}
	s.WeatherCounts = atoiMap(wc)
	for _, m := range tweet.Municipalities {
		h, err := hash("municipality:" + m.String())
		if err != nil {
			return s, err
		}
		at, err := c.Do(ctx, c.B().Hget().Key("municipality:avg_temperature").Field(m.String()).Build()).ToString()
		if err != nil && !rueidis.IsRedisNil(err) {
			return s, err
		}
		ah, err := c.Do(ctx, c.B().Hget().Key("municipality:avg_humidity").Field(m.String()).Build()).ToString()
		if err != nil && !rueidis.IsRedisNil(err) {
			return s, err
		}
		n, err := c.Do(ctx, c.B().Xlen().Key("municipality:"+m.String()+":series").Build()).AsInt64()
		if err != nil {
			return s, err
		}
		mu := Municipality{Name: m.String(), Count: atoi(h["count"]), AvgTemperature: at, AvgHumidity: ah,
			Weather: map[string]int64{}, Most: h["weather_most"], Least: h["weather_least"], SeriesLen: n}
		for _, w := range tweet.Weathers {
			if v, ok := h[w.String()]; ok {
				mu.Weather[w.String()] = atoi(v)
			}
		}
		s.Municipalities = append(s.Municipalities, mu)
	}
	for _, b := range []string{broker.Kafka, broker.RabbitMQ} {
		h, err := hash("broker:" + b)
		if err != nil {
			return s, err
		}
		hist, err := hash("broker:" + b + ":latency")
		if err != nil {
			return s, err
		}
		s.Brokers = append(s.Brokers, Broker{Name: b, Processed: atoi(h["processed"]), First: atoi(h["first"]),
			Duplicates: atoi(h["duplicates"]), LatencyAvgMs: h["latency_avg_ms"], LatencyMaxMs: atoi(h["latency_max_ms"]),
			Histogram: atoiMap(hist)})
	}
	entries, err := c.Do(ctx, c.B().Xrange().Key("throughput").Start("-").End("+").Build()).AsXRange()
	if err != nil {
		return s, err
	}
	for _, e := range entries {
		s.ThroughputSeconds++
		s.ThroughputTweets += atoi(e.FieldValues["tweets"])
	}
	cur, err := hash("throughput:current")
	if err != nil {
		return s, err
	}
	if cur["tweets"] != "" {
		s.ThroughputSeconds++
		s.ThroughputTweets += atoi(cur["tweets"])
	}
	return s, nil
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func atoiMap(m map[string]string) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = atoi(v)
	}
	return out
}

func orNoData(s string) string {
	if s == "" {
		return "No data"
	}
	return s
}

// Print writes the summary as a person reads it.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "tweets stored (each counted once): %d\n", s.Tweets)
	fmt.Fprintf(w, "temperature max/min: %s / %s °C   humidity max/min: %s / %s %%\n",
		orNoData(s.TemperatureMax), orNoData(s.TemperatureMin), orNoData(s.HumidityMax), orNoData(s.HumidityMin))
	var wc []string
	for _, wt := range tweet.Weathers {
		wc = append(wc, fmt.Sprintf("%s=%d", wt, s.WeatherCounts[wt.String()]))
	}
	fmt.Fprintf(w, "reports per weather: %s\n\n", strings.Join(wc, " "))
	fmt.Fprintf(w, "%-10s %7s %9s %9s %-8s %-8s %7s\n", "municip.", "tweets", "avg temp", "avg hum", "most", "least", "series")
	for _, m := range s.Municipalities {
		fmt.Fprintf(w, "%-10s %7d %9s %9s %-8s %-8s %7d\n", m.Name, m.Count, orNoData(m.AvgTemperature), orNoData(m.AvgHumidity),
			orNoData(m.Most), orNoData(m.Least), m.SeriesLen)
	}
	fmt.Fprintf(w, "\n%-9s %10s %10s %10s %9s %9s\n", "broker", "processed", "first", "duplicate", "avg ms", "max ms")
	for _, b := range s.Brokers {
		fmt.Fprintf(w, "%-9s %10d %10d %10d %9s %9d\n", b.Name, b.Processed, b.First, b.Duplicates, orNoData(b.LatencyAvgMs), b.LatencyMaxMs)
	}
	fmt.Fprintf(w, "\nthroughput stream: %d tweets over %d seconds\n", s.ThroughputTweets, s.ThroughputSeconds)
}
