package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"tweetsdelclima/internal/tweet"
)

// DrainContext is a source's handler context: it outlives parent's cancellation by grace, so a
// batch being stored when shutdown begins can finish and be acknowledged.
func DrainContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(parent, func() {
		mu.Lock()
		timer = time.AfterFunc(grace, cancel)
		mu.Unlock()
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// Retry is how a source retries a batch whose handler failed.
type Retry struct {
	Backoff    time.Duration // first wait; doubles each time
	MaxBackoff time.Duration // cap of the wait
	Drain      time.Duration // grace of a handler call in progress when ctx is cancelled
}

// HandleUntilStored calls h with batch until it succeeds (true) or ctx is done (false: the
// batch must be left unacknowledged, to be delivered again). Each failure is counted and logged.
func HandleUntilStored(ctx context.Context, h Handler, batch []tweet.Tweet, r Retry, m *Metrics, log *slog.Logger) bool {
	backoff := r.Backoff
	for attempt := 1; ; attempt++ {
		hctx, hcancel := DrainContext(ctx, r.Drain)
		err := h(hctx, batch)
		hcancel()
		if err == nil {
			return true
		}
		m.HandlerErrors.Inc()
		if ctx.Err() != nil {
			log.Info("batch abandoned unacknowledged at shutdown", "messages", len(batch), "err", err)
			return false
		}
		log.Warn("handler failed; retrying the batch", "attempt", attempt, "messages", len(batch), "backoff", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			log.Info("batch abandoned unacknowledged at shutdown", "messages", len(batch))
			return false
		}
		backoff = min(2*backoff, r.MaxBackoff)
	}
}
