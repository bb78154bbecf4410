package main

import (
	"context"
	"log/slog"
	"net"
	"runtime"
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
func (in input) health(log *slog.Logger) (*healthParts, error) {
	c := in.c
	hp := &healthParts{status: &supervisor.Status{}}
	mem := cgroup.Detect("/sys/fs/cgroup")
	if mem.Version != cgroup.None {
		hp.memory = mem
	}
	for _, w := range memoryWarnings(mem) {
		log.Warn(w)
	}
	if mem.Version != cgroup.None && mem.Note != "" {
		log.Info(mem.Note)
	}
	listen := c.String("listen")
	if err := health.CheckListen(listen); err != nil {
		return nil, in.bad("listen", listen, err)
	}
	h := &health.Server{Status: hp.status, Log: log}
	age, err := in.checkedDuration("heartbeat-max-age", health.CheckHeartbeatAge)
	if err != nil {
		return nil, err
	}
	if f := c.String("heartbeat-file"); f != "" {
		h.Heartbeat = &health.Heartbeat{File: f, MaxAge: age}
	}
	chk := &health.Checker{}
	for _, a := range c.StringSlice("ready-tcp") {
		if err := health.CheckTCP(a); err != nil {
			return nil, in.bad("ready-tcp", a, err)
		}
		chk.TCP = append(chk.TCP, a)
	}
	var words []string
	if cmd := c.String("health-cmd"); cmd != "" {
		if words, err = health.CheckCmd(cmd); err != nil {
			return nil, in.invalid("health-cmd", err)
		}
	}
	if chk.Interval, err = in.checkedDuration("health-interval", health.CheckInterval); err != nil {
		return nil, err
	}
	if chk.Timeout, err = in.checkedDuration("health-timeout", health.CheckTimeout); err != nil {
		return nil, err
	}
	if listen == "off" {
		return hp, nil
	}
	if len(words) > 0 {
		chk.Cmd = words
		hp.spawner = supervisor.NewSpawner()
		chk.Spawner = hp.spawner
	}
	m := metrics.New(mem, metrics.Build{Version: buildVersion(), Revision: buildCommit(), GoVersion: runtime.Version()})
	if hb := h.Heartbeat; hb != nil {
		status := hp.status
		m.HeartbeatAge(func() (time.Duration, bool) {
			snap := status.Snapshot()
			if !snap.ChildRunning {
				return 0, false
			}
			age, err := hb.Age(time.Now(), snap.StartedAt)
			return age, err == nil
		})
	}
	hp.hooks = m
	chk.Observe = func(r health.Result) { m.Check(r.Name, r.OK, r.Took) }
	h.Checker = chk
	h.Metrics = m.Text

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if c.IsSet("listen") {
			return nil, usagef("cannot listen on %s %s: %v", in.source("listen"), listen, health.NetError(err))
		}
		log.Warn("health server off: cannot listen on the default address", "listen", listen, "error", health.NetError(err))
		return hp, nil
	}
	log.Info("health server listening", "listen", ln.Addr().String())
	hp.ln, hp.server, hp.checker = ln, h, chk
	return hp, nil
}

// memoryWarnings are what the cgroup gives to say at start and in
// supervise plan: no memory accounting, and a cgroup that kills as a group.
func memoryWarnings(mem cgroup.Memory) []string {
	var out []string
	if mem.Version == cgroup.None && mem.Note != "" {
		out = append(out, mem.Note)
	}
	if mem.OOMGroup() {
		out = append(out, mem.OOMGroupWarning())
	}
	return out
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

// checkedDuration reads a duration option and checks it with check.
func (in input) checkedDuration(name string, check func(time.Duration) error) (time.Duration, error) {
	d, err := in.duration(name)
	if err != nil {
		return 0, err
	}
	if err := check(d); err != nil {
		return 0, in.bad(name, in.c.String(name), err)
	}
	return d, nil
}
