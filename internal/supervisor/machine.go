package supervisor

import (
	"log/slog"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/proctree"
)

// The loop's decisions are one function, machine.step: the state and an
// event in, the new state and the actions to carry out. The loop
// (loop.go) only waits for events and carries the actions out
// (actions.go). What step must know of the world, the kernel's and
// /proc's answers, it asks through facts, so every transition is tested
// with fakes (machine_test.go), and the end-to-end tests hold the real
// system.

// eventKind says what happened.
type eventKind int

const (
	// evStop: a stop signal (TERM, INT, or Config.StopSignals), after --rewrite.
	evStop eventKind = iota
	// evSignal: any other signal, to pass on to the child.
	evSignal
	// evExited: the main child exited.
	evExited
	// evStarted: a start of the child succeeded (pid) or failed (err).
	evStarted
	// evDeadline: the phase's deadline (machine.due) has passed.
	evDeadline
	// evGrace: the GraceSource answered for a stop.
	evGrace
	// evReaped: a reap pass has ended; in cleaning the kernel may now say
	// no child is left.
	evReaped
)

func (k eventKind) String() string {
	return [...]string{"stop signal", "signal", "child exited", "child started", "deadline", "grace answer", "reaped"}[k]
}

// event is one thing that happened, at a moment.
type event struct {
	kind eventKind
	at   time.Time
	// received is the signal as it came, sig what --rewrite made of it
	// (evStop, evSignal).
	received, sig syscall.Signal
	// exit is how the main child ended (evExited).
	exit childExit
	// pid and err are a start's result (evStarted).
	pid int
	err error
	// grace is the GraceSource's answer (evGrace).
	grace graceAnswer
}

// childExit is how the main child ended, as the reaper saw it, with what
// the cgroup says about it.
type childExit struct {
	pid    int
	status unix.WaitStatus
	// oom is true when the cgroup's OOM-kill count rose while it ran;
	// limit is the memory limit in words then.
	oom   bool
	limit string
}

// facts is what step may ask of the world. The loop answers from the
// kernel and /proc; the tests from a fake.
type facts interface {
	// childrenLeft reports whether supervise has any child left, exited
	// or not (the kernel's answer, not /proc's).
	childrenLeft() bool
	// leftovers lists the live processes below supervise.
	leftovers() []proctree.Proc
	// planAtStop is the plan made again from the child's command line as
	// it is at the stop; false when it cannot be read.
	planAtStop(pid int) (plan.Plan, bool)
}

// actionKind says what the loop is to do.
type actionKind int

const (
	// doLog: log msg at level with attrs.
	doLog actionKind = iota
	// doForward: pass sig on to the child (its group with -g).
	doForward
	// doRung: send one rung of the ladder (KILL: to the whole tree), wake
	// a stopped child, and log it with msg and attrs.
	doRung
	// doKillTree: send sig to the leftovers in tree.
	doKillTree
	// doStart: start the child; the result comes back as evStarted.
	doStart
	// doAskGrace: ask the GraceSource about the stop under way.
	doAskGrace
	// doDraining: publish that a stop began (readiness 503, metrics).
	doDraining
	// doPlanned: publish when the stop's KILL is planned (at, zero when
	// untimed).
	doPlanned
	// doExited: publish that the child exited with code.
	doExited
	// doRestarting: publish that a restart is pending.
	doRestarting
	// doStopped: publish how the stop went (outcome, drain).
	doStopped
	// doFinish: publish the end and write the stop report; Run returns.
	doFinish
)

func (k actionKind) String() string {
	return [...]string{"log", "forward", "rung", "kill tree", "start", "ask grace", "draining", "planned", "exited", "restarting",
		"stopped", "finish"}[k]
}

// action is one thing for the loop to do.
type action struct {
	kind  actionKind
	level slog.Level
	msg   string
	attrs []any
	// sig is the signal of doForward and doKillTree.
	sig  syscall.Signal
	rung ladder.Rung
	tree []proctree.Proc
	// code is the exit status of doExited.
	code int
	// outcome and drain describe the stop of doStopped.
	outcome string
	drain   time.Duration
	// at is the planned KILL of doPlanned.
	at time.Time
}

