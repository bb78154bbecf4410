package health

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/supervise/supervise/internal/supervisor"
)

// Limits of the HTTP server. A probe is a few hundred bytes and answers at
// once, so these are generous for probes and scrapes and stingy for abuse.
const (
	readHeaderTimeout = 2 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 8 << 10
	// DefaultMaxConns caps open connections; more are closed at accept.
	DefaultMaxConns = 64
	// maxScrapes caps concurrent /metrics renderings; more get 503.
	maxScrapes = 4
)

// Server serves the health and metrics endpoints.
type Server struct {
	Status    *supervisor.Status
	Checker   *Checker   // nil: no readiness checks
	Heartbeat *Heartbeat // nil: no heartbeat
	// Metrics renders the Prometheus text exposition; nil: no /metrics.
	Metrics  func() ([]byte, error)
	MaxConns int
	Log      *slog.Logger

	// kubeProbe is the last answer to the kubelet's probe of /livez or
	// /healthz: when (Unix nanoseconds) and whether 200.
	kubeProbeAt atomic.Int64
	kubeProbeOK atomic.Bool

	ln      net.Listener
	scrapes chan struct{}
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
}

// Start serves on ln in the background until Shutdown. It returns at once.
func (s *Server) Start(ln net.Listener) {
	max := s.MaxConns
	if max <= 0 {
		max = DefaultMaxConns
	}
	s.ln = &capListener{Listener: ln, max: int64(max)}
	s.scrapes = make(chan struct{}, maxScrapes)
	s.conns = map[net.Conn]struct{}{}
	go s.accept(s.ln)
}

func (s *Server) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or similar: back off instead of spinning.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !s.track(c, true) {
			c.Close()
			return
		}
		go s.serveConn(c)
	}
}

// track adds or removes a connection; false once the server is closed.
func (s *Server) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed {
			return false
		}
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

// Shutdown closes the listener and every open connection. Call it after
// Start, from the goroutine that called Start.
func (s *Server) Shutdown() {
	if s.ln == nil {
		return
	}
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// serveConn answers requests on one connection until the client closes
// it, asks to, breaks the protocol or lets a deadline pass.
func (s *Server) serveConn(c net.Conn) {
	defer func() {
		s.track(c, false)
		c.Close()
	}()
	br := bufio.NewReaderSize(c, 4096)
	deadline := readHeaderTimeout
	for {
		c.SetReadDeadline(time.Now().Add(deadline))
		req, err := readRequest(br, maxHeaderBytes)
		if err != nil {
			code := map[error]int{errTooLarge: 431, errMalformed: 400, errBody: 413}[err]
			if code != 0 {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write(response(code, "text/plain; charset=utf-8", []byte(err.Error()+"\n"), false, true))
			}
			return
		}
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(s.answer(req)); err != nil || req.close {
			return
		}
		deadline = idleTimeout
	}
}

// answer routes one request and renders the whole response.
func (s *Server) answer(req *request) []byte {
	text := "text/plain; charset=utf-8"
	head := req.method == "HEAD"
	if req.method != "GET" && !head {
		return response(405, text, []byte("method not allowed\n"), false, req.close, "Allow: GET, HEAD")
	}
	switch req.path {
	case "/livez", "/healthz":
		out := s.probe(req, s.live)
		if req.kubelet {
			s.kubeProbeOK.Store(bytes.HasPrefix(out, []byte("HTTP/1.1 200")) || bytes.HasPrefix(out, []byte("HTTP/1.0 200")))
			s.kubeProbeAt.Store(time.Now().UnixNano())
		}
		return out
	case "/readyz":
		return s.probe(req, s.ready)
	case "/metrics":
		if s.Metrics == nil {
			break
		}
		select {
		case s.scrapes <- struct{}{}:
			defer func() { <-s.scrapes }()
		default:
			return response(503, text, []byte("too many scrapes at once\n"), head, req.close)
		}
		body, err := s.Metrics()
		if err != nil {
			return response(503, text, []byte(err.Error()+"\n"), head, req.close)
		}
		return response(200, "text/plain; version=0.0.4; charset=utf-8", body, head, req.close)
	}
	return response(404, text, []byte("not found: try /livez, /readyz, /healthz, /metrics\n"), head, req.close)
}

// KubeletProbe is when supervise last answered the kubelet's probe of
// /livez or /healthz, and whether with 200; zero when it never did. Safe
// for concurrent use.
func (s *Server) KubeletProbe() (time.Time, bool) {
	at := s.kubeProbeAt.Load()
	if at == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, at), s.kubeProbeOK.Load()
}

// live evaluates liveness: the child, and the heartbeat if set.
func (s *Server) live(now time.Time) []Result {
	snap := s.Status.Snapshot()
	child := Result{Name: "child", OK: true, At: now}
	switch {
	case snap.ChildRunning:
	case snap.Restarting:
	case snap.Starts == 0:
		child.OK, child.Reason = false, "not started"
	default:
		child.OK, child.Reason = false, fmt.Sprintf("exited with status %d", snap.LastExitCode)
	}
	out := []Result{child}
	if s.Heartbeat != nil {
		out = append(out, s.Heartbeat.check(now, snap.StartedAt))
	}
	return out
}

// ready evaluates readiness: live, not draining, every check passed.
func (s *Server) ready(now time.Time) []Result {
	out := s.live(now)
	shut := Result{Name: "shutdown", OK: true, At: now}
	if s.Status.Snapshot().Draining {
		shut.OK, shut.Reason = false, "draining: a stop is in progress"
	}
	out = append(out, shut)
	if s.Checker != nil {
		out = append(out, s.Checker.Results()...)
	}
	return out
}

// probe answers a probe: 200 "ok" when every check passes, 503 with the
// list of checks otherwise; "?verbose" always lists them.
func (s *Server) probe(req *request, eval func(time.Time) []Result) []byte {
	results := eval(time.Now())
	ok := true
	for _, res := range results {
		ok = ok && res.OK
	}
	_, verbose := req.query["verbose"]
	head := req.method == "HEAD"
	text := "text/plain; charset=utf-8"
	if ok && !verbose {
		return response(200, text, []byte("ok\n"), head, req.close)
	}
	var b strings.Builder
	for _, res := range results {
		b.WriteString(res.line())
		b.WriteByte('\n')
	}
	name := strings.TrimPrefix(req.path, "/")
	code := 200
	if ok {
		fmt.Fprintf(&b, "%s check passed\n", name)
	} else {
		fmt.Fprintf(&b, "%s check failed\n", name)
		code = 503
	}
	return response(code, text, []byte(b.String()), head, req.close)
}

// capListener closes connections beyond max at once, so a flood of
// clients costs a file descriptor for an instant, never memory that grows.
type capListener struct {
	net.Listener
	max    int64
	active atomic.Int64
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Add(1) > l.max {
			l.active.Add(-1)
			c.Close()
			continue
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

type countedConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.active.Add(-1) })
	return c.Conn.Close()
}
