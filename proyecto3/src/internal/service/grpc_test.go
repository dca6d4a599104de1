package service

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// recorder keeps a copy of everything written on a connection.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

type recordingConn struct {
	net.Conn
	rec *recorder
}

func (c recordingConn) Write(b []byte) (int, error) {
	c.rec.mu.Lock()
	c.rec.buf.Write(b)
	c.rec.mu.Unlock()
	return c.Conn.Write(b)
}

type recordingListener struct {
	net.Listener
	rec *recorder
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recordingConn{c, l.rec}, nil
}

// frameCounts parses what one side wrote (after the client's connection preface) into
// HTTP/2 frames and counts them by type.
func frameCounts(t *testing.T, wire []byte, client bool) map[http2.FrameType]int {
	t.Helper()
	if client {
		wire = bytes.TrimPrefix(wire, []byte(http2.ClientPreface))
	}
	fr := http2.NewFramer(nil, bytes.NewReader(wire))
	counts := map[http2.FrameType]int{}
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) {
			return counts
		}
		if err != nil {
			t.Fatalf("parse the written frames: %v", err)
		}
		counts[f.Header().Type]++
	}
}

// callFrames makes n unary calls, 4 at a time as the gateway does under load, and returns the
// frames each side wrote.
func callFrames(t *testing.T, srvOpts []grpc.ServerOption, dialOpts []grpc.DialOption, n int) (client, server map[http2.FrameType]int) {
	t.Helper()
	var cr, sr recorder
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(srvOpts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(recordingListener{ln, &sr}) }()
	defer srv.Stop()

	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return recordingConn{c, &cr}, nil
	}
	opts := append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(dialer))
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	hc := healthpb.NewHealthClient(conn)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				if _, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_ = conn.Close()
	srv.Stop()
	return frameCounts(t, cr.bytes(), true), frameCounts(t, sr.bytes(), false)
}

// TestGRPCOptionsNoFlowControlChatter: with our options a unary call is its request and its
// response, nothing else. grpc-go's defaults (BDP estimation) add a PING, the peer's PING ACK
// and a WINDOW_UPDATE to most small calls: at 200 tweets/s the gateway made 6.4 write(2)
// calls per tweet with them and 3.2 without.
func TestGRPCOptionsNoFlowControlChatter(t *testing.T) {
	const n = 400
	client, server := callFrames(t, GRPCServerOptions(), GRPCDialOptions(), n)
	t.Logf("our options, %d calls: client frames %v, server frames %v", n, client, server)
	for side, c := range map[string]map[http2.FrameType]int{"client": client, "server": server} {
		// One WINDOW_UPDATE is expected: at setup, raising the connection window to ours.
		if c[http2.FramePing] != 0 || c[http2.FrameWindowUpdate] > 1 {
			t.Errorf("%s wrote %d PING and %d WINDOW_UPDATE frames for %d calls; want 0 and at most 1",
				side, c[http2.FramePing], c[http2.FrameWindowUpdate], n)
		}
	}
	if client[http2.FrameHeaders] != n || server[http2.FrameHeaders] != 2*n { // response headers + trailers
		t.Errorf("HEADERS frames: client %d, server %d; want %d and %d", client[http2.FrameHeaders], server[http2.FrameHeaders], n, 2*n)
	}

	// The same calls with grpc-go's defaults, as the reference the test must tell apart.
	dc, ds := callFrames(t, nil, nil, n)
	t.Logf("grpc-go defaults, %d calls: client frames %v, server frames %v", n, dc, ds)
	if dc[http2.FramePing]+ds[http2.FramePing] == 0 {
		t.Errorf("with grpc-go's defaults no PING was written: the test no longer shows what the options avoid")
	}
}
