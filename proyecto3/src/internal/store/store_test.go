package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/store"
	"tweetsdelclima/internal/testenv"
	"tweetsdelclima/internal/tweet"
)

func saveInBatches(t *testing.T, s *store.Store, brokerName string, tweets []tweet.Tweet, size int) int {
	t.Helper()
	total := 0
	for i := 0; i < len(tweets); i += size {
		n, err := s.Save(context.Background(), brokerName, tweets[i:min(i+size, len(tweets))])
		if err != nil {
			t.Fatalf("save via %s: %v", brokerName, err)
		}
		total += n
	}
	return total
}

// Both brokers deliver every tweet, in different batches and orders, and one batch is retried:
// every aggregate must equal the value computed independently from the distinct tweets.
func TestSaveCountsEachTweetOnceAndAggregatesMatch(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBStore)
	s := store.New(c, store.Options{})
	tweets := testenv.RandomTweets(7, 600)

	if n := saveInBatches(t, s, "kafka", tweets, 37); n != len(tweets) {
		t.Fatalf("kafka first delivery: %d new, want %d", n, len(tweets))
	}
	reversed := make([]tweet.Tweet, len(tweets))
	for i, tw := range tweets {
		reversed[len(tweets)-1-i] = tw
	}
	if n := saveInBatches(t, s, "rabbitmq", reversed, 50); n != 0 {
		t.Fatalf("rabbitmq delivered the same tweets: %d counted as new, want 0", n)
	}
	if n := saveInBatches(t, s, "kafka", tweets[100:137], 37); n != 0 { // a retried batch
		t.Fatalf("retried batch: %d new, want 0", n)
	}

	sum, err := store.ReadSummary(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.Compute(tweets)
	if sum.Tweets != e.Tweets {
		t.Errorf("tweets = %d, want %d", sum.Tweets, e.Tweets)
	}
	itoa := func(v int32) string { return strconv.Itoa(int(v)) }
	for name, pair := range map[string][2]string{
		"temperature_max": {sum.TemperatureMax, itoa(e.TemperatureMax)},
		"temperature_min": {sum.TemperatureMin, itoa(e.TemperatureMin)},
		"humidity_max":    {sum.HumidityMax, itoa(e.HumidityMax)},
		"humidity_min":    {sum.HumidityMin, itoa(e.HumidityMin)},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %q, want %q", name, pair[0], pair[1])
		}
	}
	for _, w := range tweet.Weathers {
		if got, want := sum.WeatherCounts[w.String()], e.WeatherCounts[w.String()]; got != want {
			t.Errorf("weather:counts %s = %d, want %d", w, got, want)
		}
	}
	for _, m := range sum.Municipalities {
		if m.Count != e.Count[m.Name] || m.AvgTemperature != e.AvgTemperature[m.Name] || m.AvgHumidity != e.AvgHumidity[m.Name] {
			t.Errorf("%s: count/avg temp/avg hum = %d/%s/%s, want %d/%s/%s", m.Name, m.Count, m.AvgTemperature, m.AvgHumidity,
				e.Count[m.Name], e.AvgTemperature[m.Name], e.AvgHumidity[m.Name])
		}
		if m.Most != e.Most[m.Name] || m.Least != e.Least[m.Name] {
			t.Errorf("%s: most/least = %s/%s, want %s/%s", m.Name, m.Most, m.Least, e.Most[m.Name], e.Least[m.Name])
		}
		for _, w := range tweet.Weathers {
			if m.Weather[w.String()] != e.MunicipalityWeather[m.Name][w.String()] {
				t.Errorf("%s %s = %d, want %d", m.Name, w, m.Weather[w.String()], e.MunicipalityWeather[m.Name][w.String()])
			}
		}
		if m.SeriesLen != int64(len(e.Series[m.Name])) {
			t.Errorf("%s series has %d points, want %d", m.Name, m.SeriesLen, len(e.Series[m.Name]))
		}
	}
	byName := map[string]store.Broker{}
	for _, b := range sum.Brokers {
		byName[b.Name] = b
	}
	k, r := byName["kafka"], byName["rabbitmq"]
	if k.First+r.First != e.Tweets || k.First != e.Tweets {
		t.Errorf("first: kafka %d + rabbitmq %d, want %d + 0", k.First, r.First, e.Tweets)
	}
	if k.Processed != int64(len(tweets)+37) || r.Processed != int64(len(tweets)) {
		t.Errorf("processed: kafka %d rabbitmq %d, want %d and %d", k.Processed, r.Processed, len(tweets)+37, len(tweets))
	}
	if k.Duplicates != 37 || r.Duplicates != int64(len(tweets)) {
		t.Errorf("duplicates: kafka %d rabbitmq %d", k.Duplicates, r.Duplicates)
	}
	var hist int64
	for _, v := range k.Histogram {
		hist += v
	}
	if hist != k.Processed {
		t.Errorf("kafka latency histogram holds %d deliveries, want %d", hist, k.Processed)
	}
	if sum.ThroughputTweets != e.Tweets {
		t.Errorf("throughput stream + current second count %d tweets, want %d", sum.ThroughputTweets, e.Tweets)
	}
}

