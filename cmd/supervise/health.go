package main

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/health"
	"github.com/supervise/supervise/internal/metrics"
	"github.com/supervise/supervise/internal/supervisor"
)

// healthParts is what the health options build: the pieces the supervisor
// publishes to, and the server and checker, ready to start (nil with
// --listen off, or when the default address cannot be bound).
type healthParts struct {
	status  *supervisor.Status
	hooks   supervisor.Hooks
	spawner *supervisor.Spawner
	memory  supervisor.MemoryInfo

	ln      net.Listener
	server  *health.Server
	checker *health.Checker
}

// health reads the health options, all of them checked even with
// --listen off, and opens the listener.
func (in input) health(cfg supervisor.Config) (*healthParts, error) {
	c := in.c
	hp := &healthParts{status: &supervisor.Status{}}
	mem := cgroup.Detect("/sys/fs/cgroup")
	if mem.Version != cgroup.None {
		hp.memory = mem
	}
	listen := c.String("listen")
	if _, _, err := net.SplitHostPort(listen); err != nil && listen != "off" {
		return nil, usagef("invalid %s %q: want HOST:PORT (like 127.0.0.1:9797 or :9797) or off", in.source("listen"), listen)
	}
	h := &health.Server{Status: hp.status, Log: cfg.Log}
	age, err := in.duration("heartbeat-max-age")
	if err != nil {
		return nil, err
	}
	if age < time.Second {
		return nil, usagef("invalid %s %q: must be at least 1s", in.source("heartbeat-max-age"), c.String("heartbeat-max-age"))
	}
	if f := c.String("heartbeat-file"); f != "" {
		h.Heartbeat = &health.Heartbeat{File: f, MaxAge: age}
	}
	chk := &health.Checker{}
	for _, a := range c.StringSlice("ready-tcp") {
		_, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return nil, usagef("invalid %s %q: want HOST:PORT with a port from 1 to 65535, like redis:6379", in.source("ready-tcp"), a)
		}
		chk.TCP = append(chk.TCP, a)
	}
	var words []string
	if cmd := c.String("health-cmd"); cmd != "" {
		if words, err = health.SplitWords(cmd); err != nil || len(words) == 0 {
			return nil, in.invalid("health-cmd", errOr(err, "empty command"))
		}
	}
	if chk.Interval, err = in.duration("health-interval"); err != nil {
		return nil, err
	}
	if chk.Interval < 100*time.Millisecond {
		return nil, usagef("invalid %s %q: must be at least 100ms", in.source("health-interval"), c.String("health-interval"))
	}
	if chk.Timeout, err = in.duration("health-timeout"); err != nil {
		return nil, err
	}
	if chk.Timeout < 10*time.Millisecond {
		return nil, usagef("invalid %s %q: must be at least 10ms", in.source("health-timeout"), c.String("health-timeout"))
	}
	if listen == "off" {
		return hp, nil
	}
	if len(words) > 0 {
		chk.Cmd = words
		hp.spawner = supervisor.NewSpawner()
		chk.Spawner = hp.spawner
	}
	m := metrics.New(mem)
	hp.hooks = m
	chk.Observe = func(r health.Result) { m.Check(r.Name, r.OK, r.Took) }
	h.Checker = chk
	h.Metrics = m.Text

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if c.IsSet("listen") {
			return nil, usagef("cannot listen on %s %s: %v", in.source("listen"), listen, health.NetError(err))
		}
		cfg.Log.Warn("health server off: cannot listen on the default address", "listen", listen, "error", health.NetError(err))
		return hp, nil
	}
	cfg.Log.Info("health server listening", "listen", ln.Addr().String())
	hp.ln, hp.server, hp.checker = ln, h, chk
	return hp, nil
}

// apply puts the parts the supervisor publishes to into cfg.
func (hp *healthParts) apply(cfg *supervisor.Config) {
	cfg.Status, cfg.Hooks, cfg.Spawner, cfg.Memory = hp.status, hp.hooks, hp.spawner, hp.memory
}

// start runs the server and the checker in the background, if there is a
// server; the function it returns stops them.
func (hp *healthParts) start() (stop func()) {
	if hp.server == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	hp.server.Start(hp.ln)
	go hp.checker.Run(ctx)
	return func() {
		cancel()
		hp.server.Shutdown()
	}
}

func errOr(err error, text string) error {
	if err != nil {
		return err
	}
	return errors.New(text)
}
