package supervisor

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/reaper"
	"github.com/supervise/supervise/internal/signals"
)

// Channel sizes. SIGCHLD is a doorbell, so one pending ring is enough.
// Stop signals get a channel of their own so a flood of forwarded signals
// can never crowd one out. The forward channel is deliberately large: the
// os/signal package drops a signal when a channel is full.
const (
	chldBuffer    = 1
	stopBuffer    = 64
	forwardBuffer = 4096
)

// loop is the state of one Run. Only the goroutine running Run touches it.
type loop struct {
	cfg    *Config
	log    *slog.Logger
	hooks  Hooks
	status *Status

	chld, stopSig, fwd, drop chan os.Signal

	phase     phase
	pid       int // the main child, in running and stopping; 0 otherwise
	startedAt time.Time
	lastCode  int
	restarts  int
	backoff   time.Duration // the last restart wait
	restartAt time.Time     // in backoff: when the child starts again
	stop      *stopRun      // from the first stop signal on
	// startChoice is the preset picked at start, from the command line.
	startChoice Choice
	clean       cleanup  // in cleaning
	end         childEnd // how the main child last ended

	graces chan graceAnswer // answers of cfg.GraceSource

	oomAtStart uint64            // the cgroup's OOM kills when the child started
	spawns     <-chan *spawnReq  // nil without a Spawner
	aux        map[int]*spawnReq // helper commands running, by pid
}

// Run starts the child and supervises it until it is gone for good, then
// returns supervise's exit status. It blocks for the child's whole life and
// must be called at most once per process, from any goroutine. cfg must
// have passed Validate; Run fills in only what needs no choice (a logger,
// no hooks, no rewrites).
func Run(cfg Config) int {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Hooks == nil {
		cfg.Hooks = noHooks{}
	}
	if cfg.Rewrite == nil {
		cfg.Rewrite = signals.Rewrite{}
	}
	l := &loop{
		cfg:     &cfg,
		log:     cfg.Log,
		hooks:   cfg.Hooks,
		status:  cfg.Status,
		chld:    make(chan os.Signal, chldBuffer),
		stopSig: make(chan os.Signal, stopBuffer),
		fwd:     make(chan os.Signal, forwardBuffer),
		drop:    make(chan os.Signal, 8),
		graces:  make(chan graceAnswer, 1),
		aux:     map[int]*spawnReq{},
	}
	if cfg.Spawner != nil {
		l.spawns = cfg.Spawner.reqs
		defer close(cfg.Spawner.done)
	}
	return l.run()
}

func (l *loop) run() int {
	// Subscribe before the child exists, so no SIGCHLD or stop is missed.
	// The subscriptions are never undone: Run is the last thing supervise
	// does, and each signal.Stop costs a handshake with the runtime.
	l.subscribe()
	l.becomeReaper()
	l.announcePlan()

	if err := l.startChild(); err != nil {
		return l.startFailed(err)
	}
	l.reap()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for l.phase != done {
		l.arm(timer)
		select {
		case <-l.chld:
			l.reap()
		case s := <-l.stopSig:
			l.received(s.(syscall.Signal))
		case s := <-l.fwd:
			l.received(s.(syscall.Signal))
		case s := <-l.drop:
			l.log.Debug("dropped signal", "signal", signals.Name(s.(syscall.Signal)))
		case <-timer.C:
			l.tick(time.Now())
		case req := <-l.spawns:
			l.spawn(req)
		case a := <-l.graces:
			l.graceLearned(a, time.Now())
		}
	}
	return l.lastCode
}

// subscribe routes every catchable signal into the loop's channels. A
// signal that supervise was started with ignored (the Go runtime can tell
// this for HUP and INT, as nohup and shells' background jobs set them) is
// left ignored, so the child inherits the ignore, as it would under tini.
func (l *loop) subscribe() {
	signal.Notify(l.chld, unix.SIGCHLD)
	// PIPE: a write to a vanished stdout must not kill PID 1. TTIN/TTOU:
	// caught rather than ignored, so the child does not inherit an ignore.
	signal.Notify(l.drop, unix.SIGPIPE, unix.SIGTTIN, unix.SIGTTOU)
	for _, s := range signals.Forwardable() {
		if signal.Ignored(s) {
			l.log.Info("signal ignored at start stays ignored", "signal", signals.Name(s))
			continue
		}
		if l.isStop(s) {
			signal.Notify(l.stopSig, s)
		} else {
			signal.Notify(l.fwd, s)
		}
	}
}

