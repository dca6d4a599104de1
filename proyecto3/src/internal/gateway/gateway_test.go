package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "tweetsdelclima/gen/wetherweetpb"
	"tweetsdelclima/internal/tweet"
)

// fakeWriter is a real gRPC server that records what it was sent.
type fakeWriter struct {
	pb.UnimplementedWeatherTweetServiceServer
	mu    sync.Mutex
	got   []tweet.Tweet
	fail  codes.Code // non-OK: answer with this code
	delay time.Duration
	addr  string
}

func (f *fakeWriter) SendTweet(ctx context.Context, req *pb.WeatherTweetRequest) (*pb.WeatherTweetResponse, error) {
	t, err := tweet.FromIncoming(ctx, req, false)
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != codes.OK {
		return nil, status.Error(f.fail, "broker down")
	}
	f.got = append(f.got, t)
	return &pb.WeatherTweetResponse{Status: "ok"}, nil
}

func (f *fakeWriter) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.got) }

// serveTweets serves srv over gRPC on a free loopback port until the test ends; it returns the
// address.
func serveTweets(tb testing.TB, srv pb.WeatherTweetServiceServer, opts ...grpc.ServerOption) string {
	tb.Helper()
	_, addr, err := serveTweetsAt(tb, "127.0.0.1:0", srv, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// serveTweetsAt serves srv over gRPC on addr until the test ends (or the returned server is
// stopped); it returns the server and the address it listens on.
func serveTweetsAt(tb testing.TB, addr string, srv pb.WeatherTweetServiceServer, opts ...grpc.ServerOption) (*grpc.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	s := grpc.NewServer(opts...)
	pb.RegisterWeatherTweetServiceServer(s, srv)
	go func() { _ = s.Serve(ln) }()
	tb.Cleanup(s.Stop)
	return s, ln.Addr().String(), nil
}

func startWriter(t *testing.T) *fakeWriter {
	t.Helper()
	f := &fakeWriter{}
	f.addr = serveTweets(t, f)
	return f
}

type rig struct {
	kafka, kafka2, rabbit *fakeWriter
	srv                   *httptest.Server
	fan                   *Fanout
}

func newRig(t *testing.T, timeout time.Duration) *rig {
	r := &rig{kafka: startWriter(t), kafka2: startWriter(t), rabbit: startWriter(t)}
	kw, err := DialWriter("kafka", "static:///"+r.kafka.addr+","+r.kafka2.addr)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := DialWriter("rabbitmq", "static:///"+r.rabbit.addr)
	if err != nil {
		t.Fatal(err)
	}
	r.fan = &Fanout{Writers: []*Writer{kw, rw}, Timeout: timeout}
	r.srv = httptest.NewServer(Handler(r.fan, func(w http.ResponseWriter, _ *http.Request) {}, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(func() { r.srv.Close(); kw.Close(); rw.Close() })
	return r
}

const good = `{"municipality":"mixco","temperature":25,"humidity":60,"weather":"sunny"}`

func post(t *testing.T, url, ctype, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/tweets", strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAcceptedOnlyWhenBothWritersHoldIt(t *testing.T) {
	r := newRig(t, 2*time.Second)
	id := tweet.NewID()
	code, body := post(t, r.srv.URL, "application/json; charset=utf-8", good, map[string]string{tweet.HeaderID: id, tweet.HeaderReceivedAt: "1700000000000"})
	if code != http.StatusAccepted || body["status"] != "accepted" || body["id"] != id {
		t.Fatalf("got %d %v, want 202 with id %s", code, body, id)
	}
	if r.rabbit.count() != 1 || r.kafka.count()+r.kafka2.count() != 1 {
		t.Fatalf("writers got kafka %d+%d rabbitmq %d, want one each", r.kafka.count(), r.kafka2.count(), r.rabbit.count())
	}
	got := r.rabbit.got[0]
	if got.ID != id || got.ReceivedAtMs != 1700000000000 || got.Municipality != pb.Municipalities_mixco || got.Temperature != 25 {
		t.Fatalf("writer received %+v", got)
	}

	r.rabbit.fail = codes.Unavailable
	code, body = post(t, r.srv.URL, "application/json", good, nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body["message"].(string), "rabbitmq") {
		t.Fatalf("one broker down: got %d %v, want 503 naming rabbitmq", code, body)
	}
	if body["id"] == "" {
		t.Fatalf("503 without the tweet id: %v", body)
	}
}

func TestWriterTimeoutIs503(t *testing.T) {
	r := newRig(t, 100*time.Millisecond)
	r.kafka.delay, r.kafka2.delay = time.Second, time.Second
	start := time.Now()
	code, _ := post(t, r.srv.URL, "application/json", good, nil)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("slow writer: got %d, want 503", code)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("the deadline was not applied: %v", time.Since(start))
	}
}

func TestRoundRobinSpreadsOverWriterReplicas(t *testing.T) {
	r := newRig(t, 2*time.Second)
	// Wait until both subchannels are connected, then count.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		if code, _ := post(t, r.srv.URL, "application/json", good, nil); code != http.StatusAccepted {
			t.Fatalf("request %d: %d", i, code)
		}
		if r.kafka.count() > 0 && r.kafka2.count() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d requests one replica got nothing: %d and %d", i+1, r.kafka.count(), r.kafka2.count())
		}
	}
	a, b := r.kafka.count(), r.kafka2.count()
	for range 40 {
		post(t, r.srv.URL, "application/json", good, nil)
	}
	da, db := r.kafka.count()-a, r.kafka2.count()-b
	if da < 15 || db < 15 {
		t.Fatalf("40 requests split %d/%d, want about even", da, db)
	}
}

