package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/service"
)

// okWriter answers every SendTweet at once: the benchmark measures the gateway's own work per
// tweet (REST in, two gRPC calls out), not a broker's.
type okWriter struct {
	pb.UnimplementedWeatherTweetServiceServer
}

func (okWriter) SendTweet(context.Context, *pb.WeatherTweetRequest) (*pb.WeatherTweetResponse, error) {
	return &pb.WeatherTweetResponse{Status: "ok"}, nil
}

// BenchmarkPostTweet is one accepted POST /tweets through the gateway's handler (called
// directly, no HTTP connection) and its two real gRPC calls over loopback TCP to writers that
// answer at once, 16 tweets in flight. The writers run in the same process, so ns/op and
// allocs/op hold their server side too; compare builds with benchstat. Reproduce:
//
//	cd proyecto3/src && go test ./internal/gateway -run '^$' -bench PostTweet -benchmem -count 6
func BenchmarkPostTweet(b *testing.B) {
	kw, err := DialWriter("kafka", "static:///"+serveTweets(b, okWriter{}, service.GRPCServerOptions()...))
	if err != nil {
		b.Fatal(err)
	}
	rw, err := DialWriter("rabbitmq", "static:///"+serveTweets(b, okWriter{}, service.GRPCServerOptions()...))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kw.Close(); rw.Close() })
	h := Handler(&Fanout{Writers: []*Writer{kw, rw}, Timeout: 5 * time.Second},
		func(http.ResponseWriter, *http.Request) {}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	post := func() error {
		req := httptest.NewRequest(http.MethodPost, "/tweets", strings.NewReader(good))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
		}
		return nil
	}
	if err := post(); err != nil { // connects both writers before timing
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(p *testing.PB) {
		for p.Next() {
			if err := post(); err != nil {
				b.Error(err) // not Fatal: this is not the benchmark's goroutine
				return
			}
		}
	})
	b.StopTimer()
	// CPU time is steadier than wall time on a shared VM: report both.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the CPU time (user + system) this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
