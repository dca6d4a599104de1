package dashboard

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"tweetsdelclima/internal/store"
	"tweetsdelclima/internal/testenv"
	"tweetsdelclima/internal/tweet"
)

func jsonUnmarshal(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// eachQuery calls f for every query of every panel, once per value of the variables the query
// uses (a query without variables runs once).
func eachQuery(t *testing.T, m Model, f func(p Panel, q Query, vars map[string]string)) {
	t.Helper()
	for _, p := range m.DataPanels() {
		for _, q := range p.Targets {
			if strings.Contains(q.KeyName+q.Field, "$") {
				for _, vars := range varValues(t, m) {
					f(p, q, vars)
				}
			} else {
				f(p, q, map[string]string{"carnet": DefaultCarnet})
			}
		}
	}
}

// An empty database (what the grading starts from, and what `tweetsctl reset --yes` leaves)
// answers every panel's command with nothing, so every data panel shows "No data".
func TestEmptyDatabaseGivesNoDataEverywhere(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBDashboard)
	ctx := context.Background()
	m := model(t)
	tr := TimeRange{From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(time.Minute)}
	n := 0
	eachQuery(t, m, func(p Panel, q Query, vars map[string]string) {
		n++
		r, err := Run(ctx, c, q, vars, tr)
		if err != nil {
			t.Fatalf("panel %q: %v", p.Title, err)
		}
		if !r.Empty() {
			t.Errorf("panel %q: %v answered %v on an empty database", p.Title, r.Command, r.Reply)
		}
		switch q.Command {
		case CmdHGetAll:
			if len(r.Frame.Fields) != 0 {
				t.Errorf("panel %q: frame %+v, want no fields", p.Title, r.Frame)
			}
		case CmdXRange:
			if r.Frame.Rows() != 0 {
				t.Errorf("panel %q: %d rows", p.Title, r.Frame.Rows())
			}
		case CmdHGet:
			// the plugin's frame: one string field holding "" (hidden by checkNoDataGuard's rules)
			f := r.Frame.Fields[0]
			if f.IsNumber() || len(f.Strings) != 1 || f.Strings[0] != "" {
				t.Errorf("panel %q: frame %+v, want one empty string", p.Title, r.Frame)
			}
		}
	})
	if n < 25 {
		t.Fatalf("only %d queries ran", n)
	}
	page, err := RenderPreview(ctx, c, PreviewOptions{Carnet: DefaultCarnet})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(page, `class="nodata"`), len(m.DataPanels()); got != want {
		t.Errorf("preview of an empty database: %d panels say No data, want %d", got, want)
	}
}

// expected holds what every panel must show, computed here from the tweets sent, independently
// of the consumers' script.
type expected struct {
	count                  map[string]int
	tempSum, humSum        map[string]int
	weather                map[string]int
	byMunWeather           map[string]map[string]int
	series                 map[string][][2]float64
	tMax, tMin, hMax, hMin int
	processed, first       map[string]int
	distinct               int
}

func newExpected() *expected {
	return &expected{
		count: map[string]int{}, tempSum: map[string]int{}, humSum: map[string]int{}, weather: map[string]int{},
		byMunWeather: map[string]map[string]int{}, series: map[string][][2]float64{},
		tMax: math.MinInt, tMin: math.MaxInt, hMax: math.MinInt, hMin: math.MaxInt,
		processed: map[string]int{}, first: map[string]int{},
	}
}

func (e *expected) deliver(brokerName string, batch []tweet.Tweet, seen map[string]bool) {
	for _, tw := range batch {
		e.processed[brokerName]++
		if seen[tw.ID] {
			continue
		}
		seen[tw.ID] = true
		e.first[brokerName]++
		e.distinct++
		mun, w := tw.Municipality.String(), tw.Weather.String()
		e.count[mun]++
		e.tempSum[mun] += int(tw.Temperature)
		e.humSum[mun] += int(tw.Humidity)
		e.weather[w]++
		if e.byMunWeather[mun] == nil {
			e.byMunWeather[mun] = map[string]int{}
		}
		e.byMunWeather[mun][w]++
		e.series[mun] = append(e.series[mun], [2]float64{float64(tw.Temperature), float64(tw.Humidity)})
		e.tMax, e.tMin = max(e.tMax, int(tw.Temperature)), min(e.tMin, int(tw.Temperature))
		e.hMax, e.hMin = max(e.hMax, int(tw.Humidity)), min(e.hMin, int(tw.Humidity))
	}
}

// mostLeast: among the four conditions, zero counts included; ties go to the first in the
// proto's order (contracts.md, "Rules").
func (e *expected) mostLeast(mun string) (string, string) {
	most, least := "", ""
	for _, w := range Weathers {
		n := e.byMunWeather[mun][w]
		if most == "" || n > e.byMunWeather[mun][most] {
			most = w
		}
		if least == "" || n < e.byMunWeather[mun][least] {
			least = w
		}
	}
	return most, least
}