func TestBadRequestsAreRejectedAndNotForwarded(t *testing.T) {
	r := newRig(t, time.Second)
	for _, tc := range []struct {
		ctype, body string
		hdr         map[string]string
		code        int
		field       string
	}{
		{"text/plain", good, nil, 415, "Content-Type"},
		{"", good, nil, 415, "Content-Type"},
		{"application/json", `{"municipality":"xela","temperature":25,"humidity":60,"weather":"sunny"}`, nil, 400, "municipality"},
		{"application/json", `{"municipality":"mixco","temperature":25,"humidity":160,"weather":"sunny"}`, nil, 400, "humidity"},
		{"application/json", good, map[string]string{tweet.HeaderID: "123"}, 400, tweet.HeaderID},
		{"application/json", good, map[string]string{tweet.HeaderReceivedAt: "yesterday"}, 400, tweet.HeaderReceivedAt},
		{"application/json", `{"municipality":"` + strings.Repeat("x", 5000) + `"}`, nil, 413, "body"},
	} {
		code, body := post(t, r.srv.URL, tc.ctype, tc.body, tc.hdr)
		if code != tc.code || body["field"] != tc.field {
			t.Errorf("%s %.40s: got %d %v, want %d naming %s", tc.ctype, tc.body, code, body, tc.code, tc.field)
		}
	}
	if n := r.kafka.count() + r.kafka2.count() + r.rabbit.count(); n != 0 {
		t.Fatalf("invalid requests reached the writers %d times", n)
	}
}

