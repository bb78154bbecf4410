package supervisor

import (
	"log/slog"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/proctree"
)

// The loop's decisions are one function, machine.step: the state and an
// event in, the new state and the actions to carry out. The loop
// (loop.go) only waits for events and hands the actions to the executor
// (executor.go), which carries each out from what the action itself says
// and never reads the machine. What step must know of the world, the
// kernel's and /proc's answers, it asks through facts, so every
// transition is tested with fakes (machine_test.go), and the end-to-end
// tests hold the real system.

// eventKind says what happened.
type eventKind int

const (
	// evBegin: Run has begun; the event carries the plan made at start.
	evBegin eventKind = iota
	// evStop: a stop signal (TERM, INT, or Config.StopSignals), after --rewrite.
	evStop
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
	// evAnnounce: the stop's first rung is out; what can wait for it
	// (readiness, the grace lookup, the log lines) is done now.
	evAnnounce
)

func (k eventKind) String() string {
	return [...]string{"begin", "stop signal", "signal", "child exited", "child started", "deadline", "grace answer", "reaped",
		"announce"}[k]
}

// event is one thing that happened, at a moment.
type event struct {
	kind eventKind
	at   time.Time
	// plan is the plan made at start (evBegin).
	plan plan.Plan
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
	// planAtStop is the plan of a stop of the child pid that comes now,
	// from start, the plan made at start, and the child's command line as
	// it is now (plan.AtStop); changed is true when the preset changed.
	planAtStop(start plan.Plan, pid int) (p plan.Plan, changed bool)
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
// It is the only writer of the phase: each handler returns the phase that
// follows. Every (phase, event) pair has a case here or says why it has
// none.
func (m *machine) step(ev event) []action {
	m.out = nil
	m.phase = m.next(ev)
	return m.out
}

// next is the phase after ev, with the actions it takes emitted.
func (m *machine) next(ev event) phase {
	p := m.phase
	switch ev.kind {
	case evBegin:
		if p == initial {
			return m.begin(ev)
		}
		// Run begins once.
	case evSignal:
		// In every phase: a child that runs gets it; without one there is
		// nobody to pass it to.
		m.forward(ev.sig)
	case evStop:
		switch p {
		case running:
			return m.startStop(ev)
		case stopping:
			m.repeatStop(ev)
		case backoff:
			return m.stopInBackoff(ev)
		case cleaning:
			return m.stopWhileCleaning(ev)
		case initial, starting, done:
			// initial and starting last no longer than one step each;
			// done takes nothing.
		}
	case evExited:
		// Only running and stopping have a main child to exit.
		if p == running || p == stopping {
			return m.childExited(ev)
		}
	case evStarted:
		if p == starting {
			return m.started(ev)
		}
	case evDeadline:
		if at := m.due(); at.IsZero() || ev.at.Before(at) {
			break // an early or stale timer
		}
		switch p {
		case stopping:
			m.fireRungs(ev.at)
		case backoff:
			return m.startChild()
		case cleaning:
			return m.cleanupDeadline(ev.at)
		case initial, starting, running, done:
			// No deadlines of their own.
		}
	case evGrace:
		// Only while the stop's ladder runs: once the child has exited
		// there is nothing left to plan.
		if p == stopping {
			m.graceLearned(ev)
		} else {
			m.log(slog.LevelDebug, "grace period answer after the stop ended: ignored")
		}
	case evReaped:
		// The kernel's answer decides, not a /proc listing: a process in
		// the middle of exiting can vanish from /proc before it is reaped.
		if p == cleaning && !m.facts.childrenLeft() {
			return m.finish()
		}
	case evAnnounce:
		// It follows the stop signal's own step at once, before any other
		// event: the stop is still under way.
		if p == stopping {
			m.announce(ev)
		}
	}
	return p
}

// due is the phase's next deadline; zero when it has none.
func (m *machine) due() time.Time {
	switch m.phase {
	case stopping:
		if m.end.progress != nil {
			at, _ := m.end.progress.Due()
			return at
		}
	case backoff:
		return m.restartAt
	case cleaning:
		return m.end.clean.at
	}
	return time.Time{}
}

// over reports whether Run is finished.
func (m *machine) over() bool { return m.phase == done }

// acceptsHelpers reports whether helper commands may still start.
func (m *machine) acceptsHelpers() bool { return m.phase != cleaning && m.phase != done }

func (m *machine) emit(a action) { m.out = append(m.out, a) }

func (m *machine) log(level slog.Level, msg string, attrs ...any) {
	m.emit(logLine{level: level, msg: msg, attrs: attrs})
}

// forward passes sig on to the child, when there is one.
func (m *machine) forward(sig syscall.Signal) {
	if m.pid == 0 {
		m.log(slog.LevelDebug, "no child to forward to", "signal", signalName(sig), "phase", m.phase.String())
		return
	}
	m.emit(forwardSignal{pid: m.pid, sig: sig})
}

// begin takes the plan made at start, says which stop protocol applies,
// why, and what a stop will do, and asks for the first start.
func (m *machine) begin(ev event) phase {
	m.startPlan = ev.plan
	msg, attrs := m.startPlan.StartLine()
	m.log(slog.LevelInfo, msg, attrs...)
	for _, w := range m.startPlan.Warnings {
		m.log(slog.LevelWarn, w)
	}
	for _, n := range m.startPlan.Notes {
		m.log(slog.LevelInfo, n)
	}
	return m.startChild()
}

// startChild asks the executor for a start; started gets the result.
func (m *machine) startChild() phase {
	m.restartAt = time.Time{}
	m.emit(startChild{})
	return starting
}

// started applies a start's result: the child runs, or supervise ends
// with the shell's status for a command that cannot run.
func (m *machine) started(ev event) phase {
	if ev.err != nil {
		m.lastCode = startFailedCode(ev.err)
		m.log(slog.LevelError, ev.err.Error(), "exit_code", m.lastCode)
		return m.finish()
	}
	m.pid, m.startedAt = ev.pid, ev.at
	return running
}

// finish ends the loop with the stop report; Run returns lastCode.
func (m *machine) finish() phase {
	a := finish{}
	if m.end.child.exit != "" { // the child ran
		r := m.report()
		a.report = &r
	}
	m.emit(a)
	return done
}
