package main

import (
	"bytes"
	"errors"
	"strconv"
)

// maxResponse bounds one response (head and body); the gateway's are about 150 bytes.
const maxResponse = 64 << 10

// response is what parseResponse found at the start of a connection's bytes.
type response struct {
	status   int
	complete bool // the whole response is there, and it is length bytes long
	length   int
	untilEOF bool // no length given: the body ends when the server closes the connection
	close    bool // the server will close the connection after this response
}

var errMalformed = errors.New("malformed HTTP/1.1 response")

var crlf = []byte("\r\n")

// parseResponse reads one HTTP/1.1 response from the start of b, which may hold only part of
// it (then complete is false and err nil). The body is delimited by Content-Length, by chunked
// transfer coding, or by the end of the connection, in that order of precedence (RFC 9112 §6.3,
// where chunked wins over a Content-Length).
func parseResponse(b []byte) (response, error) {
	var r response
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) >= maxResponse {
			return r, errMalformed
		}
		return r, nil
	}
	lineEnd := bytes.Index(b, crlf)
	line := b[:lineEnd]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return r, errMalformed
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return r, errMalformed
		}
		r.status = r.status*10 + int(d-'0')
	}
	r.close = line[7] == '0' // HTTP/1.0: no keep-alive unless asked for, and we do not ask
	contentLength, chunked := -1, false
	for rest := b[lineEnd+2 : end+2]; len(rest) > 0; {
		i := bytes.Index(rest, crlf)
		field := rest[:i]
		rest = rest[i+2:]
		colon := bytes.IndexByte(field, ':')
		if colon <= 0 {
			return r, errMalformed
		}
		name, value := field[:colon], bytes.Trim(field[colon+1:], " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > maxResponse || (contentLength >= 0 && n != contentLength) {
				return r, errMalformed
			}
			contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = hasToken(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			r.close = r.close || hasToken(value, "close")
		}
	}
	body := end + 4
	switch {
	case r.status < 200:
		return r, errMalformed // 1xx: never asked for (no Expect header is sent)
	case r.status == 204 || r.status == 304:
		r.complete, r.length = true, body
	case chunked:
		n, ok, err := chunkedEnd(b, body)
		if err != nil {
			return r, err
		}
		r.complete, r.length = ok, n
	case contentLength >= 0:
		r.complete, r.length = len(b) >= body+contentLength, body+contentLength
	default:
		r.untilEOF, r.close = true, true
	}
	return r, nil
}

// chunkedEnd returns where a chunked body that starts at p ends (after its trailer section),
// and false while it is not all there.
func chunkedEnd(b []byte, p int) (int, bool, error) {
	for {
		i := bytes.Index(b[p:], crlf)
		if i < 0 {
			return 0, false, nil
		}
		sizeField := b[p : p+i]
		if semi := bytes.IndexByte(sizeField, ';'); semi >= 0 {
			sizeField = sizeField[:semi] // chunk extensions
		}
		size, err := strconv.ParseUint(string(bytes.Trim(sizeField, " \t")), 16, 32)
		if err != nil || size > maxResponse {
			return 0, false, errMalformed
		}
		p += i + 2
		if size == 0 {
			for { // trailer fields, then an empty line
				j := bytes.Index(b[p:], crlf)
				if j < 0 {
					return 0, false, nil
				}
				p += j + 2
				if j == 0 {
					return p, true, nil
				}
			}
		}
		n := int(size)
		if len(b) < p+n+2 {
			return 0, false, nil
		}
		if !bytes.Equal(b[p+n:p+n+2], crlf) {
			return 0, false, errMalformed
		}
		p += n + 2
	}
}

// hasToken reports whether the comma-separated header value holds token (case-insensitive).
func hasToken(value []byte, token string) bool {
	for part := range bytes.SplitSeq(value, []byte(",")) {
		if bytes.EqualFold(bytes.Trim(part, " \t"), []byte(token)) {
			return true
		}
	}
	return false
}