// TestBodyOfEveryLength covers both ways readBody reads: a declared length (sized buffer) and
// a chunked body (no length: bounded io.ReadAll), at and past tweet.MaxBodyBytes, and a body
// shorter than it declares.
func TestBodyOfEveryLength(t *testing.T) {
	r := newRig(t, time.Second)
	h := r.srv.Config.Handler
	atLimit := good + strings.Repeat(" ", tweet.MaxBodyBytes-len(good))
	for _, tc := range []struct {
		name, body string
		length     int64 // the declared Content-Length; -1: none (chunked)
		code       int
		field      string
	}{
		{"declared", good, int64(len(good)), 202, ""},
		{"declared, at the limit", atLimit, tweet.MaxBodyBytes, 202, ""},
		{"declared, past the limit", atLimit + " ", tweet.MaxBodyBytes + 1, 413, "body"},
		{"declared, body shorter", good, int64(len(good)) + 10, 400, "body"},
		{"chunked", good, -1, 202, ""},
		{"chunked, at the limit", atLimit, -1, 202, ""},
		{"chunked, past the limit", atLimit + " ", -1, 413, "body"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/tweets", strings.NewReader(tc.body))
		req.ContentLength = tc.length
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %d with a body that is not JSON: %q", tc.name, rec.Code, rec.Body)
		}
		if rec.Code != tc.code || (tc.field != "" && body["field"] != tc.field) {
			t.Errorf("%s: got %d %v, want %d naming %q", tc.name, rec.Code, body, tc.code, tc.field)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tc.name, ct)
		}
	}
	if got, want := r.kafka.count()+r.kafka2.count(), 4; got != want {
		t.Fatalf("writer-kafka got %d tweets, want %d (the accepted ones only)", got, want)
	}
}

// grpcEntry serves the gateway's gRPC entry point for fan and returns a client of it.
func grpcEntry(t *testing.T, fan *Fanout) pb.WeatherTweetServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(serveTweets(t, &GRPCServer{Fanout: fan}), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewWeatherTweetServiceClient(conn)
}

func TestGRPCEntryPoint(t *testing.T) {
	r := newRig(t, time.Second)
	c := grpcEntry(t, r.fan)
	id := tweet.NewID()
	ctx := metadata.AppendToOutgoingContext(context.Background(), tweet.MetadataID, id, tweet.MetadataReceived, "1700000000001")
	resp, err := c.SendTweet(ctx, &pb.WeatherTweetRequest{Municipality: pb.Municipalities_guatemala, Temperature: 20, Humidity: 40, Weather: pb.Weathers_rainy})
	if err != nil || resp.GetStatus() != "accepted" {
		t.Fatalf("SendTweet: %v %v", resp, err)
	}
	if r.rabbit.got[0].ID != id {
		t.Fatalf("id not propagated: %+v", r.rabbit.got[0])
	}
	_, err = c.SendTweet(ctx, &pb.WeatherTweetRequest{Municipality: pb.Municipalities_guatemala, Temperature: 99, Humidity: 40, Weather: pb.Weathers_rainy})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "temperature") {
		t.Fatalf("invalid temperature: %v, want InvalidArgument naming temperature", err)
	}
	r.kafka.fail, r.kafka2.fail = codes.Unavailable, codes.Unavailable
	if _, err = c.SendTweet(ctx, &pb.WeatherTweetRequest{Municipality: pb.Municipalities_guatemala, Temperature: 1, Humidity: 40, Weather: pb.Weathers_rainy}); status.Code(err) != codes.Unavailable {
		t.Fatalf("kafka down: %v, want Unavailable", err)
	}
}

