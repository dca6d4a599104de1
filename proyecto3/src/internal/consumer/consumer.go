// Package consumer moves tweets from a broker to Valkey: each batch is stored by the store's
// atomic script, and the source acknowledges it only after that.
package consumer

import (
	"context"
	"log/slog"
	"time"

	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/store"
	"tweetsdelclima/internal/tweet"
)

// Run consumes until ctx is done. Every second it also closes the tweets-per-second bucket
// (store.Tick) so the last second of a load reaches the dashboard.
func Run(ctx context.Context, brokerName string, src broker.Source, st *store.Store, log *slog.Logger) error {
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := st.Tick(ctx); err != nil && ctx.Err() == nil {
					log.Warn("throughput tick", "err", err)
				}
			}
		}
	}()
	return src.Run(ctx, func(ctx context.Context, batch []tweet.Tweet) error {
		_, err := st.Save(ctx, brokerName, batch)
		if err != nil {
			log.Warn("store batch (will retry)", "size", len(batch), "err", err)
		}
		return err
	})
}
