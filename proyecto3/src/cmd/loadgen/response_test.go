package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	for _, c := range []struct {
		name, raw string
		want      response
		err       bool
	}{
		{name: "content-length", raw: "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
			want: response{status: 202, complete: true}},
		{name: "header names in any case", raw: "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nCONNECTION: Close\r\n\r\n",
			want: response{status: 503, complete: true, close: true}},
		{name: "no reason phrase", raw: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
			want: response{status: 200, complete: true}},
		{name: "chunked, with an extension and a trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n1\r\n\n\r\n0\r\nT: v\r\n\r\n",
			want: response{status: 200, complete: true}},
		{name: "chunked wins over content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
			want: response{status: 200, complete: true}},
		{name: "204 has no body", raw: "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
			want: response{status: 204, complete: true}},
		{name: "HTTP/1.0 closes", raw: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
			want: response{status: 200, complete: true, close: true}},
		{name: "no length: until the connection ends", raw: "HTTP/1.1 200 OK\r\n\r\nabc",
			want: response{status: 200, untilEOF: true, close: true}},
		{name: "more after the response is not part of it", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1",
			want: response{status: 200, complete: true, length: 39}},
		{name: "not HTTP", raw: "SSH-2.0-OpenSSH\r\n\r\n", err: true},
		{name: "status not a number", raw: "HTTP/1.1 2x2 OK\r\n\r\n", err: true},
		{name: "status of four digits", raw: "HTTP/1.1 2020 OK\r\n\r\n", err: true},
		{name: "field without colon", raw: "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}", err: true},
		{name: "negative length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: true},
		{name: "two different lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", err: true},
		{name: "chunk size not hex", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: true},
		{name: "chunk longer than its size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", err: true},
		{name: "interim 100", raw: "HTTP/1.1 100 Continue\r\n\r\n", err: true},
		{name: "head too long", raw: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxResponse), err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.want.complete && c.want.length == 0 {
				c.want.length = len(c.raw) // the whole input, unless the case says otherwise
			}
			got, err := parseResponse([]byte(c.raw))
			if c.err {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("got %+v, %v; want errMalformed", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
			if got.complete && got.length > len(c.raw) {
				t.Fatalf("length %d past the %d bytes given", got.length, len(c.raw))
			}
		})
	}
}

// A response that arrives in pieces is never complete, nor an error, before its last byte.
func TestParseResponseEveryPrefixIsIncomplete(t *testing.T) {
	const body202 = `{"id":"0192f5d4-4b8e-7c3a-9f1e-123456789abc","status":"accepted"}` + "\n"
	for _, raw := range []string{
		fmt.Sprintf("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body202), body202),
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n",
	} {
		full, err := parseResponse([]byte(raw))
		if err != nil || !full.complete || full.length != len(raw) {
			t.Fatalf("whole response: %+v, %v; want complete, %d bytes", full, err, len(raw))
		}
		for n := range len(raw) {
			got, err := parseResponse([]byte(raw[:n]))
			if err != nil || got.complete {
				t.Fatalf("first %d of %d bytes: %+v, %v; want incomplete", n, len(raw), got, err)
			}
		}
	}
}

// Whatever a server sends, parseResponse does not panic, a complete response lies within the
// bytes given, and a response found complete in a prefix is found the same in the whole.
func FuzzParseResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\n{}\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.0 503 Busy\r\nConnection: close\r\n\r\nbody",
		"HTTP/1.1 204 No Content\r\n\r\n",
	} {
		f.Add([]byte(seed), uint16(7))
	}
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		r, err := parseResponse(b)
		if err != nil {
			return
		}
		if r.complete && (r.length > len(b) || r.length <= 0) {
			t.Fatalf("complete with length %d of %d bytes", r.length, len(b))
		}
		if r.status == 0 && !r.complete && !r.untilEOF {
			return // the head is not all there yet
		}
		if r.status < 200 || r.status > 999 {
			t.Fatalf("status %d accepted: %+v", r.status, r)
		}
		p := int(cut) % (len(b) + 1)
		pr, perr := parseResponse(b[:p])
		if perr == nil && pr.complete && (pr.length != r.length || pr.status != r.status || !r.complete) {
			t.Fatalf("prefix of %d bytes: %+v; whole: %+v", p, pr, r)
		}
	})
}
