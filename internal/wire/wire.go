// Package wire reads the HTTP/1.x responses supervise's own clients get:
// `supervise check` asking a running supervise, and the Kubernetes API
// asked for supervise's pod. Both send HTTP/1.0 with Connection: close,
// so a response is a status line, headers, and the body up to the end of
// the connection: a few lines of parsing, not net/http's client (which
// would add its transport, TLS and HTTP/2 to a PID 1's binary and
// start-up). One reader for both, fuzzed.
package wire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Response is an HTTP response as ReadResponse reads it.
type Response struct {
	Code int
	// Date is the Date header; zero when absent or not an HTTP date.
	Date time.Time
	Body []byte
}

// ReadResponse reads an HTTP/1.x response from r: its status code, its
// Date header, and its body, which is everything after the headers (the
// request asked the server to close the connection). A chunked body is
// an error: HTTP/1.0 never gets one. Bound r with an io.LimitReader: the
// body is read whole.
func ReadResponse(r *bufio.Reader) (Response, error) {
	var resp Response
	status, err := r.ReadString('\n')
	if err != nil {
		return resp, fmt.Errorf("no status line: %w", err)
	}
	code, err := StatusCode(status)
	if err != nil {
		return resp, err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return resp, fmt.Errorf("headers: %w", err)
		}
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Transfer-Encoding") && !strings.EqualFold(v, "identity"):
			return resp, fmt.Errorf("unexpected Transfer-Encoding %q", v)
		case strings.EqualFold(k, "Date"):
			// RFC 9110's preferred form; servers written in Go send it.
			if t, err := time.Parse(time.RFC1123, v); err == nil {
				resp.Date = t
			}
		}
	}
	resp.Code = code
	resp.Body, err = io.ReadAll(r)
	return resp, err
}

// StatusCode reads the status code of an HTTP/1.x status line
// ("HTTP/1.1 503 Service Unavailable"): 100 to 999.
func StatusCode(line string) (int, error) {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") {
		return 0, fmt.Errorf("not an HTTP status line: %q", firstN(strings.TrimSpace(line), 40))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return 0, fmt.Errorf("bad status code %q", firstN(f[1], 10))
	}
	return code, nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
