package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"tweetsdelclima/internal/tweet"
)

// latencyBuckets (seconds) for the gateway's histograms: fine around the latency objective,
// p99 <= 50 ms at 1000 tweets/s (docs/benchmarks.md), so that bench/pipeline.sh can tell from
// /metrics which share of requests met it.
var latencyBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2, 5}

var (
	httpRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_http_requests_total",
		Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	httpSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gateway_http_request_seconds",
		Help:    "HTTP request duration by route.",
		Buckets: latencyBuckets,
	}, []string{"route"})
)

// Accepted is the 202 body.
type Accepted struct {
	Status string `json:"status"`
	ID     string `json:"id"`
}

// ErrorBody is every error body: which field is wrong (when one is) and why.
type ErrorBody struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	ID      string `json:"id,omitempty"`
}

// Handler returns the REST router: POST /tweets, GET /healthz, GET /readyz.
func Handler(f *Fanout, readyz http.HandlerFunc, log *slog.Logger) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Post("/tweets", instrument("/tweets", postTweet(f, log)))
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	r.Get("/readyz", readyz)
	return r
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func instrument(route string, h http.HandlerFunc) http.HandlerFunc {
	seconds := httpSeconds.WithLabelValues(route)
	accepted := httpRequests.WithLabelValues(route, strconv.Itoa(http.StatusAccepted)) // the usual answer
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(rec, r)
		requests := accepted
		if rec.code != http.StatusAccepted {
			requests = httpRequests.WithLabelValues(route, strconv.Itoa(rec.code))
		}
		requests.Inc()
		seconds.Observe(time.Since(start).Seconds())
	}
}

// jsonContentType is every response's Content-Type, shared: assigned to the header map it
// costs no allocation (net/http copies header values when it writes them).
var jsonContentType = []string{"application/json"}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func postTweet(f *Fanout, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isJSON(r.Header.Get("Content-Type")) {
			writeJSON(w, http.StatusUnsupportedMediaType, ErrorBody{Error: "unsupported media type", Field: "Content-Type",
				Message: "must be application/json"})
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Error: "request too large", Field: "body",
					Message: "must be at most " + strconv.Itoa(tweet.MaxBodyBytes) + " bytes"})
				return
			}
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "unreadable body", Field: "body", Message: err.Error()})
			return
		}
		t, ferr := tweet.ParseJSON(body)
		if ferr == nil {
			ferr = identity(r, &t)
		}
		if ferr != nil {
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "invalid tweet", Field: ferr.Field, Message: ferr.Message})
			return
		}
		if err := f.Send(r.Context(), t); err != nil {
			var oe *OverloadedError
			if errors.As(err, &oe) { // counted and logged (once a second) by the Fanout
				w.Header().Set("Retry-After", "1")
				writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "overloaded", Message: oe.Error(), ID: t.ID})
				return
			}
			log.Warn("tweet not stored by every broker", "id", t.ID, "err", err)
			writeJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "brokers unavailable", Message: err.Error(), ID: t.ID})
			return
		}
		writeAccepted(w, t.ID)
	}
}

// readBody reads the request body, at most tweet.MaxBodyBytes (more is an
// *http.MaxBytesError). A body whose length is declared and within the limit, as every
// client's is, is read into a buffer of exactly that size: io.ReadAll would start at 512
// bytes for a body of ~80.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= tweet.MaxBodyBytes {
		body := make([]byte, n)
		// net/http's body reader stops at the declared length; fewer bytes is an error.
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, tweet.MaxBodyBytes))
}

// isJSON reports whether a Content-Type is application/json (with any parameters).
func isJSON(contentType string) bool {
	if contentType == "application/json" { // what every client sends: no parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// writeAccepted writes the 202 body, the bytes json.Encoder would write for
// Accepted{"accepted", id}, without its reflection: it is every tweet's answer. The id is a
// canonical UUID (identity makes or validates it), so it needs no escaping.
func writeAccepted(w http.ResponseWriter, id string) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusAccepted)
	b := make([]byte, 0, len(acceptedPrefix)+len(id)+len(acceptedSuffix))
	b = append(append(append(b, acceptedPrefix...), id...), acceptedSuffix...)
	_, _ = w.Write(b)
}

const acceptedPrefix, acceptedSuffix = `{"status":"accepted","id":"`, "\"}\n"

// identity takes the tweet's id and received-at time from the api's headers, or makes them
// when the gateway is called directly.
func identity(r *http.Request, t *tweet.Tweet) *tweet.FieldError {
	t.ID, t.ReceivedAtMs = r.Header.Get(tweet.HeaderID), tweet.NowMs()
	if t.ID == "" {
		t.ID = tweet.NewID()
	} else if ferr := tweet.ValidateID(t.ID); ferr != nil {
		return &tweet.FieldError{Field: tweet.HeaderID, Message: ferr.Message}
	}
	if v := r.Header.Get(tweet.HeaderReceivedAt); v != "" {
		ms, ferr := tweet.ParseMs(v)
		if ferr != nil {
			return &tweet.FieldError{Field: tweet.HeaderReceivedAt, Message: ferr.Message}
		}
		t.ReceivedAtMs = ms
	}
	return nil
}