// becomeReaper sets up orphan reaping: PID 1 reaps by nature, -s makes
// supervise a subreaper, and otherwise it warns once, as tini does.
func (l *loop) becomeReaper() {
	if reaper.IsPID1() {
		return
	}
	if l.cfg.Subreaper {
		if err := reaper.SetSubreaper(); err != nil {
			l.log.Warn("cannot become a subreaper", "syscall", "prctl(PR_SET_CHILD_SUBREAPER)", "error", err)
		}
		return
	}
	if !reaper.IsSubreaper() {
		l.log.Warn("not running as PID 1 and not a subreaper: orphaned processes will not be reaped; run as PID 1 or add -s")
	}
}

// received acts on one signal: rewrite, then stop or forward.
func (l *loop) received(sig syscall.Signal) {
	l.hooks.SignalReceived(sig)
	to, ok := l.cfg.Rewrite.Apply(sig)
	if !ok {
		l.log.Debug("signal dropped by --rewrite", "signal", signals.Name(sig))
		return
	}
	if !l.isStop(to) {
		l.forward(to)
		return
	}
	now := time.Now()
	switch l.phase {
	case running:
		l.startStop(now, sig, to)
	case stopping:
		l.repeatStop(now, sig, to)
	case backoff:
		l.log.Info("stop requested while a restart was pending: not restarting", "signal", signals.Name(sig))
		l.stop = &stopRun{requestedAt: now, by: sig}
		l.beginCleanup(now)
	case cleaning:
		l.stopWhileCleaning(sig)
	}
}

// isStop reports whether sig starts a stop: TERM, INT, or the
// orchestrator's own stop signal when it is another (Config.StopSignals).
func (l *loop) isStop(sig syscall.Signal) bool {
	return signals.IsStop(sig) || slices.Contains(l.cfg.StopSignals, sig)
}

// forward sends sig to the main child, or to its process group with -g.
func (l *loop) forward(sig syscall.Signal) {
	if l.pid == 0 {
		l.log.Debug("no child to forward to", "signal", signals.Name(sig), "phase", l.phase.String())
		return
	}
	if err := l.signalChild(sig); err != nil {
		l.log.Warn("forwarding failed", "signal", signals.Name(sig), "pid", l.pid, "syscall", "kill", "error", err)
		return
	}
	l.hooks.SignalForwarded(sig)
	l.log.Debug("forwarded signal", "signal", signals.Name(sig), "pid", l.pid, "group", l.cfg.Group)
}

// signalChild sends sig to the main child, or its group with -g. The child
// leads its own process group, so the group id is its pid.
func (l *loop) signalChild(sig syscall.Signal) error {
	target := l.pid
	if l.cfg.Group {
		target = -l.pid
	}
	err := unix.Kill(target, sig)
	if errors.Is(err, unix.ESRCH) && l.cfg.Group {
		// The leader may be gone while its group lives on, or the reverse.
		err = unix.Kill(l.pid, sig)
	}
	return err
}

// reap collects every exited process and acts on the main child's exit.
func (l *loop) reap() {
	orphans := 0
	n := reaper.ReapAll(func(e reaper.Exit) {
		if e.PID == l.pid && l.pid != 0 {
			l.mainExited(e, time.Now())
			return
		}
		if l.auxExited(e.PID, e.Status) {
			return
		}
		orphans++
		if l.cfg.WarnOnReap {
			l.log.Warn("reaped zombie process", "pid", e.PID, "status", describe(e.Status))
		}
	})
	if n > 0 {
		l.hooks.Reaped(n)
		if orphans > 0 {
			l.log.Debug("reaped orphans", "count", orphans)
		}
	}
	if l.phase == cleaning && !reaper.HasChildren() {
		// The kernel's answer decides, not a /proc listing: a process in
		// the middle of exiting can vanish from /proc before it is reaped.
		l.finish()
	}
}

// due is the phase's next deadline; zero when it has none.
func (l *loop) due() time.Time {
	switch l.phase {
	case stopping:
		if l.stop.steps != nil {
			at, _ := l.stop.steps.Due()
			return at
		}
	case backoff:
		return l.restartAt
	case cleaning:
		return l.clean.at
	}
	return time.Time{}
}

// arm sets the timer to the phase's next deadline, or stops it.
func (l *loop) arm(t *time.Timer) {
	next := l.due()
	if next.IsZero() {
		t.Stop()
		return
	}
	t.Reset(time.Until(next))
}

// tick handles the phase's deadline once it has passed.
func (l *loop) tick(now time.Time) {
	if at := l.due(); at.IsZero() || now.Before(at) {
		return
	}
	switch l.phase {
	case stopping:
		l.fireRungs(now)
	case backoff:
		l.restartAt = time.Time{}
		if err := l.startChild(); err != nil {
			l.lastCode = l.startFailed(err)
			l.finish()
		}
	case cleaning:
		l.cleanupDeadline(now)
	}
}

// finish ends the loop with the stop report; Run returns lastCode.
func (l *loop) finish() {
	l.phase = done
	l.status.update(func(s *Snapshot) { s.ChildRunning = false; s.Restarting = false })
	l.writeReport()
}