func TestBeyondMaxInFlightIsRefusedAtOnce(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.fan.MaxInFlight = 2
	var logged strings.Builder
	var logMu sync.Mutex
	r.fan.Log = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil))
	r.kafka.delay, r.kafka2.delay = 700*time.Millisecond, 700*time.Millisecond
	var wg sync.WaitGroup
	codes2 := make([]int, 2)
	for i := range codes2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes2[i], _ = post(t, r.srv.URL, "application/json", good, nil) }()
	}
	for deadline := time.Now().Add(2 * time.Second); r.fan.InFlight() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d, want 2", r.fan.InFlight())
		}
	}

	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/tweets", strings.NewReader(good))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
		body["error"] != "overloaded" || body["id"] == "" || !strings.Contains(body["message"].(string), "2 tweets already in flight") {
		t.Fatalf("third request: got %d Retry-After %q %v, want 503 overloaded with Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the refusal waited %v for the writers", d)
	}

	// Over gRPC the same bound is RESOURCE_EXHAUSTED (the api maps it to 503 and retries).
	_, err = grpcEntry(t, r.fan).SendTweet(context.Background(),
		&pb.WeatherTweetRequest{Municipality: pb.Municipalities_mixco, Temperature: 1, Humidity: 2, Weather: pb.Weathers_foggy})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC beyond the bound: %v, want ResourceExhausted", err)
	}

	wg.Wait()
	if codes2[0] != http.StatusAccepted || codes2[1] != http.StatusAccepted {
		t.Fatalf("the two held requests: %v, want 202 both", codes2)
	}
	if n := r.rabbit.count(); n != 2 {
		t.Fatalf("rabbitmq writer got %d tweets, want 2: a refused tweet must not be sent", n)
	}
	if r.fan.InFlight() != 0 {
		t.Fatalf("in flight %d after every request ended", r.fan.InFlight())
	}
	logMu.Lock()
	lines := strings.Count(logged.String(), "overloaded: refusing tweets")
	logMu.Unlock()
	if lines != 1 || !strings.Contains(logged.String(), "refused=1 max_in_flight=2") {
		t.Fatalf("two refusals within a second logged %d lines, want 1 naming the first refusal:\n%s", lines, logged.String())
	}
	if code, _ := post(t, r.srv.URL, "application/json", good, nil); code != http.StatusAccepted {
		t.Fatalf("after the load: %d, want 202", code)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// A writer that restarts is waited for within the deadline: the tweet sent while it is down is
// accepted once it is back, not refused at once.
func TestWriterRestartIsWaitedFor(t *testing.T) {
	kafka := startWriter(t)
	rabbit := &fakeWriter{}
	first, addr, err := serveTweetsAt(t, "127.0.0.1:0", rabbit)
	if err != nil {
		t.Fatal(err)
	}

	kw, err := DialWriter("kafka", "static:///"+kafka.addr)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := DialWriter("rabbitmq", "static:///"+addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kw.Close(); rw.Close() })
	fan := &Fanout{Writers: []*Writer{kw, rw}, Timeout: 10 * time.Second}
	tw := tweet.Tweet{ID: "0193a8f0-0000-7000-8000-000000000001", ReceivedAtMs: time.Now().UnixMilli(), Municipality: pb.Municipalities_mixco, Temperature: 20, Humidity: 50, Weather: pb.Weathers_sunny}
	if err := fan.Send(context.Background(), tw); err != nil {
		t.Fatalf("both writers up: %v", err)
	}

	first.Stop() // the writer goes away; its address refuses connections until it is back
	back := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _, err := serveTweetsAt(t, addr, rabbit)
		back <- err
	}()
	tw.ID = "0193a8f0-0000-7000-8000-000000000002"
	err = fan.Send(context.Background(), tw)
	if lerr := <-back; lerr != nil {
		t.Skipf("could not listen on %s again: %v", addr, lerr)
	}
	if err != nil {
		t.Fatalf("sent while the writer restarted: %v, want it accepted once the writer is back", err)
	}
	if n := rabbit.count(); n != 2 {
		t.Fatalf("restarted writer holds %d tweets, want 2", n)
	}
}

// TestAcceptedBodyIsWhatJSONWouldWrite holds writeAccepted to the bytes encoding/json writes for
// the same Accepted value, and isJSON to mime's reading of a Content-Type.
func TestAcceptedBodyIsWhatJSONWouldWrite(t *testing.T) {
	id := tweet.NewID()
	rec := httptest.NewRecorder()
	writeAccepted(rec, id)
	var want strings.Builder
	if err := json.NewEncoder(&want).Encode(Accepted{Status: "accepted", ID: id}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusAccepted || rec.Body.String() != want.String() || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q (%s), want 202 %q (application/json)", rec.Code, rec.Body, rec.Header().Get("Content-Type"), want.String())
	}
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"": false, "text/plain": false, "application/jsonx": false, "application/json;;": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}
