package health

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/supervise/supervise/internal/supervisor"
)

func TestReadRequest(t *testing.T) {
	good := map[string]request{
		"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n":                     {method: "GET", path: "/livez", version: "HTTP/1.1"},
		"GET /readyz?verbose HTTP/1.0\r\n\r\n":                       {method: "GET", path: "/readyz", version: "HTTP/1.0", close: true},
		"HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n":        {method: "HEAD", path: "/metrics", version: "HTTP/1.1", close: true},
		"\r\nGET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n":      {method: "GET", path: "/x", version: "HTTP/1.0"},
		"GET /livez HTTP/1.1\r\nContent-Length: 0\r\nX: a:b\r\n\r\n": {method: "GET", path: "/livez", version: "HTTP/1.1"},
	}
	for in, want := range good {
		r, err := readRequest(bufio.NewReader(strings.NewReader(in)), maxHeaderBytes)
		if err != nil || r.method != want.method || r.path != want.path || r.version != want.version || r.close != want.close {
			t.Errorf("readRequest(%q) = %+v, %v; want %+v", in, r, err, want)
		}
	}
	bad := map[string]error{
		"GET /livez\r\n\r\n":                                                  errMalformed,
		"GET livez HTTP/1.1\r\n\r\n":                                          errMalformed,
		"GET /livez HTTP/2\r\n\r\n":                                           errMalformed,
		"GET /livez HTTP/1.1\r\nno colon\r\n\r\n":                             errMalformed,
		"GET /livez HTTP/1.1\r\nContent-Length: 5\r\n\r\n":                    errBody,
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n":               errBody,
		"GET /livez HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n": errTooLarge,
		// Many short lines: each fits the read buffer, the head does not.
		"GET /livez HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 1400) + "\r\n": errTooLarge,
		"GET /livez HTTP/1.1\r\nHost: x\r\n":                                    errMalformed,
	}
	for in, want := range bad {
		_, err := readRequest(bufio.NewReader(strings.NewReader(in)), maxHeaderBytes)
		if err != want {
			t.Errorf("readRequest(%.40q) error %v, want %v", in, err, want)
		}
	}
}

// The server over a real socket: keep-alive, HEAD, 404, 405, 431 and the
// Probe client.
func TestServerSocket(t *testing.T) {
	st := &supervisor.Status{}
	s := &Server{Status: st, Metrics: func() ([]byte, error) { return []byte("m 1\n"), nil }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start(ln)
	defer s.Shutdown()
	addr := ln.Addr().String()

	ok, body, err := Probe("http://"+addr+"/livez?verbose", time.Second)
	if err != nil || ok || !strings.Contains(body, "[-]child failed: not started") {
		t.Errorf("probe before a child: %v %q %v", ok, body, err)
	}

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	ask := func(req string) (int, string) {
		t.Helper()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, req)
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%q: %v", req, err)
		}
		length := 0
		for {
			h, _ := br.ReadString('\n')
			if h == "\r\n" {
				break
			}
			if v, ok := strings.CutPrefix(h, "Content-Length: "); ok {
				length = atoi(strings.TrimSpace(v))
			}
		}
		b := make([]byte, length)
		if !strings.HasPrefix(req, "HEAD") {
			io.ReadFull(br, b)
		}
		return atoi(strings.Fields(line)[1]), string(b)
	}
	// Several requests on one connection.
	if code, b := ask("GET /metrics HTTP/1.1\r\n\r\n"); code != 200 || b != "m 1\n" {
		t.Errorf("/metrics: %d %q", code, b)
	}
	if code, _ := ask("GET /nope HTTP/1.1\r\n\r\n"); code != 404 {
		t.Errorf("/nope: %d", code)
	}
	if code, _ := ask("POST /livez HTTP/1.1\r\n\r\n"); code != 405 {
		t.Errorf("POST: %d", code)
	}
	if code, _ := ask("HEAD /readyz HTTP/1.1\r\n\r\n"); code != 503 {
		t.Errorf("HEAD /readyz: %d", code)
	}
	if code, _ := ask("GET /livez HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n"); code != 431 {
		t.Errorf("huge header: %d", code)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return n
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func FuzzReadRequest(f *testing.F) {
	f.Add("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
	f.Add("GET /readyz?verbose&x=%zz HTTP/1.0\r\n\r\n")
	f.Add("HEAD / HTTP/1.1\r\nConnection: close, keep-alive\r\nContent-Length: -1\r\n\r\n")
	f.Add("\r\n\r\n")
	f.Add("GET /livez HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 1400) + "\r\n")
	f.Add("GET /livez HTTP/1.1\r\n" + strings.Repeat("X-A: b\r\n", 1000) + "\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		src := strings.NewReader(in)
		br := bufio.NewReaderSize(src, 4096)
		r, err := readRequest(br, maxHeaderBytes)
		if err != nil {
			return
		}
		if r.path == "" || r.path[0] != '/' || (r.version != "HTTP/1.0" && r.version != "HTTP/1.1") {
			t.Fatalf("accepted %+v from %q", r, in)
		}
		// The whole head, every line of it, is bounded: what readRequest
		// consumed (read from the source, less what is still buffered).
		if used := len(in) - src.Len() - br.Buffered(); used > maxHeaderBytes {
			t.Fatalf("accepted a head of %d bytes, over %d", used, maxHeaderBytes)
		}
	})
}

// Start and Shutdown leave no goroutine behind, open connections included.
func TestServerLeaksNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	s := &Server{Status: &supervisor.Status{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /livez HTTP/1.1\r\n\r\n")
	bufio.NewReader(c).ReadString('\n')
	s.Shutdown()
	c.Close()
	// The connection goroutine ends once its read fails.
	for i := 0; i < 100 && goleak.Find() != nil; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}