// machine is the loop's state. Only step changes it.
type machine struct {
	cfg   *Config
	facts facts

	phase     phase
	pid       int // the main child, in running and stopping; 0 otherwise
	startedAt time.Time
	lastCode  int
	restarts  int
	// restartWait is the last restart's wait, which the next one doubles.
	restartWait time.Duration
	restartAt   time.Time // in backoff: when the child starts again
	// startPlan is the plan made at start from the command line.
	startPlan plan.Plan
	// end is how this Run ends: the stop, the child's end, the cleanup.
	end ending

	out []action // the actions of the step under way
}

// step applies one event and returns the actions to carry out, in order.
// Every (phase, event) pair has a case here or says why it has none.
func (m *machine) step(ev event) []action {
	m.out = nil
	switch ev.kind {
	case evSignal:
		// In every phase: a child that runs gets it; without one there is
		// nobody to pass it to.
		m.forward(ev.sig)
	case evStop:
		switch m.phase {
		case running:
			m.startStop(ev)
		case stopping:
			m.repeatStop(ev)
		case backoff:
			m.stopInBackoff(ev)
		case cleaning:
			m.stopWhileCleaning(ev)
		case starting, done:
			// starting lasts no longer than one step; done takes nothing.
		}
	case evExited:
		// Only running and stopping have a main child to exit.
		if m.phase == running || m.phase == stopping {
			m.childExited(ev)
		}
	case evStarted:
		if m.phase == starting {
			m.started(ev)
		}
	case evDeadline:
		if at := m.due(); at.IsZero() || ev.at.Before(at) {
			break // an early or stale timer
		}
		switch m.phase {
		case stopping:
			m.fireRungs(ev.at)
		case backoff:
			m.restartAt = time.Time{}
			m.startChild()
		case cleaning:
			m.cleanupDeadline(ev.at)
		case starting, running, done:
			// No deadlines of their own.
		}
	case evGrace:
		// Only the stop it was asked for, while it is under way, uses it.
		if m.phase == stopping && ev.grace.stop == m.end.stopID {
			m.graceLearned(ev)
		} else {
			m.log(slog.LevelDebug, "grace period answer after the stop ended: ignored")
		}
	case evReaped:
		// The kernel's answer decides, not a /proc listing: a process in
		// the middle of exiting can vanish from /proc before it is reaped.
		if m.phase == cleaning && !m.facts.childrenLeft() {
			m.finish()
		}
	}
	return m.out
}

// due is the phase's next deadline; zero when it has none.
func (m *machine) due() time.Time {
	switch m.phase {
	case stopping:
		if m.end.steps != nil {
			at, _ := m.end.steps.Due()
			return at
		}
	case backoff:
		return m.restartAt
	case cleaning:
		return m.end.clean.at
	}
	return time.Time{}
}

// acceptsHelpers reports whether helper commands may still start.
func (m *machine) acceptsHelpers() bool { return m.phase != cleaning && m.phase != done }

func (m *machine) emit(a action) { m.out = append(m.out, a) }

func (m *machine) log(level slog.Level, msg string, attrs ...any) {
	m.emit(action{kind: doLog, level: level, msg: msg, attrs: attrs})
}

// forward passes sig on to the child, when there is one.
func (m *machine) forward(sig syscall.Signal) {
	if m.pid == 0 {
		m.log(slog.LevelDebug, "no child to forward to", "signal", signalName(sig), "phase", m.phase.String())
		return
	}
	m.emit(action{kind: doForward, sig: sig})
}

// startChild asks the loop for a start; started gets the result.
func (m *machine) startChild() {
	m.phase = starting
	m.emit(action{kind: doStart})
}

// started applies a start's result: the child runs, or supervise ends
// with the shell's status for a command that cannot run.
func (m *machine) started(ev event) {
	if ev.err != nil {
		m.lastCode = startFailedCode(ev.err)
		m.log(slog.LevelError, ev.err.Error(), "exit_code", m.lastCode)
		m.finish()
		return
	}
	m.phase, m.pid, m.startedAt = running, ev.pid, ev.at
}

// finish ends the loop with the stop report; Run returns lastCode.
func (m *machine) finish() {
	m.phase = done
	m.emit(action{kind: doFinish})
}
