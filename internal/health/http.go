package health

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// supervise answers a handful of GET endpoints, so it speaks the small part
// of HTTP/1.1 they need with its own code instead of net/http: the standard
// server and client bring TLS, HTTP/2 and X.509 along, about 2.5 MiB of a
// binary that sits in every worker image (see BENCHMARKS.md). What is
// spoken: GET and HEAD, a path and query, keep-alive, Content-Length
// responses. What is refused: request bodies, chunked requests, headers
// over maxHeaderBytes.

// request is a parsed request head.
type request struct {
	method  string
	path    string
	query   url.Values
	version string // "HTTP/1.0" or "HTTP/1.1"
	close   bool   // the connection closes after the response
	// kubelet is true for the kubelet's probes (User-Agent kube-probe/...).
	kubelet bool
}

// Errors reading a request, each with the status it is answered with.
var (
	errTooLarge  = errors.New("request head too large")      // 431
	errMalformed = errors.New("malformed request")           // 400
	errBody      = errors.New("request bodies not accepted") // 413
)

// readRequest reads one request head (request line and headers, up to the
// empty line) of at most max bytes.
func readRequest(br *bufio.Reader, max int) (*request, error) {
	var lines []string
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		n += len(line)
		if n > max {
			return nil, errTooLarge
		}
		if err == bufio.ErrBufferFull {
			return nil, errTooLarge
		}
		if err != nil {
			if n == 0 {
				return nil, err // the client closed between requests
			}
			return nil, errMalformed
		}
		s := strings.TrimRight(string(line), "\r\n")
		if s == "" {
			if len(lines) == 0 {
				continue // a stray empty line before a request is allowed
			}
			break
		}
		lines = append(lines, s)
	}
	return parseHead(lines)
}

// parseHead reads a request line and its header lines.
func parseHead(lines []string) (*request, error) {
	if len(lines) == 0 {
		return nil, errMalformed
	}
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return nil, errMalformed
	}
	r := &request{method: parts[0], version: parts[2]}
	switch r.version {
	case "HTTP/1.1":
	case "HTTP/1.0":
		r.close = true
	default:
		return nil, errMalformed
	}
	u, err := url.ParseRequestURI(parts[1])
	if err != nil || u.Path == "" || u.Path[0] != '/' {
		return nil, errMalformed
	}
	r.path = u.Path
	if r.query, err = url.ParseQuery(u.RawQuery); err != nil {
		return nil, errMalformed
	}
	for _, h := range lines[1:] {
		name, value, ok := strings.Cut(h, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, errMalformed
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "connection":
			for _, tok := range strings.Split(strings.ToLower(value), ",") {
				switch strings.TrimSpace(tok) {
				case "close":
					r.close = true
				case "keep-alive":
					r.close = false
				}
			}
		case "content-length":
			if n, err := strconv.ParseUint(value, 10, 63); err != nil || n > 0 {
				return nil, errBody
			}
		case "transfer-encoding":
			return nil, errBody
		case "user-agent":
			r.kubelet = strings.HasPrefix(value, "kube-probe/")
		}
	}
	return r, nil
}

// statusText names the statuses supervise sends.
var statusText = map[int]string{
	200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
	413: "Content Too Large", 431: "Request Header Fields Too Large", 503: "Service Unavailable",
}

// response renders a complete response.
func response(code int, contentType string, body []byte, head, close bool, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n",
		code, statusText[code], contentType, len(body))
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if close {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	if !head {
		b.Write(body)
	}
	return b.Bytes()
}
