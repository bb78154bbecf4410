package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	readTimeout       = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 8 << 10
	// DefaultMaxConns caps open connections; more are closed at accept.
	DefaultMaxConns = 64
)

// Server serves the health and metrics endpoints.
type Server struct {
	Status    *supervisor.Status
	Checker   *Checker   // nil: no readiness checks
	Heartbeat *Heartbeat // nil: no heartbeat
	Metrics   http.Handler
	MaxConns  int
	Log       *slog.Logger

	srv *http.Server
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", s.probe(s.live))
	mux.HandleFunc("/healthz", s.probe(s.live))
	mux.HandleFunc("/readyz", s.probe(s.ready))
	if s.Metrics != nil {
		mux.Handle("/metrics", s.Metrics)
	}
	return mux
}

// Start serves on ln in the background until Shutdown. It returns at once.
func (s *Server) Start(ln net.Listener) {
	max := s.MaxConns
	if max <= 0 {
		max = DefaultMaxConns
	}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	srv := s.srv
	go func() {
		err := srv.Serve(&capListener{Listener: ln, max: int64(max)})
		if err != nil && !errors.Is(err, http.ErrServerClosed) && s.Log != nil {
			s.Log.Warn("health server stopped", "error", err)
		}
	}()
}

// Shutdown stops the server, waiting at most until ctx ends. Call it
// after Start, from the goroutine that called Start.
func (s *Server) Shutdown(ctx context.Context) {
	if s.srv != nil {
		s.srv.Shutdown(ctx)
	}
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
func (s *Server) probe(eval func(time.Time) []Result) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		results := eval(time.Now())
		ok := true
		for _, res := range results {
			ok = ok && res.OK
		}
		_, verbose := r.URL.Query()["verbose"]
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		name := strings.TrimPrefix(r.URL.Path, "/")
		if ok && !verbose {
			w.Write([]byte("ok\n"))
			return
		}
		var b strings.Builder
		for _, res := range results {
			b.WriteString(res.line())
			b.WriteByte('\n')
		}
		if ok {
			fmt.Fprintf(&b, "%s check passed\n", name)
		} else {
			fmt.Fprintf(&b, "%s check failed\n", name)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(b.String()))
	}
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