// The per-broker latency figures: the maximum survives a later batch of faster deliveries, the
// average covers every delivery, and each delivery lands in its histogram bucket.
func TestBrokerLatencyMaxAverageAndBuckets(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBStore)
	s := store.New(c, store.Options{})
	slow := testenv.RandomTweets(13, 10)
	fast := testenv.RandomTweets(14, 30)
	now := tweet.NowMs()
	for i := range slow {
		slow[i].ReceivedAtMs = now - 3000 // 3 s old: bucket le_5000
	}
	for i := range fast {
		fast[i].ReceivedAtMs = now - 300 // bucket le_500 (le_1000 if this test stalls for 200 ms)
	}
	saveInBatches(t, s, "kafka", slow, 10)
	saveInBatches(t, s, "kafka", fast, 30)
	saveInBatches(t, s, "kafka", slow[:5], 5) // redelivered: counted as deliveries, not as tweets

	sum, err := store.ReadSummary(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var k store.Broker
	for _, b := range sum.Brokers {
		if b.Name == "kafka" {
			k = b
		}
	}
	elapsed := tweet.NowMs() - now // how much later than now the script can have read the clock
	if k.LatencyMaxMs < 3000 || k.LatencyMaxMs > 3000+elapsed {
		t.Errorf("latency_max_ms = %d, want 3000..%d (the slow batch's)", k.LatencyMaxMs, 3000+elapsed)
	}
	avg, err := strconv.ParseFloat(k.LatencyAvgMs, 64)
	if err != nil {
		t.Fatalf("latency_avg_ms %q: %v", k.LatencyAvgMs, err)
	}
	// 15 deliveries 3 s old and 30 deliveries 0.3 s old.
	if lo, hi := (15*3000.0+30*300)/45, (15*3000.0+30*300)/45+float64(elapsed); avg < lo || avg > hi {
		t.Errorf("latency_avg_ms = %.1f, want %.1f..%.1f", avg, lo, hi)
	}
	if k.Histogram["le_5000"] != 15 {
		t.Errorf("bucket le_5000 holds %d deliveries, want the 15 slow ones (histogram %v)", k.Histogram["le_5000"], k.Histogram)
	}
	if k.Processed != 45 || k.First != 40 || k.Duplicates != 5 {
		t.Errorf("processed/first/duplicates = %d/%d/%d, want 45/40/5", k.Processed, k.First, k.Duplicates)
	}
}

// The series keeps the arrival order and the values of each municipality's tweets.
func TestSeriesPointsInOrder(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBStore)
	s := store.New(c, store.Options{})
	tweets := testenv.RandomTweets(11, 120)
	saveInBatches(t, s, "rabbitmq", tweets, 16)
	e := testenv.Compute(tweets)
	for _, m := range tweet.Municipalities {
		entries, err := c.Do(context.Background(), c.B().Xrange().Key("municipality:"+m.String()+":series").Start("-").End("+").Build()).AsXRange()
		if err != nil {
			t.Fatal(err)
		}
		want := e.Series[m.String()]
		if len(entries) != len(want) {
			t.Fatalf("%s: %d points, want %d", m, len(entries), len(want))
		}
		for i, en := range entries {
			if en.FieldValues["temperature"] != strconv.Itoa(int(want[i][0])) || en.FieldValues["humidity"] != strconv.Itoa(int(want[i][1])) {
				t.Fatalf("%s point %d = %v, want %v", m, i, en.FieldValues, want[i])
			}
		}
	}
}

// The throughput of a second is appended to the stream once that second has passed (tick).
func TestTickClosesTheSecond(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBStore)
	s := store.New(c, store.Options{})
	saveInBatches(t, s, "kafka", testenv.RandomTweets(3, 25), 25)
	time.Sleep(1100 * time.Millisecond)
	if err := s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := c.Do(context.Background(), c.B().Xrange().Key("throughput").Start("-").End("+").Build()).AsXRange()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].FieldValues["tweets"] != "25" {
		t.Fatalf("throughput stream = %+v, want one entry of 25 tweets", entries)
	}
	if n, _ := c.Do(context.Background(), c.B().Exists().Key("throughput:current").Build()).AsInt64(); n != 0 {
		t.Fatalf("throughput:current still exists after the tick closed its second")
	}
}

// A batch with an invalid tweet changes nothing.
func TestInvalidBatchChangesNothing(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBStore)
	s := store.New(c, store.Options{})
	tweets := testenv.RandomTweets(5, 3)
	tweets[2].Weather = pb.Weathers_weathers_unknown
	if _, err := s.Save(context.Background(), "kafka", tweets); err == nil {
		t.Fatal("a batch with an unknown weather was accepted")
	}
	if _, err := s.Save(context.Background(), "pulsar", tweets[:1]); err == nil {
		t.Fatal("an unknown broker name was accepted")
	}
	keys, err := c.Do(context.Background(), c.B().Keys().Pattern("*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("rejected batches wrote keys: %v", keys)
	}
}

func TestEmptyDatabaseSummaryHasNoData(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBStore)
	sum, err := store.ReadSummary(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tweets != 0 || sum.TemperatureMax != "" || sum.Municipalities[0].Most != "" || sum.ThroughputSeconds != 0 {
		t.Fatalf("empty database summary = %+v", sum)
	}
}
