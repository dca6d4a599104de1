// Command gateway is Go Deployment 1: REST in (from the Rust api) and gRPC in (the measured
// alternative), gRPC out to both writers in parallel. A tweet is accepted (202) only when both
// brokers hold it.
package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/broker"
	"tweetsdelclima/internal/gateway"
	"tweetsdelclima/internal/service"
)

func main() {
	var httpAddr, grpcAddr, kafkaTarget, rabbitTarget string
	var timeout time.Duration
	var maxInFlight int64
	svc := service.Setup("gateway", os.Args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&httpAddr, "http-addr", ":8080", "REST listen address (POST /tweets)")
		fs.StringVar(&grpcAddr, "grpc-addr", ":50051", "gRPC listen address (WeatherTweetService)")
		fs.StringVar(&kafkaTarget, "writer-kafka", "dns:///writer-kafka-headless:50051", "gRPC target of the Kafka writers")
		fs.StringVar(&rabbitTarget, "writer-rabbitmq", "dns:///writer-rabbitmq-headless:50051", "gRPC target of the RabbitMQ writers")
		fs.DurationVar(&timeout, "writer-timeout", 5*time.Second, "deadline of the call to both writers")
		fs.Int64Var(&maxInFlight, "max-in-flight", 2000, "tweets sent to the writers at once; beyond it a tweet is refused at once "+
			"(503 with Retry-After, or RESOURCE_EXHAUSTED); 0: no bound")
	})
	if maxInFlight < 0 {
		svc.Fatal("config", errors.New("--max-in-flight must be 0 (no bound) or more"))
	}

	fan := &gateway.Fanout{Timeout: timeout, MaxInFlight: maxInFlight, Log: svc.Log}
	promauto.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gateway_in_flight",
		Help: "Tweets being sent to the writers now (bounded by --max-in-flight).",
	}, func() float64 { return float64(fan.InFlight()) })
	for _, w := range []struct{ broker, target string }{{broker.Kafka, kafkaTarget}, {broker.RabbitMQ, rabbitTarget}} {
		c, err := gateway.DialWriter(w.broker, w.target)
		if err != nil {
			svc.Fatal("dial writer", err)
		}
		fan.Writers = append(fan.Writers, c)
	}
	svc.StartOps()

	httpSrv := &http.Server{
		Addr:              httpAddr,
		Handler:           gateway.Handler(fan, svc.Ops.Readyz, svc.Log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      timeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
	}
	httpLn, err := net.Listen("tcp", httpAddr)
	if err != nil {
		svc.Fatal("listen http", err)
	}
	grpcLn, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		svc.Fatal("listen grpc", err)
	}
	grpcSrv := grpc.NewServer(service.GRPCServerOptions()...)
	pb.RegisterWeatherTweetServiceServer(grpcSrv, &gateway.GRPCServer{Fanout: fan})
	go func() {
		if err := httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			svc.Fatal("http server", err)
		}
	}()
	go func() {
		if err := grpcSrv.Serve(grpcLn); err != nil {
			svc.Fatal("grpc server", err)
		}
	}()
	svc.Log.Info("listening", "http", httpLn.Addr().String(), "grpc", grpcLn.Addr().String(),
		"writer_kafka", kafkaTarget, "writer_rabbitmq", rabbitTarget)

	svc.Run(nil, func(ctx context.Context) error {
		err := httpSrv.Shutdown(ctx) // finishes in-flight requests
		stopped := make(chan struct{})
		go func() { grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			grpcSrv.Stop()
		}
		for _, w := range fan.Writers {
			_ = w.Close()
		}
		return err
	})
}
