package service

import "google.golang.org/grpc"

// GRPCWindow is the fixed HTTP/2 flow-control window (per stream and per connection) of our Go
// gRPC servers (gateway, writers) and clients (the gateway's, of the writers). The api's Rust
// client (hyper) keeps a fixed window by default.
//
// A fixed window turns off grpc-go's BDP estimator. With it on, each side sends a PING, and
// the client a WINDOW_UPDATE, after nearly every small unary call, and the peer answers each
// PING: strace of the gateway at 200 tweets/s counted 6.4 write(2) calls per tweet instead
// of 3 (one HTTP response, one request per writer). Our messages are a few hundred bytes,
// so a 1 MiB window never limits a call; the estimator only exists to grow the window for
// large transfers over long paths.
const GRPCWindow = 1 << 20

// GRPCStreamWorkers is how many goroutines each gRPC server keeps to run calls. A call runs on
// a free worker, whose stack has already grown to what a call needs, instead of on a new
// goroutine whose stack is grown (copied) on every call; with none free it still gets a new
// goroutine, so calls never wait for a worker. 64 is several times what one writer has in
// flight at 1000 tweets/s (the rate times the publish's 5-20 ms: 5-20 calls).
const GRPCStreamWorkers = 64

// GRPCServerOptions are the options of every gRPC server here. Measured at 1000 tweets/s
// (docs/benchmarks.md): with the fixed window the writers use 8-11 % less CPU, and the
// workers take another 4-9 % off.
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.StaticStreamWindowSize(GRPCWindow),
		grpc.StaticConnWindowSize(GRPCWindow),
		grpc.NumStreamWorkers(GRPCStreamWorkers),
	}
}

// GRPCDialOptions are the options of every gRPC client here (besides credentials and the
// service config).
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithStaticStreamWindowSize(GRPCWindow),
		grpc.WithStaticConnWindowSize(GRPCWindow),
	}
}
