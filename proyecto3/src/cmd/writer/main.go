// Command writer is Go Deployments 2 and 3: a gRPC server of the statement's
// WeatherTweetService that publishes each tweet to one broker, chosen with --broker, and
// answers only after the broker holds it (Kafka delivery report with acks=all; RabbitMQ
// publisher confirm). The gRPC health service reports SERVING while it can publish.
package main

import (
	"context"
	"flag"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/broker/open"
	"tweetsdelclima/internal/service"
	"tweetsdelclima/internal/writer"
)

func main() {
	var bf open.Flags
	var grpcAddr string
	var timeout time.Duration
	svc := service.Setup("writer", os.Args[1:], func(fs *flag.FlagSet) {
		bf.Register(fs, false)
		fs.StringVar(&grpcAddr, "grpc-addr", ":50051", "gRPC listen address")
		fs.DurationVar(&timeout, "publish-timeout", 5*time.Second, "how long a publish may wait for the broker's acknowledgement")
	})
	brokerLog := svc.Log // the publisher labels its own lines with broker and role
	svc.Log = svc.Log.With("broker", bf.Broker)
	pub, err := bf.Publisher(brokerLog)
	if err != nil {
		svc.Fatal("connect to broker", err)
	}
	svc.StartOps(pub.Check)

	ln, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		svc.Fatal("listen grpc", err)
	}
	srv := grpc.NewServer(service.GRPCServerOptions()...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	pb.RegisterWeatherTweetServiceServer(srv, &writer.Server{Broker: bf.Broker, Publisher: pub, Timeout: timeout})
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("wetherweet.WeatherTweetService", healthpb.HealthCheckResponse_SERVING)
	go func() {
		if err := srv.Serve(ln); err != nil {
			svc.Fatal("grpc server", err)
		}
	}()
	svc.Log.Info("listening", "grpc", ln.Addr().String())

	svc.Run(nil, func(ctx context.Context) error {
		hs.Shutdown() // NOT_SERVING for every service: probes and clients move away
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }() // in-flight publishes finish
		select {
		case <-stopped:
		case <-ctx.Done():
			srv.Stop()
		}
		return pub.Close()
	})
}
