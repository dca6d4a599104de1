// Package testenv gives integration tests the real servers that proyecto3/local/test.sh
// starts (Valkey, RabbitMQ, Kafka), through the environment it exports.
//
// With TWEETS_INTEGRATION=1 a missing variable fails the test; without it the test is skipped,
// so `go test ./...` on a machine without the servers still runs every unit test.
//
// Go runs test packages in parallel against the same Valkey: each package uses its own logical
// database (the DB* constants) and only ever flushes that one.
package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// Logical Valkey databases, one per test package. Database 0 belongs to a running local system.
const (
	DBStore     = 1
	DBDashboard = 2
	DBPipeline  = 3
	DBConsumer  = 4
	DBOps       = 5
)

// Integration reports whether the test runner demands the real servers.
func Integration() bool { return os.Getenv("TWEETS_INTEGRATION") == "1" }

// Env returns the named variables, failing (integration run) or skipping (otherwise) when one
// is missing.
func Env(t testing.TB, names ...string) map[string]string {
	t.Helper()
	out := make(map[string]string, len(names))
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			if Integration() {
				t.Fatalf("TWEETS_INTEGRATION=1 but %s is not set: run the tests with proyecto3/local/test.sh", n)
			}
			t.Skipf("%s not set: integration test skipped (proyecto3/local/test.sh runs it)", n)
		}
		out[n] = v
	}
	return out
}

// Valkey returns a client on logical database db of the test Valkey, emptied before the test
// and after it.
func Valkey(t testing.TB, db int) rueidis.Client {
	t.Helper()
	env := Env(t, "VALKEY_ADDR")
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{env["VALKEY_ADDR"]},
		Password:          os.Getenv("VALKEY_PASSWORD"),
		SelectDB:          db,
		DisableCache:      true,
		ForceSingleClient: true,
	})
	if err != nil {
		t.Fatalf("connect to Valkey at %s: %v", env["VALKEY_ADDR"], err)
	}
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Do(ctx, c.B().Flushdb().Build()).Error(); err != nil {
			t.Fatalf("flush Valkey db %d: %v", db, err)
		}
	}
	flush()
	t.Cleanup(func() { flush(); c.Close() })
	return c
}