// testTweets is a fixed, varied set: every municipality, both ties and never-reported
// conditions (chinautla never reports rainy or foggy; amatitlan has sunny and cloudy tied).
func testTweets() []tweet.Tweet {
	rng := rand.New(rand.NewPCG(6, 2026))
	plan := map[string]map[string]int{
		"mixco":     {"sunny": 9, "cloudy": 14, "rainy": 5, "foggy": 2},
		"guatemala": {"sunny": 11, "cloudy": 3, "rainy": 20, "foggy": 7},
		"amatitlan": {"sunny": 8, "cloudy": 8, "rainy": 1, "foggy": 3},
		"chinautla": {"sunny": 6, "cloudy": 13},
	}
	var out []tweet.Tweet
	now := time.Now().UnixMilli()
	for _, mun := range Municipalities {
		for _, w := range Weathers {
			for i := 0; i < plan[mun][w]; i++ {
				m, _ := tweet.ParseMunicipality(mun)
				wv, _ := tweet.ParseWeather(w)
				out = append(out, tweet.Tweet{
					ID: tweet.NewID(), ReceivedAtMs: now - int64(rng.IntN(500)),
					Municipality: m, Weather: wv,
					Temperature: int32(rng.IntN(tweet.MaxTemperature-tweet.MinTemperature+1) + tweet.MinTemperature),
					Humidity:    int32(rng.IntN(tweet.MaxHumidity + 1)),
				})
			}
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// load writes tweets through the consumers' code (internal/store), delivered by both brokers
// in alternating order plus redeliveries, as the pipeline does, and returns what the dashboard
// must show.
func load(t *testing.T, ctx context.Context, c rueidis.Client, tweets []tweet.Tweet) *expected {
	t.Helper()
	s := store.New(c, store.Options{})
	exp := newExpected()
	seen := map[string]bool{}
	save := func(b string, batch []tweet.Tweet) {
		if _, err := s.Save(ctx, b, batch); err != nil {
			t.Fatalf("store.Save(%s): %v", b, err)
		}
		exp.deliver(b, batch, seen)
	}
	const size = 17
	for i := 0; i < len(tweets); i += size {
		batch := tweets[i:min(i+size, len(tweets))]
		if (i/size)%2 == 0 {
			save("kafka", batch)
			save("rabbitmq", batch)
		} else {
			save("rabbitmq", batch)
			save("kafka", batch)
		}
		if i/size == 3 {
			time.Sleep(1100 * time.Millisecond) // at least two seconds of throughput
		}
	}
	save("kafka", tweets[:5]) // a redelivery: counted as processed, not as new
	// Close the last throughput second: the consumers tick every second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	return exp
}

func number(t *testing.T, p Panel, r Result, field string) float64 {
	t.Helper()
	f, ok := r.Frame.Field(field)
	if !ok || !f.IsNumber() || len(f.Numbers) != 1 {
		t.Fatalf("panel %q %v: field %q not one number in %+v", p.Title, r.Command, field, r.Frame)
	}
	return f.Numbers[0]
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// After a known set of tweets is written by the consumers' code, every panel's query, sent
// exactly as the plugin sends it, returns what is computed here from the tweets.
func TestEveryPanelShowsTheTweetsWritten(t *testing.T) {
	c := testenv.Valkey(t, testenv.DBDashboard)
	ctx := context.Background()
	start := time.Now()
	tweets := testTweets()
	exp := load(t, ctx, c, tweets)
	tr := TimeRange{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)}
	m := model(t)

	checked := map[string]bool{}
	eachQuery(t, m, func(p Panel, q Query, vars map[string]string) {
		r, err := Run(ctx, c, q, vars, tr)
		if err != nil {
			t.Fatalf("panel %q: %v", p.Title, err)
		}
		if r.Empty() {
			t.Errorf("panel %q: %v answered nothing after a load", p.Title, r.Command)
			return
		}
		mun := vars["municipality"]
		id := q.Command + " " + q.KeyName + " " + q.Field
		checked[id] = true
		switch {
		case q.KeyName == "municipality:avg_temperature" || q.KeyName == "municipality:avg_humidity":
			sums := exp.tempSum
			if q.KeyName == "municipality:avg_humidity" {
				sums = exp.humSum
			}
			if len(r.Frame.Fields) != len(Municipalities) {
				t.Errorf("panel %q: %d bars, want %d", p.Title, len(r.Frame.Fields), len(Municipalities))
			}
			for _, mu := range Municipalities {
				want := float64(sums[mu]) / float64(exp.count[mu])
				if got := number(t, p, r, mu); !near(got, want, 0.005+1e-9) {
					t.Errorf("panel %q %s: %v, want %.4f (two decimals)", p.Title, mu, got, want)
				}
			}
		case q.KeyName == "weather:counts":
			for _, w := range Weathers {
				if got := number(t, p, r, w); got != float64(exp.weather[w]) {
					t.Errorf("panel %q %s: %v, want %d", p.Title, w, got, exp.weather[w])
				}
			}
		case q.KeyName == "global:stats":
			want := map[string]int{"temperature_max": exp.tMax, "temperature_min": exp.tMin, "humidity_max": exp.hMax, "humidity_min": exp.hMin, "tweets": exp.distinct}[q.Field]
			if got := number(t, p, r, q.Field); got != float64(want) {
				t.Errorf("panel %q: %v, want %d", p.Title, got, want)
			}
		case q.KeyName == "municipality:$municipality" && q.Field == "count":
			if got := number(t, p, r, "count"); got != float64(exp.count[mun]) {
				t.Errorf("panel %q (%s): %v, want %d", p.Title, mun, got, exp.count[mun])
			}
		case q.KeyName == "municipality:$municipality":
			most, least := exp.mostLeast(mun)
			want := map[string]string{"weather_most": most, "weather_least": least}[q.Field]
			f, ok := r.Frame.Field(q.Field)
			if !ok || len(f.Strings) != 1 || f.Strings[0] != want {
				t.Errorf("panel %q (%s): %+v, want %q", p.Title, mun, r.Frame, want)
			}
		case q.KeyName == "municipality:$municipality:series":
			temp, _ := r.Frame.Field("temperature")
			hum, _ := r.Frame.Field("humidity")
			want := exp.series[mun]
			if r.Frame.Rows() != len(want) || len(temp.Numbers) != len(want) || len(hum.Numbers) != len(want) {
				t.Errorf("panel %q (%s): %d points, want %d", p.Title, mun, r.Frame.Rows(), len(want))
				return
			}
			for i, w := range want {
				if temp.Numbers[i] != w[0] || hum.Numbers[i] != w[1] {
					t.Errorf("panel %q (%s) point %d: (%v, %v), want %v", p.Title, mun, i, temp.Numbers[i], hum.Numbers[i], w)
				}
			}
			tf, _ := r.Frame.Field("$time")
			for i := range tf.Times {
				if tf.Times[i].Before(tr.From) || tf.Times[i].After(tr.To) || (i > 0 && tf.Times[i].Before(tf.Times[i-1])) {
					t.Errorf("panel %q: point %d at %v outside the range or out of order", p.Title, i, tf.Times[i])
				}
			}
		case strings.HasPrefix(q.KeyName, "broker:") && strings.HasSuffix(q.KeyName, ":latency"):
			b := strings.TrimSuffix(strings.TrimPrefix(q.KeyName, "broker:"), ":latency")
			total := 0.0
			for _, f := range r.Frame.Fields {
				if !f.IsNumber() || !containsStr(LatencyBuckets, f.Name) {
					t.Errorf("panel %q: unexpected bucket %+v", p.Title, f)
					continue
				}
				total += f.Numbers[0]
			}
			if total != float64(exp.processed[b]) {
				t.Errorf("panel %q: buckets sum to %v, want %d deliveries", p.Title, total, exp.processed[b])
			}
		case strings.HasPrefix(q.KeyName, "broker:"):
			b := strings.TrimPrefix(q.KeyName, "broker:")
			got := number(t, p, r, q.Field)
			switch q.Field {
			case "processed":
				if got != float64(exp.processed[b]) {
					t.Errorf("panel %q %s: %v, want %d", p.Title, b, got, exp.processed[b])
				}
			case "first":
				if got != float64(exp.first[b]) {
					t.Errorf("panel %q %s: %v, want %d", p.Title, b, got, exp.first[b])
				}
			case "latency_avg_ms":
				// received-at is up to 0.5 s before the load; the load lasts a few seconds
				if elapsed := time.Since(start).Milliseconds() + 600; got < 0 || got > float64(elapsed) {
					t.Errorf("panel %q %s: %v ms, want within [0, %d]", p.Title, b, got, elapsed)
				}
			default:
				t.Errorf("panel %q: no check for field %s", p.Title, q.Field)
			}
		case q.KeyName == "throughput":
			tw, ok := r.Frame.Field("tweets")
			if !ok || r.Frame.Rows() < 2 {
				t.Errorf("panel %q: %+v, want at least two seconds", p.Title, r.Frame)
				return
			}
			sum := 0.0
			for _, v := range tw.Numbers {
				sum += v
			}
			if sum != float64(exp.distinct) {
				t.Errorf("panel %q: tweets per second sum to %v, want %d distinct tweets", p.Title, sum, exp.distinct)
			}
		default:
			t.Errorf("panel %q: no expectation for %s", p.Title, id)
		}
	})
	if exp.distinct != len(tweets) || exp.processed["kafka"] != len(tweets)+5 {
		t.Fatalf("test bookkeeping: %d distinct, %d kafka deliveries", exp.distinct, exp.processed["kafka"])
	}
	t.Logf("checked %d distinct queries over %d tweets (%d deliveries)", len(checked), exp.distinct, exp.processed["kafka"]+exp.processed["rabbitmq"])

	// The preview shows data in every data panel.
	page, err := RenderPreview(ctx, c, PreviewOptions{Carnet: DefaultCarnet, Window: time.Since(start) + time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(page, `class="nodata"`); n != 0 {
		t.Errorf("preview after a load: %d panels say No data", n)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
