// Package brokertest holds helpers shared by the broker packages' tests: tweet factories,
// a recording handler, and the integration-test environment guard.
package brokertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tweetsdelclima/internal/testenv"
	"tweetsdelclima/internal/tweet"
)

// Tweet returns a valid tweet with a fresh id whose fields depend on i.
func Tweet(i int) tweet.Tweet {
	return tweet.Tweet{
		ID:           tweet.NewID(),
		ReceivedAtMs: tweet.NowMs() - int64(i%1000),
		Municipality: tweet.Municipalities[i%len(tweet.Municipalities)],
		Temperature:  int32(i%111) - 50,
		Humidity:     int32(i % 101),
		Weather:      tweet.Weathers[(i/4)%len(tweet.Weathers)],
	}
}

// Tweets returns n tweets from Tweet(0..n-1).
func Tweets(n int) []tweet.Tweet {
	out := make([]tweet.Tweet, n)
	for i := range out {
		out[i] = Tweet(i)
	}
	return out
}

// Suffix returns a short random hex string for unique topic, queue and group names.
func Suffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Logger writes through t.Log at debug level, so a failing test shows the client's logs.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// Recorder is a Handler that records every tweet it stored, and can be told to fail.
type Recorder struct {
	mu      sync.Mutex
	seen    map[string]tweet.Tweet
	calls   [][]tweet.Tweet // every batch it was called with, failed or not
	deliver int             // tweets received in successful calls, duplicates included
	// Fail, when set, is asked before each call; a non-nil error fails the batch.
	Fail    func(call int, batch []tweet.Tweet) error
	changed chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{seen: make(map[string]tweet.Tweet), changed: make(chan struct{}, 1)}
}

// Handle is the broker.Handler.
func (r *Recorder) Handle(_ context.Context, batch []tweet.Tweet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := len(r.calls)
	r.calls = append(r.calls, append([]tweet.Tweet(nil), batch...))
	defer r.notify()
	if r.Fail != nil {
		if err := r.Fail(call, batch); err != nil {
			return err
		}
	}
	for _, t := range batch {
		r.seen[t.ID] = t
	}
	r.deliver += len(batch)
	return nil
}

// HoldFirstBatch is the shutdown-while-storing scenario. handle stores into r, but holds its
// first batch until stopDuring lets it go; stopDuring waits until that batch is held, calls
// stop (the source's shutdown) on another goroutine, lets the batch go 200 ms into the
// shutdown, and returns when stop has. A handle whose context is done by then fails the batch.
func (r *Recorder) HoldFirstBatch() (handle func(ctx context.Context, batch []tweet.Tweet) error, stopDuring func(stop func())) {
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	handle = func(ctx context.Context, batch []tweet.Tweet) error {
		once.Do(func() { close(held); <-release })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return r.Handle(ctx, batch)
	}
	stopDuring = func(stop func()) {
		<-held
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }() // cancels the source's Run while the batch is held
		time.Sleep(200 * time.Millisecond)
		close(release)
		<-stopped
	}
	return handle, stopDuring
}

func (r *Recorder) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Seen returns a copy of the stored tweets by id.
func (r *Recorder) Seen() map[string]tweet.Tweet {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]tweet.Tweet, len(r.seen))
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}

// Calls returns the batches the handler was called with.
func (r *Recorder) Calls() [][]tweet.Tweet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]tweet.Tweet(nil), r.calls...)
}

// Delivered is the number of tweets stored by successful calls, duplicates included.
func (r *Recorder) Delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deliver
}

// WaitFor waits until cond (called under the lock with the stored tweets and all calls)
// holds, or fails the test after timeout.
func (r *Recorder) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(seen map[string]tweet.Tweet, calls [][]tweet.Tweet) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond(r.seen, r.calls)
		n, c := len(r.seen), len(r.calls)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %s (stored %d distinct, %d calls)", timeout, what, n, c)
		}
	}
}

// WaitStored waits until every tweet of want was stored.
func (r *Recorder) WaitStored(t testing.TB, timeout time.Duration, want []tweet.Tweet) {
	t.Helper()
	r.WaitFor(t, timeout, fmt.Sprintf("%d tweets stored", len(want)), func(seen map[string]tweet.Tweet, _ [][]tweet.Tweet) bool {
		for _, w := range want {
			if _, ok := seen[w.ID]; !ok {
				return false
			}
		}
		return true
	})
}

// CheckSame fails the test unless got holds exactly the tweets of want, field for field.
func CheckSame(t testing.TB, want []tweet.Tweet, got map[string]tweet.Tweet) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("stored %d distinct tweets, want %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := got[w.ID]
		if !ok {
			t.Errorf("tweet %s never stored", w.ID)
			continue
		}
		if g != w {
			t.Errorf("tweet %s: got %+v, want %+v", w.ID, g, w)
		}
	}
}

// Env is the integration-test environment.
type Env struct {
	KafkaBrokers   string
	RabbitURL      string
	RabbitUser     string
	RabbitPassword string
}

// Integration returns the real brokers' addresses. With TWEETS_INTEGRATION=1 every variable
// must be set (the test fails otherwise); without it, a missing variable skips the test.
func Integration(t testing.TB) Env {
	t.Helper()
	env := testenv.Env(t, "KAFKA_BROKERS", "RABBITMQ_URL", "RABBITMQ_USERNAME", "RABBITMQ_PASSWORD")
	return Env{
		KafkaBrokers:   env["KAFKA_BROKERS"],
		RabbitURL:      env["RABBITMQ_URL"],
		RabbitUser:     env["RABBITMQ_USERNAME"],
		RabbitPassword: env["RABBITMQ_PASSWORD"],
	}
}
