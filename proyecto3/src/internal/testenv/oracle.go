package testenv

import (
	"fmt"
	"math/rand/v2"

	"tweetsdelclima/internal/tweet"
)

// Expected is what the dashboard must show for a set of distinct tweets, computed here in Go,
// independently of the consumers' Valkey script.
type Expected struct {
	Tweets                         int64
	TemperatureMax, TemperatureMin int32
	HumidityMax, HumidityMin       int32
	WeatherCounts                  map[string]int64
	AvgTemperature, AvgHumidity    map[string]string // two decimals, by municipality
	Count                          map[string]int64  // tweets by municipality
	MunicipalityWeather            map[string]map[string]int64
	Most, Least                    map[string]string
	Series                         map[string][][2]int32 // temperature, humidity in arrival order
}

// Compute returns the expected dashboard for tweets, given in the order they were first stored.
// Most/least common follow the documented rule: zero counts included, ties to the first in
// the proto's enum order.
func Compute(tweets []tweet.Tweet) Expected {
	e := Expected{WeatherCounts: map[string]int64{}, AvgTemperature: map[string]string{}, AvgHumidity: map[string]string{},
		Count: map[string]int64{}, MunicipalityWeather: map[string]map[string]int64{}, Most: map[string]string{},
		Least: map[string]string{}, Series: map[string][][2]int32{}}
	tsum, hsum := map[string]int64{}, map[string]int64{}
	for i, t := range tweets {
		m, w := t.Municipality.String(), t.Weather.String()
		if i == 0 || t.Temperature > e.TemperatureMax {
			e.TemperatureMax = t.Temperature
		}
		if i == 0 || t.Temperature < e.TemperatureMin {
			e.TemperatureMin = t.Temperature
		}
		if i == 0 || t.Humidity > e.HumidityMax {
			e.HumidityMax = t.Humidity
		}
		if i == 0 || t.Humidity < e.HumidityMin {
			e.HumidityMin = t.Humidity
		}
		e.Tweets++
		e.WeatherCounts[w]++
		e.Count[m]++
		tsum[m] += int64(t.Temperature)
		hsum[m] += int64(t.Humidity)
		if e.MunicipalityWeather[m] == nil {
			e.MunicipalityWeather[m] = map[string]int64{}
		}
		e.MunicipalityWeather[m][w]++
		e.Series[m] = append(e.Series[m], [2]int32{t.Temperature, t.Humidity})
	}
	for m, n := range e.Count {
		e.AvgTemperature[m] = fmt.Sprintf("%.2f", float64(tsum[m])/float64(n))
		e.AvgHumidity[m] = fmt.Sprintf("%.2f", float64(hsum[m])/float64(n))
		most, least := "", ""
		var mostN, leastN int64 = -1, 1 << 62
		for _, wt := range tweet.Weathers {
			c := e.MunicipalityWeather[m][wt.String()]
			if c > mostN {
				most, mostN = wt.String(), c
			}
			if c < leastN {
				least, leastN = wt.String(), c
			}
		}
		e.Most[m], e.Least[m] = most, least
	}
	return e
}

// RandomTweets returns n valid tweets with fresh ids, drawn from a seeded generator so a
// failure can be reproduced.
func RandomTweets(seed uint64, n int) []tweet.Tweet {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]tweet.Tweet, n)
	now := tweet.NowMs()
	for i := range out {
		out[i] = tweet.Tweet{
			ID:           tweet.NewID(),
			ReceivedAtMs: now - int64(r.IntN(50)),
			Municipality: tweet.Municipalities[r.IntN(len(tweet.Municipalities))],
			Temperature:  int32(r.IntN(tweet.MaxTemperature-tweet.MinTemperature+1) + tweet.MinTemperature),
			Humidity:     int32(r.IntN(tweet.MaxHumidity-tweet.MinHumidity+1) + tweet.MinHumidity),
			Weather:      tweet.Weathers[r.IntN(len(tweet.Weathers))],
		}
	}
	return out
}
