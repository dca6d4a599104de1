package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/redis/rueidis"

	"tweetsdelclima/internal/config"
	"tweetsdelclima/internal/store"
)

func init() {
	register("reset", "empty the database (FLUSHDB on the primary) so Grafana shows \"No data\"", reset)
	register("summary", "print what the dashboard shows and the Kafka vs RabbitMQ comparison", summary)
}

// valkeyFlags are the connection flags of the Valkey subcommands; the password comes from
// VALKEY_PASSWORD only.
func valkeyFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("tweetsctl "+name, flag.ContinueOnError)
	addr := fs.String("valkey-addr", "127.0.0.1:6379", "Valkey primary host:port (password: env VALKEY_PASSWORD)")
	return fs, addr
}

func connect(addr string) (rueidis.Client, error) {
	c, err := store.Connect(addr, config.Secret("VALKEY_PASSWORD"))
	if err != nil {
		return nil, fmt.Errorf("connect to Valkey at %s: %w", addr, err)
	}
	return c, nil
}

func reset(ctx context.Context, args []string) error {
	fs, addr := valkeyFlags("reset")
	yes := fs.Bool("yes", false, "confirm: every stored tweet and aggregate is deleted")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if !*yes {
		return errors.New("this deletes every tweet and aggregate in Valkey; run again with --yes to confirm")
	}
	c, err := connect(*addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	before, err := c.Do(ctx, c.B().Dbsize().Build()).AsInt64()
	if err != nil {
		return err
	}
	if err := store.Reset(ctx, c); err != nil {
		return err
	}
	fmt.Printf("reset: deleted %d keys from %s; every dashboard panel now shows \"No data\"\n", before, *addr)
	return nil
}

func summary(ctx context.Context, args []string) error {
	fs, addr := valkeyFlags("summary")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	c, err := connect(*addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := store.ReadSummary(ctx, c)
	if err != nil {
		return err
	}
	s.Print(os.Stdout)
	return nil
}
