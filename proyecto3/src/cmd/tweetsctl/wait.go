package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"tweetsdelclima/internal/config"
)

func init() {
	register("wait", "wait until Valkey holds exactly N tweets and both consumers have drained", wait)
}

// wait polls until global:stats tweets == N and each broker has delivered at least N tweets
// (both consumers caught up). It fails when the count goes past N (a tweet counted twice) or
// the timeout passes, and reports how long the drain took.
func wait(ctx context.Context, args []string) error {
	fs, addr := valkeyFlags("wait")
	want := fs.Int64("tweets", 0, "the number of tweets that were accepted (required)")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if *want <= 0 {
		return fmt.Errorf("--tweets must be a positive count")
	}
	c, err := connect(*addr)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	last := time.Time{}
	for {
		hget := func(key, field string) (int64, error) {
			n, err := c.Do(ctx, c.B().Hget().Key(key).Field(field).Build()).AsInt64()
			if rueidis.IsRedisNil(err) {
				return 0, nil
			}
			return n, err
		}
		stored, err := hget("global:stats", "tweets")
		if err != nil {
			return err
		}
		kafka, err := hget("broker:kafka", "processed")
		if err != nil {
			return err
		}
		rabbit, err := hget("broker:rabbitmq", "processed")
		if err != nil {
			return err
		}
		if stored > *want {
			return fmt.Errorf("%d tweets stored in Valkey but only %d were accepted: something was counted twice", stored, *want)
		}
		if stored == *want && kafka >= *want && rabbit >= *want {
			fmt.Printf("wait: %d tweets stored, both consumers drained (kafka %d, rabbitmq %d deliveries) after %.2fs\n",
				stored, kafka, rabbit, time.Since(start).Seconds())
			return nil
		}
		if time.Since(start) > *timeout {
			return fmt.Errorf("after %s: %d of %d tweets stored (kafka delivered %d, rabbitmq %d)", *timeout, stored, *want, kafka, rabbit)
		}
		if time.Since(last) >= time.Second {
			fmt.Printf("wait: %d/%d stored (kafka %d, rabbitmq %d)\n", stored, *want, kafka, rabbit)
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
