package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/rueidis"

	"tweetsdelclima/internal/store"
	"tweetsdelclima/internal/tweet"
)

// seed writes n random tweets over the given duration through the consumers' own code
// (internal/store), each batch delivered by both brokers in random order with a few
// milliseconds of simulated end-to-end latency, so that -preview has data when no local run is
// at hand. It empties the database first; it refuses database 0, where a local system keeps its
// data.
func seed(ctx context.Context, addr, password string, db, n int, over time.Duration) error {
	if db == 0 {
		return fmt.Errorf("-seed writes and flushes: use -valkey-db other than 0")
	}
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{addr}, Password: password, SelectDB: db,
		DisableCache: true, ForceSingleClient: true,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Do(ctx, c.B().Flushdb().Build()).Error(); err != nil {
		return err
	}
	s := store.New(c, store.Options{})
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 6))
	const batch = 20
	steps := max(1, n/batch)
	pause := over / time.Duration(steps)
	// Each municipality has its own climate, so the bars differ.
	base := map[int]struct{ t, h int }{0: {24, 60}, 1: {21, 70}, 2: {28, 55}, 3: {19, 80}}
	for sent := 0; sent < n; sent += batch {
		var b []tweet.Tweet
		for i := 0; i < batch && sent+i < n; i++ {
			mi := rng.IntN(len(tweet.Municipalities))
			w := tweet.Weathers[min(rng.IntN(10)/3, 3)]
			b = append(b, tweet.Tweet{
				ID: tweet.NewID(), ReceivedAtMs: time.Now().UnixMilli() - int64(rng.IntN(40)),
				Municipality: tweet.Municipalities[mi], Weather: w,
				Temperature: int32(base[mi].t + rng.IntN(11) - 5),
				Humidity:    int32(min(100, base[mi].h+rng.IntN(21)-10)),
			})
		}
		order := []string{"kafka", "rabbitmq"}
		if rng.IntN(2) == 0 {
			order[0], order[1] = order[1], order[0]
		}
		for _, br := range order {
			if _, err := s.Save(ctx, br, b); err != nil {
				return err
			}
			time.Sleep(time.Duration(rng.IntN(4)) * time.Millisecond)
		}
		time.Sleep(pause)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	return s.Tick(ctx)
}
