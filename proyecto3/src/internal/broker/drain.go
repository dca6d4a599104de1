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

// SourceDefaults fills the batching and retry settings every source has, where unset: batches
// of 200 messages or 5 ms, a 5 s drain at shutdown, retries after 100 ms doubling up to 5 s.
func SourceDefaults(batchSize *int, batchWait, drain, retryBackoff, maxRetryBackoff *time.Duration) {
	if *batchSize <= 0 {
		*batchSize = 200
	}
	if *batchWait <= 0 {
		*batchWait = 5 * time.Millisecond
	}
	if *drain <= 0 {
		*drain = 5 * time.Second
	}
	if *retryBackoff <= 0 {
		*retryBackoff = 100 * time.Millisecond
	}
	if *maxRetryBackoff < *retryBackoff {
		*maxRetryBackoff = max(5*time.Second, *retryBackoff)
	}
}
