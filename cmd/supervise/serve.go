package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/health"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/metrics"
	"github.com/supervise/supervise/internal/supervisor"
)

// healthSetup is the health server and checker, ready to start.
type healthSetup struct {
	ln      net.Listener
	server  *health.Server
	checker *health.Checker
}

// setupHealth reads the health options, opens the listener and fills in
// cfg's Status, Hooks, Spawner and Memory. It returns nil with --listen off
// or when the default address cannot be bound (a warning is logged).
func setupHealth(c *cli.Context, cfg *supervisor.Config) (*healthSetup, error) {
	mem := cgroup.Detect("/sys/fs/cgroup")
	if mem.Version != cgroup.None {
		cfg.Memory = mem
	}
	cfg.Status = &supervisor.Status{}
	listen := c.String("listen")
	if listen == "off" {
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, usagef("invalid --listen %q: want HOST:PORT (like 127.0.0.1:9797 or :9797) or off", listen)
	}
	h := &health.Server{Status: cfg.Status, Log: cfg.Log}
	if f := c.String("heartbeat-file"); f != "" {
		age, err := duration(c, "heartbeat-max-age")
		if err != nil {
			return nil, err
		}
		if age < time.Second {
			return nil, usagef("invalid --heartbeat-max-age %q: must be at least 1s", c.String("heartbeat-max-age"))
		}
		h.Heartbeat = &health.Heartbeat{File: f, MaxAge: age}
	}
	chk := &health.Checker{}
	for _, a := range c.StringSlice("ready-tcp") {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, usagef("invalid --ready-tcp %q: want HOST:PORT, like redis:6379", a)
		}
		chk.TCP = append(chk.TCP, a)
	}
	if cmd := c.String("health-cmd"); cmd != "" {
		words, err := health.SplitWords(cmd)
		if err != nil || len(words) == 0 {
			return nil, usagef("invalid --health-cmd %q: %v", cmd, errOr(err, "empty command"))
		}
		chk.Cmd = words
		cfg.Spawner = supervisor.NewSpawner()
		chk.Spawner = cfg.Spawner
	}
	var err error
	if chk.Interval, err = duration(c, "health-interval"); err != nil {
		return nil, err
	}
	if chk.Timeout, err = duration(c, "health-timeout"); err != nil {
		return nil, err
	}
	if chk.Interval < 100*time.Millisecond || chk.Timeout < 10*time.Millisecond {
		return nil, usagef("invalid --health-interval %q / --health-timeout %q: at least 100ms and 10ms", c.String("health-interval"), c.String("health-timeout"))
	}
	m := metrics.New(mem)
	cfg.Hooks = m
	chk.Observe = func(r health.Result) { m.Check(r.Name, r.OK, r.Took) }
	h.Checker = chk
	h.Metrics = m.Text

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if c.IsSet("listen") {
			return nil, usagef("cannot listen on --listen %s: %v", listen, health.NetError(err))
		}
		cfg.Log.Warn("health server off: cannot listen on the default address", "listen", listen, "error", health.NetError(err))
		return nil, nil
	}
	cfg.Log.Info("health server listening", "listen", ln.Addr().String())
	return &healthSetup{ln: ln, server: h, checker: chk}, nil
}

// start runs the server and the checker in the background.
func (h *healthSetup) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	h.server.Start(h.ln)
	go h.checker.Run(ctx)
	return func() {
		cancel()
		h.server.Shutdown()
	}
}

// runCheck is `supervise check`: probe a running supervise; 0 healthy, 1 not.
func runCheck(c *cli.Context) (int, error) {
	if c.Args().Present() {
		return 0, usagef("check takes no arguments, got %q", c.Args().First())
	}
	timeout, err := ladder.ParseDuration(c.String("timeout"))
	if err != nil || timeout <= 0 {
		return 0, usagef("invalid --timeout %q: want a duration like 3s", c.String("timeout"))
	}
	path := "/livez?verbose"
	if c.Bool("ready") {
		path = "/readyz?verbose"
	}
	url := c.String("url")
	if url == "" {
		listen := c.String("listen")
		if listen == "off" {
			return 0, usagef("the health server is off (--listen off): nothing to check")
		}
		if url, err = health.ProbeURL(listen, path); err != nil {
			return 0, usageError{err.Error()}
		}
	}
	ok, body, err := health.Probe(url, timeout)
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "supervise check: %s: %v\n", url, err)
		return 1, nil
	}
	if !ok {
		fmt.Fprintln(c.App.ErrWriter, body)
		return 1, nil
	}
	return 0, nil
}

func errOr(err error, text string) error {
	if err != nil {
		return err
	}
	return errors.New(text)
}
