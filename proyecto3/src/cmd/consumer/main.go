// Command consumer reads tweets from one broker (--broker kafka|rabbitmq) and stores them in
// Valkey through the store's atomic script; a batch is acknowledged (Kafka offsets committed,
// RabbitMQ messages acked) only after Valkey holds it.
package main

import (
	"context"
	"flag"
	"os"
	"time"

	"tweetsdelclima/internal/broker/open"
	"tweetsdelclima/internal/config"
	"tweetsdelclima/internal/consumer"
	"tweetsdelclima/internal/service"
	"tweetsdelclima/internal/store"
)

func main() {
	var bf open.Flags
	var valkeyAddr string
	var ttl time.Duration
	svc := service.Setup("consumer", os.Args[1:], func(fs *flag.FlagSet) {
		bf.Register(fs, true)
		fs.StringVar(&valkeyAddr, "valkey-addr", "valkey-primary:6379", "Valkey primary host:port (password: env VALKEY_PASSWORD)")
		fs.DurationVar(&ttl, "dedup-ttl", 24*time.Hour, "how long a tweet id is remembered to drop its second delivery")
	})
	brokerLog := svc.Log // the source labels its own lines with broker and role
	svc.Log = svc.Log.With("broker", bf.Broker)
	client, err := store.Connect(valkeyAddr, config.Secret("VALKEY_PASSWORD"))
	if err != nil {
		svc.Fatal("connect to Valkey", err)
	}
	svc.Defer(client.Close)
	st := store.New(client, store.Options{DedupTTL: ttl})
	src, err := bf.Source(brokerLog)
	if err != nil {
		svc.Fatal("connect to broker", err)
	}
	svc.Defer(func() { _ = src.Close() })
	svc.StartOps(st.Check, src.Check)
	svc.Run(func(ctx context.Context) error {
		return consumer.Run(ctx, bf.Broker, src, st, svc.Log)
	}, nil) // on shutdown Run's context is cancelled: the source stops after its batch in progress
}
