package supervisor

import (
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/proctree"
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

// loop is one Run: it waits for events, hands each to the machine, and
// gives the actions to the executor (executor.go). Only the goroutine
// running Run touches it.
type loop struct {
	cfg   *Config
	log   *slog.Logger
	hooks Hooks
	m     machine
	x     executor

	chld, stopSig, fwd, drop chan os.Signal

	spawns <-chan *spawnReq  // nil without a Spawner
	aux    map[int]*spawnReq // helper commands running, by pid
}

// Run starts the child and supervises it until it is gone for good, then
// returns supervise's exit status. It blocks for the child's whole life and
// must be called at most once per process, from any goroutine. cfg is
// taken as it is (the command line checks each value where it parses it);
// Run fills in, in its own copy, only what needs no choice (a logger, no
// hooks, no rewrites). cfg is a pointer so that the caller's frame holds
// no copy of it for the call: the loop's frames sit under that one for
// the process's life, and start-up fits the stack a goroutine starts with
// (see cmd/supervise's run).
func Run(given *Config) int {
	cfg := *given
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Hooks == nil {
		cfg.Hooks = noHooks{}
	}
	if cfg.Rewrite == nil {
		cfg.Rewrite = signals.Rewrite{}
	}
	if cfg.CloseFiles {
		proctree.CloseInheritedFiles()
	}
	l := &loop{
		cfg:     &cfg,
		log:     cfg.Log,
		hooks:   cfg.Hooks,
		chld:    make(chan os.Signal, chldBuffer),
		stopSig: make(chan os.Signal, stopBuffer),
		fwd:     make(chan os.Signal, forwardBuffer),
		drop:    make(chan os.Signal, 8),
		aux:     map[int]*spawnReq{},
	}
	l.x = executor{cfg: &cfg, log: cfg.Log, hooks: cfg.Hooks, status: cfg.Status, graces: make(chan graceAnswer, 1)}
	defer l.x.cmdline.Close()
	l.m = machine{cfg: &cfg, facts: systemFacts{cfg: &cfg, log: cfg.Log, x: &l.x}}
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
	l.handle(event{kind: evBegin, at: time.Now(), plan: l.startPlan()})
	l.reap()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for !l.m.over() {
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
			l.handle(event{kind: evDeadline, at: time.Now()})
		case req := <-l.spawns:
			l.spawn(req)
		case a := <-l.x.graces:
			l.handle(event{kind: evGrace, at: time.Now(), grace: a})
		}
	}
	return l.m.lastCode
}

// handle gives one event to the machine and the actions it decides to
// the executor, in order. A start's result is the next event, handled
// after the actions of this one: nothing re-enters the machine.
func (l *loop) handle(ev event) {
	for queue := []event{ev}; len(queue) > 0; queue = queue[1:] {
		for _, a := range l.m.step(queue[0]) {
			if next, ok := l.x.do(a); ok {
				queue = append(queue, next)
			}
		}
	}
}

// startPlan is the plan of a stop made at start: the command line's
// (Config.StartPlan), or made here.
func (l *loop) startPlan() plan.Plan {
	if l.cfg.StartPlan != nil {
		return *l.cfg.StartPlan
	}
	return plan.Make(l.cfg.PlanOptions(), l.cfg.Argv, plan.StartEnv(l.cfg.Env))
}

// subscribe routes every catchable signal into the loop's channels. A
// signal that supervise was started with ignored (nohup ignores HUP, a
// shell's background job INT, job control TTIN, TTOU and TSTP) is left
// ignored, so the child inherits the ignore, as it would under tini. The
// kernel still shows those as ignored here, because the Go runtime leaves
// them alone until asked (it takes over PIPE, XFSZ, SEGV and the other
// faults before main, so an ignore of those cannot be seen, nor kept).
func (l *loop) subscribe() {
	ignored := proctree.IgnoredAtStart()
	keep := func(s syscall.Signal) bool {
		if ignored[s] || signal.Ignored(s) {
			l.log.Info("signal ignored at start stays ignored", "signal", signals.Name(s))
			return true
		}
		return false
	}
	signal.Notify(l.chld, unix.SIGCHLD)
	// PIPE: a write to a vanished stdout must not kill PID 1. TTIN/TTOU:
	// caught rather than ignored, so the child does not inherit an ignore
	// it was not started with.
	signal.Notify(l.drop, unix.SIGPIPE)
	for _, s := range []syscall.Signal{unix.SIGTTIN, unix.SIGTTOU} {
		if !keep(s) {
			signal.Notify(l.drop, s)
		}
	}
	for _, s := range signals.Forwardable() {
		if keep(s) {
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

// received turns one signal into an event: --rewrite first, then a stop
// or a signal to pass on.
func (l *loop) received(sig syscall.Signal) {
	l.hooks.SignalReceived(sig)
	to, ok := l.cfg.Rewrite.Apply(sig)
	if !ok {
		l.log.Debug("signal dropped by --rewrite", "signal", signals.Name(sig))
		return
	}
	kind := evSignal
	if l.isStop(to) {
		kind = evStop
	}
	l.handle(event{kind: kind, at: time.Now(), received: sig, sig: to})
}

// isStop reports whether sig starts a stop: TERM, INT, or the
// orchestrator's own stop signal when it is another (Config.StopSignals).
func (l *loop) isStop(sig syscall.Signal) bool {
	return signals.IsStop(sig) || slices.Contains(l.cfg.StopSignals, sig)
}

// reap collects every exited process and acts on the main child's exit.
func (l *loop) reap() {
	orphans := 0
	n := reaper.ReapAll(func(e reaper.Exit) {
		if e.PID == l.m.pid && l.m.pid != 0 {
			x := childExit{pid: e.PID, status: e.Status}
			x.oom, x.limit = l.x.oomKilled(e.Status)
			l.handle(event{kind: evExited, at: time.Now(), exit: x})
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
	l.handle(event{kind: evReaped, at: time.Now()})
}

// arm sets the timer to the machine's next deadline, or stops it.
func (l *loop) arm(t *time.Timer) {
	next := l.m.due()
	if next.IsZero() {
		t.Stop()
		return
	}
	t.Reset(time.Until(next))
}
