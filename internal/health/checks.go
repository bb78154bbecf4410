package health

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/supervise/supervise/internal/supervisor"
)

// Result is one check's last outcome.
type Result struct {
	Name   string
	OK     bool
	Reason string // why it failed; empty when OK
	Detail string // what a passing check saw, shown after "ok"; may be empty
	Took   time.Duration
	At     time.Time
}

// line renders r as a verbose body line.
func (r Result) line() string {
	if r.OK && r.Detail != "" {
		return "[+]" + r.Name + " ok (" + r.Detail + ")"
	}
	if r.OK {
		return "[+]" + r.Name + " ok"
	}
	return "[-]" + r.Name + " failed: " + r.Reason
}

// Checker runs the readiness checks every Interval, each bounded by
// Timeout, and keeps their last results. Results is safe for concurrent
// use; Run blocks until its context ends.
type Checker struct {
	TCP      []string // HOST:PORT to dial
	Cmd      []string // argv of --health-cmd; nil for none
	Interval time.Duration
	Timeout  time.Duration
	Spawner  *supervisor.Spawner
	// Observe, when set, is told each result (for metrics).
	Observe func(Result)

	mu      sync.Mutex
	results map[string]Result
}

// names lists the checker's checks in order.
func (c *Checker) names() []string {
	var out []string
	for _, a := range c.TCP {
		out = append(out, "tcp:"+a)
	}
	if len(c.Cmd) > 0 {
		out = append(out, "health-cmd")
	}
	return out
}

// Results returns the last result of every check; a check that has not
// run yet is reported as failed ("not run yet").
func (c *Checker) Results() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Result
	for _, n := range c.names() {
		r, ok := c.results[n]
		if !ok {
			r = Result{Name: n, Reason: "not run yet"}
		}
		out = append(out, r)
	}
	return out
}

// Run runs every check at once, then every Interval, until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	if len(c.names()) == 0 {
		return
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		c.runAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Checker) runAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, a := range c.TCP {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.record(ctx, "tcp:"+a, func(ctx context.Context) error { return dial(ctx, a) })
		}()
	}
	if len(c.Cmd) > 0 {
		c.record(ctx, "health-cmd", c.runCmd)
	}
	wg.Wait()
}

func (c *Checker) record(ctx context.Context, name string, check func(context.Context) error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	err := check(ctx)
	r := Result{Name: name, OK: err == nil, Took: time.Since(start), At: start}
	if err != nil {
		r.Reason = err.Error()
	}
	c.mu.Lock()
	if c.results == nil {
		c.results = map[string]Result{}
	}
	c.results[name] = r
	c.mu.Unlock()
	if c.Observe != nil {
		c.Observe(r)
	}
}

func dial(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %v", addr, NetError(err))
	}
	return conn.Close()
}

// NetError drops the "dial tcp ADDR:" or "listen tcp ADDR:" prefix the net
// package adds, for messages that name the address themselves.
func NetError(err error) error {
	if oe, ok := err.(*net.OpError); ok && oe.Err != nil {
		return oe.Err
	}
	return err
}

func (c *Checker) runCmd(ctx context.Context) error {
	if c.Spawner == nil {
		return fmt.Errorf("no spawner")
	}
	res, err := c.Spawner.Run(ctx, c.Cmd)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("timed out after %s", c.Timeout)
		}
		return err
	}
	if res.Status.Exited() && res.Status.ExitStatus() == 0 {
		return nil
	}
	why := fmt.Sprintf("exit status %d", res.Status.ExitStatus())
	if res.Status.Signaled() {
		why = "killed by signal " + res.Status.Signal().String()
	}
	if out := lastLine(res.Output); out != "" {
		why += ": " + out
	}
	return fmt.Errorf("%s", why)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}

// Heartbeat checks that a file's modification time is recent: a worker
// touches it while it makes progress. Before the file first appears, the
// child's start time counts as the last beat, so a starting worker has
// MaxAge to write it.
type Heartbeat struct {
	File   string
	MaxAge time.Duration
}

// Age is the heartbeat's age at now for a child started at started: the
// time since the file was last modified, or since the start while it was
// never written. It is an error when the file cannot be read.
func (h Heartbeat) Age(now, started time.Time) (time.Duration, error) {
	last := started
	if st, err := os.Stat(h.File); err == nil {
		if st.ModTime().After(last) {
			last = st.ModTime()
		}
	} else if !os.IsNotExist(err) {
		return 0, err
	}
	return now.Sub(last), nil
}

// check evaluates the heartbeat at now for a child started at started.
func (h Heartbeat) check(now, started time.Time) Result {
	r := Result{Name: "heartbeat", At: now}
	age, err := h.Age(now, started)
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	if age > h.MaxAge {
		r.Reason = fmt.Sprintf("stale %s > %s", age.Round(time.Second), h.MaxAge)
		if _, err := os.Stat(h.File); os.IsNotExist(err) {
			r.Reason = fmt.Sprintf("%s not written for %s > %s", h.File, age.Round(time.Second), h.MaxAge)
		}
		return r
	}
	r.OK, r.Detail = true, fmt.Sprintf("age %s, max %s", age.Round(time.Second), h.MaxAge)
	return r
}
