package health

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/metrics"
	"github.com/supervise/supervise/internal/supervisor"
)

// Options are the health options, durations parsed, checked by Open.
type Options struct {
	// Listen is the server's HOST:PORT, or "off"; ListenGiven says the
	// user chose it, so failing to bind it is an error rather than a
	// warning.
	Listen      string
	ListenGiven bool
	// HeartbeatFile, when set, must be touched within HeartbeatMaxAge.
	HeartbeatFile   string
	HeartbeatMaxAge time.Duration
	// ReadyTCP and Cmd are the readiness checks, run every Interval, each
	// bounded by Timeout.
	ReadyTCP          []string
	Cmd               string
	Interval, Timeout time.Duration
	// Memory is supervise's cgroup (cgroup.Detect), for the metrics and the
	// supervisor's OOM diagnosis; Build is what supervise_build_info says.
	Memory cgroup.Memory
	Build  metrics.Build
}

// The options Open and Check check, by their command-line names
// (OptionError.Option).
const (
	OptURL             = "url"
	OptListen          = "listen"
	OptHeartbeatMaxAge = "heartbeat-max-age"
	OptReadyTCP        = "ready-tcp"
	OptHealthCmd       = "health-cmd"
	OptInterval        = "health-interval"
	OptTimeout         = "health-timeout"
)

// OptionError is an option Open or Check refused: Option names it (Opt*);
// Value is the text given, or the one item of a list, and empty for a
// duration (Options holds it parsed: the caller has its text); Bind is
// true when the address was right but could not be listened on.
type OptionError struct {
	Option, Value string
	Bind          bool
	Err           error
}

func (e *OptionError) Error() string {
	if e.Bind {
		return fmt.Sprintf("cannot listen on %s: %v", e.Value, e.Err)
	}
	return fmt.Sprintf("invalid %s %q: %v", e.Option, e.Value, e.Err)
}

// Service is what the health options build: the pieces the supervisor
// publishes to and reads (supervisor.Config's Status, Hooks, Spawner and
// Memory), and the server and checker, ready to start (nil with listen
// off, or when the default address cannot be bound).
type Service struct {
	Status  *supervisor.Status
	Hooks   supervisor.Hooks
	Spawner *supervisor.Spawner
	Memory  supervisor.MemoryInfo // nil when the cgroup accounts no memory

	ln      net.Listener
	server  *Server
	checker *Checker
}

// Open checks every option, even with listen off, logs what the cgroup
// gives to say (cgroup.Memory.Warnings, Note), then builds the server, its
// checks and the metrics, and opens the listener. A default address
// that cannot be bound turns the server off with a warning; one the user
// chose is an *OptionError, as is every value out of bounds.
func Open(o Options, log *slog.Logger) (*Service, error) {
	bad := func(name, value string, err error) error { return &OptionError{Option: name, Value: value, Err: err} }
	if err := CheckListen(o.Listen); err != nil {
		return nil, bad(OptListen, o.Listen, err)
	}
	if err := CheckHeartbeatAge(o.HeartbeatMaxAge); err != nil {
		return nil, bad(OptHeartbeatMaxAge, "", err)
	}
	for _, a := range o.ReadyTCP {
		if err := CheckTCP(a); err != nil {
			return nil, bad(OptReadyTCP, a, err)
		}
	}
	var words []string
	if o.Cmd != "" {
		var err error
		if words, err = CheckCmd(o.Cmd); err != nil {
			return nil, bad(OptHealthCmd, o.Cmd, err)
		}
	}
	if err := CheckInterval(o.Interval); err != nil {
		return nil, bad(OptInterval, "", err)
	}
	if err := CheckTimeout(o.Timeout); err != nil {
		return nil, bad(OptTimeout, "", err)
	}
	s := &Service{Status: &supervisor.Status{}}
	for _, w := range o.Memory.Warnings() {
		log.Warn(w)
	}
	if o.Memory.Version != cgroup.None {
		s.Memory = o.Memory
		if o.Memory.Note != "" {
			log.Info(o.Memory.Note)
		}
	}
	if o.Listen == "off" {
		return s, nil
	}
	h := &Server{Status: s.Status, Log: log}
	chk := &Checker{TCP: o.ReadyTCP, Interval: o.Interval, Timeout: o.Timeout}
	if len(words) > 0 {
		chk.Cmd = words
		s.Spawner = supervisor.NewSpawner()
		chk.Spawner = s.Spawner
	}
	m := metrics.New(o.Memory, o.Build)
	if o.HeartbeatFile != "" {
		hb := &Heartbeat{File: o.HeartbeatFile, MaxAge: o.HeartbeatMaxAge}
		h.Heartbeat = hb
		m.HeartbeatAge(func() (time.Duration, bool) {
			snap := s.Status.Snapshot()
			if !snap.ChildRunning {
				return 0, false
			}
			age, err := hb.Age(time.Now(), snap.StartedAt)
			return age, err == nil
		})
	}
	s.Hooks = m
	chk.Observe = func(r Result) { m.Check(r.Name, r.OK, r.Took) }
	h.Checker = chk
	h.Metrics = m.Text

	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		if o.ListenGiven {
			return nil, &OptionError{Option: OptListen, Value: o.Listen, Bind: true, Err: NetError(err)}
		}
		log.Warn("health server off: cannot listen on the default address", "listen", o.Listen, "error", NetError(err))
		return s, nil
	}
	log.Info("health server listening", "listen", ln.Addr().String())
	s.ln, s.server, s.checker = ln, h, chk
	return s, nil
}

// Apply puts the pieces the supervisor publishes to and reads into cfg.
func (s *Service) Apply(cfg *supervisor.Config) {
	cfg.Status, cfg.Hooks, cfg.Spawner, cfg.Memory = s.Status, s.Hooks, s.Spawner, s.Memory
}

// Server is the health server and the address it listens on; nil when
// there is none.
func (s *Service) Server() (*Server, net.Addr) {
	if s.server == nil {
		return nil, nil
	}
	return s.server, s.ln.Addr()
}

// Start runs the server and the checker in the background, if there is a
// server; the function it returns stops them.
func (s *Service) Start() (stop func()) {
	if s.server == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.server.Start(s.ln)
	go s.checker.Run(ctx)
	return func() {
		cancel()
		s.server.Shutdown()
	}
}
