package supervisor

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/proctree"
)

// fakeFacts answers the machine as a test sets it.
type fakeFacts struct {
	children bool
	left     []proctree.Proc
	atStop   *plan.Plan
}

func (f *fakeFacts) childrenLeft() bool         { return f.children }
func (f *fakeFacts) leftovers() []proctree.Proc { return f.left }
func (f *fakeFacts) planAtStop(start plan.Plan, _ int) (plan.Plan, bool) {
	if f.atStop == nil {
		return start, false
	}
	return *f.atStop, f.atStop.Preset != start.Preset
}

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// exitStatus is a wait status for an exit with code.
func exitStatus(code int) unix.WaitStatus { return unix.WaitStatus(code << 8) }

// A configuration every (phase, event) pair runs in: a two-signal preset
// with a grace period, the generic ladder without one (tini's behaviour:
// repeats are forwarded, no deadline), and plain forwarding.
type machineConfig struct {
	name   string
	preset string
	budget ladder.Budget
}

var (
	hueyTimed      = machineConfig{"huey at 10s", "huey", ladder.Budget{Grace: 10 * time.Second}}
	genericUntimed = machineConfig{"generic without a grace", ladder.Generic, ladder.Budget{}}
	forwarding     = machineConfig{"none", "none", ladder.Budget{Grace: 10 * time.Second}}
	configs        = []machineConfig{hueyTimed, genericUntimed, forwarding}
)

// planned is the ladder c plans, as ladder.Size makes it: tests take
// every expected time from it, never from a literal.
func (c machineConfig) planned(t *testing.T) ladder.Ladder {
	t.Helper()
	p, ok := ladder.Lookup(c.preset)
	if !ok {
		t.Fatalf("no preset %s", c.preset)
	}
	l, _ := ladder.Size(p, c.budget)
	return l
}

// stopAt is when the set-ups send their stop signal.
const stopAt = time.Second

// newMachine is a machine in configuration c that has begun and started
// its child, pid 42, at t0.
func newMachine(t *testing.T, c machineConfig, change func(*Config)) (*machine, *fakeFacts) {
	t.Helper()
	cfg := &Config{Argv: []string{"worker"}, Preset: c.preset, Timing: plan.Timing{Budget: c.budget}, CleanupGrace: 2 * time.Second, Restart: RestartNo}
	if change != nil {
		change(cfg)
	}
	f := &fakeFacts{}
	m := &machine{cfg: cfg, facts: f}
	p := plan.Make(cfg.PlanOptions(), cfg.Argv, nil)
	m.step(event{kind: evBegin, at: t0, plan: p})
	m.step(event{kind: evStarted, at: t0, pid: 42})
	return m, f
}

// A set-up brings a fresh machine (running, pid 42) to a state by the
// events that lead there.
type setup struct {
	name string
	want phase
	run  func(m *machine, f *fakeFacts)
}

func stopEvent(d time.Duration) event {
	return event{kind: evStop, at: at(d), received: unix.SIGTERM, sig: unix.SIGTERM}
}

// stepAll steps ev and the events its actions come back with, as the
// loop does (doAnnounce brings evAnnounce), and returns every action.
func stepAll(m *machine, ev event) []action {
	var all []action
	for queue := []event{ev}; len(queue) > 0; queue = queue[1:] {
		acts := m.step(queue[0])
		all = append(all, acts...)
		for _, a := range acts {
			if a.kind() == doAnnounce {
				queue = append(queue, event{kind: evAnnounce, at: queue[0].at})
			}
		}
	}
	return all
}

func exitEvent(d time.Duration, code int) event {
	return event{kind: evExited, at: at(d), exit: childExit{pid: 42, status: exitStatus(code)}}
}

var (
	inInitial = setup{"initial", initial, func(m *machine, f *fakeFacts) {
		*m = machine{cfg: m.cfg, facts: f}
	}}
	inStarting = setup{"starting", starting, func(m *machine, f *fakeFacts) {
		*m = machine{cfg: m.cfg, facts: f}
		m.step(event{kind: evBegin, at: t0, plan: plan.Make(m.cfg.PlanOptions(), m.cfg.Argv, nil)})
	}}
	inRunning  = setup{"running", running, func(*machine, *fakeFacts) {}}
	inStopping = setup{"stopping", stopping, func(m *machine, f *fakeFacts) { stepAll(m, stopEvent(stopAt)) }}
	// stopping, before the stop signal's announcement: the first rung is
	// out, nothing else yet.
	inStoppingUnannounced = setup{"stopping, first rung out", stopping, func(m *machine, f *fakeFacts) { m.step(stopEvent(stopAt)) }}
	inBackoff             = setup{"backoff", backoff, func(m *machine, f *fakeFacts) {
		m.cfg.Restart = RestartAlways
		m.step(exitEvent(time.Second, 3))
	}}
	// cleaning: the child exited on its own and left a process behind.
	inCleaning = setup{"cleaning", cleaning, func(m *machine, f *fakeFacts) {
		f.children, f.left = true, []proctree.Proc{{PID: 50, PPID: 1}}
		m.step(exitEvent(time.Second, 0))
	}}
	// cleaning after a stop: a stop signal, then the child's exit with a
	// process left; the stop is remembered.
	inCleaningStopped = setup{"cleaning after a stop", cleaning, func(m *machine, f *fakeFacts) {
		stepAll(m, stopEvent(stopAt))
		f.children, f.left = true, []proctree.Proc{{PID: 50, PPID: 1}}
		m.step(exitEvent(2*time.Second, 0))
	}}
	inDone = setup{"done", done, func(m *machine, f *fakeFacts) { m.step(exitEvent(time.Second, 0)) }}
)

// expect is what one step must do: the phase after it, the actions other
// than log lines in order, and a log line (or rung) that must be among
// them.
type expect struct {
	phase phase
	acts  []actionKind
	msg   string
}

func kinds(acts []action) []actionKind {
	var out []actionKind
	for _, a := range acts {
		if a.kind() != doLog {
			out = append(out, a.kind())
		}
	}
	return out
}

// childPID is the pid a signal to the child goes to (forwardSignal,
// sendRung); false for any other action.
func childPID(a action) (int, bool) {
	switch a := a.(type) {
	case forwardSignal:
		return a.pid, true
	case sendRung:
		return a.pid, true
	}
	return 0, false
}

func logged(acts []action) string {
	var msgs []string
	for _, a := range acts {
		switch a := a.(type) {
		case logLine:
			msgs = append(msgs, a.msg)
		case sendRung:
			msgs = append(msgs, a.line.msg)
		}
	}
	return strings.Join(msgs, " | ")
}

// Every (phase, event) pair, in each configuration, with the reason for
// what it does.
func TestMachineTransitions(t *testing.T) {
	begin := event{kind: evBegin}
	sig := event{kind: evSignal, received: unix.SIGHUP, sig: unix.SIGHUP}
	exited := event{kind: evExited, exit: childExit{pid: 42, status: exitStatus(0)}}
	startedOK := event{kind: evStarted, pid: 43}
	startedErr := event{kind: evStarted, err: &startError{ExitNotFound, errors.New(`cannot run "x": not found in $PATH`)}}
	deadline := event{kind: evDeadline}
	grace := event{kind: evGrace, grace: graceAnswer{Grace: Grace{Period: 20 * time.Second, From: "test"}}}
	graceFailed := event{kind: evGrace, grace: graceAnswer{err: errors.New("403 Forbidden")}}
	reaped := event{kind: evReaped}
	announce := event{kind: evAnnounce}
	stop := event{kind: evStop, received: unix.SIGTERM, sig: unix.SIGTERM}

	// atDrainEnd is when the drain of c's ladder ends, from its plan.
	atDrainEnd := func(t *testing.T, c machineConfig) time.Duration {
		l := c.planned(t)
		if di := l.DrainIndex(); di >= 0 && l.Timed {
			return stopAt + l.Rungs[di].Wait
		}
		return stopAt + time.Hour // untimed, or no ladder: no deadline ever
	}
	// afterFirstRung is the earliest a repeated stop may send the next
	// rung: MinSpacing after the first.
	afterFirstRung := func(*testing.T, machineConfig) time.Duration { return stopAt + ladder.MinSpacing }
	fixed := func(d time.Duration) func(*testing.T, machineConfig) time.Duration {
		return func(*testing.T, machineConfig) time.Duration { return d }
	}
	same := func(e expect) map[string]expect {
		return map[string]expect{hueyTimed.name: e, genericUntimed.name: e, forwarding.name: e}
	}
	by := func(h, g, n expect) map[string]expect {
		return map[string]expect{hueyTimed.name: h, genericUntimed.name: g, forwarding.name: n}
	}
	firstRung := expect{stopping, []actionKind{doRung, doAnnounce}, ""}
	forwardsStop := expect{stopping, []actionKind{doForward, doAnnounce}, ""}
	forwardsAgain := expect{stopping, []actionKind{doForward}, "stop signal received again: forwarding"}

	cases := []struct {
		from setup
		ev   event
		when func(*testing.T, machineConfig) time.Duration // the event's time after t0
		want map[string]expect                             // by configuration
		why  string
	}{
		{inInitial, begin, fixed(0), same(expect{starting, []actionKind{doStart}, "stop protocol"}), "Run begins: the plan is said, the child started"},
		{inInitial, stop, fixed(0), same(expect{initial, nil, ""}), "nothing runs before Run begins"},
		{inInitial, sig, fixed(0), same(expect{initial, nil, "no child to forward to"}), "no child to pass it to"},
		{inInitial, exited, fixed(0), same(expect{initial, nil, ""}), "no main child runs"},
		{inInitial, startedOK, fixed(0), same(expect{initial, nil, ""}), "no start was asked for"},
		{inInitial, deadline, fixed(0), same(expect{initial, nil, ""}), "initial has no deadline"},
		{inInitial, grace, fixed(0), same(expect{initial, nil, "ignored"}), "no stop is under way"},
		{inInitial, reaped, fixed(0), same(expect{initial, nil, ""}), "only cleaning ends on the kernel's answer"},
		{inInitial, announce, fixed(0), same(expect{initial, nil, ""}), "only a stop is announced"},

		{inStarting, begin, fixed(0), same(expect{starting, nil, ""}), "Run begins once"},
		{inStarting, stop, fixed(0), same(expect{starting, nil, ""}), "a start lasts no longer than the step that asked for it: nothing to stop yet"},
		{inStarting, sig, fixed(0), same(expect{starting, nil, "no child to forward to"}), "no child to pass it to"},
		{inStarting, exited, fixed(0), same(expect{starting, nil, ""}), "no main child runs: an exit in starting is an orphan's"},
		{inStarting, startedOK, fixed(0), same(expect{running, nil, ""}), "the child runs"},
		{inStarting, startedErr, fixed(0), same(expect{done, []actionKind{doFinish}, "not found"}), "a command that cannot run ends supervise (127)"},
		{inStarting, deadline, fixed(0), same(expect{starting, nil, ""}), "starting has no deadline"},
		{inStarting, grace, fixed(0), same(expect{starting, nil, "ignored"}), "no stop is under way"},
		{inStarting, reaped, fixed(0), same(expect{starting, nil, ""}), "only cleaning ends on the kernel's answer"},
		{inStarting, announce, fixed(0), same(expect{starting, nil, ""}), "only a stop is announced"},

		{inRunning, begin, fixed(stopAt), same(expect{running, nil, ""}), "Run begins once"},
		{inRunning, stop, fixed(stopAt), by(firstRung, firstRung, forwardsStop),
			"the first stop signal sends the first rung, or forwards it as it came (none), and nothing else: the rest waits for evAnnounce"},
		{inRunning, announce, fixed(stopAt), same(expect{running, nil, ""}), "only a stop is announced"},
		{inRunning, sig, fixed(stopAt), same(expect{running, []actionKind{doForward}, ""}), "other signals go to the child"},
		{inRunning, exited, fixed(stopAt), same(expect{done, []actionKind{doExited, doFinish}, "child exited"}), "no restart policy, nothing left: the end"},
		{inRunning, startedOK, fixed(stopAt), same(expect{running, nil, ""}), "a start result only counts in starting"},
		{inRunning, startedErr, fixed(stopAt), same(expect{running, nil, ""}), "a start result only counts in starting"},
		{inRunning, deadline, fixed(stopAt), same(expect{running, nil, ""}), "running has no deadline"},
		{inRunning, grace, fixed(stopAt), same(expect{running, nil, "ignored"}), "no stop is under way"},
		{inRunning, reaped, fixed(stopAt), same(expect{running, nil, ""}), "orphans were reaped; the child runs on"},

		{inStopping, begin, fixed(2 * time.Second), same(expect{stopping, nil, ""}), "Run begins once"},
		{inStopping, stop, fixed(2 * time.Second), by(expect{stopping, nil, "advancing the ladder"}, forwardsAgain, forwardsAgain),
			"a repeated stop advances, but not before MinSpacing after the last rung; without a grace the generic ladder and none forward it"},
		{inStopping, stop, afterFirstRung, by(expect{stopping, []actionKind{doRung}, "stop rung: escalating"}, forwardsAgain, forwardsAgain),
			"MinSpacing after the first rung the repeat sends the next at once"},
		{inStopping, sig, fixed(2 * time.Second), same(expect{stopping, []actionKind{doForward}, ""}), "other signals still go to the child"},
		{inStopping, exited, fixed(2 * time.Second), same(expect{done, []actionKind{doExited, doStopped, doFinish}, "child stopped"}), "the stop is over; nothing is left"},
		{inStopping, startedOK, fixed(2 * time.Second), same(expect{stopping, nil, ""}), "a start result only counts in starting"},
		{inStopping, deadline, fixed(2 * time.Second), same(expect{stopping, nil, ""}), "a timer before the rung is due is stale"},
		{inStopping, deadline, atDrainEnd, by(expect{stopping, []actionKind{doRung}, "stop rung: escalating"}, expect{stopping, nil, ""}, expect{stopping, nil, ""}),
			"the drain deadline sends the next rung; an untimed ladder and none have no deadline"},
		{inStopping, grace, fixed(2 * time.Second), by(
			expect{stopping, []actionKind{doPlanned}, "planned to end before it"},
			expect{stopping, []actionKind{doPlanned}, "planned to end before it"},
			expect{stopping, []actionKind{doPlanned}, "preset none: no timer"}),
			"the API's grace replans the ladder from the stop signal; none has no timer to plan"},
		{inStopping, graceFailed, fixed(2 * time.Second), by(
			expect{stopping, nil, "keeping 10s"}, expect{stopping, nil, "the ladder stays untimed"}, expect{stopping, nil, "keeping 10s"}),
			"a failed lookup keeps the plan there is"},
		{inStopping, reaped, fixed(2 * time.Second), same(expect{stopping, nil, ""}), "the child runs on"},
		{inStoppingUnannounced, announce, fixed(stopAt), by(
			expect{stopping, []actionKind{doDraining, doAskGrace, doPlanned}, "stop rung: draining"},
			expect{stopping, []actionKind{doDraining, doAskGrace, doPlanned}, "stop requested: starting the stop ladder"},
			expect{stopping, []actionKind{doDraining, doAskGrace, doPlanned}, "stop requested: forwarding"}),
			"once the first rung is out: readiness 503, the grace lookup, the plan published and logged, the first rung logged"},

		{inBackoff, begin, fixed(1500 * time.Millisecond), same(expect{backoff, nil, ""}), "Run begins once"},
		{inBackoff, stop, fixed(1500 * time.Millisecond), same(expect{done, []actionKind{doFinish}, "not restarting"}), "a stop while a restart is pending ends supervise"},
		{inBackoff, sig, fixed(1500 * time.Millisecond), same(expect{backoff, nil, "no child to forward to"}), "no child to pass it to"},
		{inBackoff, exited, fixed(1500 * time.Millisecond), same(expect{backoff, nil, ""}), "no main child runs"},
		{inBackoff, startedOK, fixed(1500 * time.Millisecond), same(expect{backoff, nil, ""}), "a start result only counts in starting"},
		{inBackoff, deadline, fixed(1500 * time.Millisecond), same(expect{backoff, nil, ""}), "the restart is not due yet"},
		{inBackoff, deadline, fixed(time.Second + backoffMin), same(expect{starting, []actionKind{doStart}, ""}), "the wait is over: start again"},
		{inBackoff, grace, fixed(1500 * time.Millisecond), same(expect{backoff, nil, "ignored"}), "no stop is under way"},
		{inBackoff, reaped, fixed(1500 * time.Millisecond), same(expect{backoff, nil, ""}), "only cleaning ends on the kernel's answer"},
		{inBackoff, announce, fixed(1500 * time.Millisecond), same(expect{backoff, nil, ""}), "a stop in backoff is no ladder's"},

		{inCleaning, begin, fixed(2 * time.Second), same(expect{cleaning, nil, ""}), "Run begins once"},
		{inCleaning, stop, fixed(2 * time.Second), same(expect{cleaning, nil, "KILL stays due"}), "the first stop after the child's end never moves the KILL later, nor re-sends TERM"},
		{inCleaningStopped, stop, fixed(2500 * time.Millisecond), same(expect{cleaning, []actionKind{doKillTree}, "sending KILL to the leftovers now"}),
			"a stop signal that came before the child exited is remembered: the next one brings the leftovers' KILL forward to now"},
		{inCleaning, sig, fixed(2 * time.Second), same(expect{cleaning, nil, "no child to forward to"}), "the main child is gone"},
		{inCleaning, exited, fixed(2 * time.Second), same(expect{cleaning, nil, ""}), "the main child exited already"},
		{inCleaning, startedOK, fixed(2 * time.Second), same(expect{cleaning, nil, ""}), "a start result only counts in starting"},
		{inCleaning, deadline, fixed(time.Second + 2*time.Second), same(expect{cleaning, []actionKind{doKillTree}, "ignored TERM: sending KILL"}),
			"leftovers that outlast the cleanup grace get KILL"},
		{inCleaning, grace, fixed(2 * time.Second), same(expect{cleaning, nil, "ignored"}), "no stop is under way"},
		{inCleaningStopped, grace, fixed(2500 * time.Millisecond), same(expect{cleaning, nil, "ignored"}),
			"the stop's grace answers after the child exited: nothing is left to plan, and no rung may go out"},
		{inCleaning, reaped, fixed(2 * time.Second), same(expect{cleaning, nil, ""}), "a child is still left"},
		{inCleaning, announce, fixed(2 * time.Second), same(expect{cleaning, nil, ""}), "only a stop under way is announced"},

		{inDone, begin, fixed(2 * time.Second), same(expect{done, nil, ""}), "done takes nothing"},
		{inDone, stop, fixed(2 * time.Second), same(expect{done, nil, ""}), "done takes nothing"},
		{inDone, sig, fixed(2 * time.Second), same(expect{done, nil, "no child to forward to"}), "the main child is gone"},
		{inDone, exited, fixed(2 * time.Second), same(expect{done, nil, ""}), "the main child exited already"},
		{inDone, startedOK, fixed(2 * time.Second), same(expect{done, nil, ""}), "a start result only counts in starting"},
		{inDone, deadline, fixed(2 * time.Second), same(expect{done, nil, ""}), "done has no deadline"},
		{inDone, grace, fixed(2 * time.Second), same(expect{done, nil, "ignored"}), "no stop is under way"},
		{inDone, reaped, fixed(2 * time.Second), same(expect{done, nil, ""}), "done takes nothing"},
		{inDone, announce, fixed(2 * time.Second), same(expect{done, nil, ""}), "done takes nothing"},
	}
	seen := map[[2]int]bool{}
	rows := 0
	for _, c := range cases {
		seen[[2]int{int(c.from.want), int(c.ev.kind)}] = true
		for _, cfg := range configs {
			want, ok := c.want[cfg.name]
			if !ok {
				t.Fatalf("%s/%s: no expectation for %s", c.from.name, c.ev.kind, cfg.name)
			}
			rows++
			t.Run(c.from.name+"/"+c.ev.kind.String()+"/"+cfg.name, func(t *testing.T) {
				m, f := newMachine(t, cfg, nil)
				c.from.run(m, f)
				if m.phase != c.from.want {
					t.Fatalf("set-up reached %s, not %s", m.phase, c.from.want)
				}
				before := m.end
				ev := c.ev
				ev.at = at(c.when(t, cfg))
				acts := m.step(ev)
				if m.phase != want.phase || !slices.Equal(kinds(acts), want.acts) || !strings.Contains(logged(acts), want.msg) {
					t.Errorf("%s: %s at +%s: phase %s, actions %v, logs %q; want %s, %v, a line with %q",
						c.why, c.ev.kind, ev.at.Sub(t0), m.phase, kinds(acts), logged(acts), want.phase, want.acts, want.msg)
				}
				if c.from.name == inCleaningStopped.name && c.ev.kind == evGrace && m.end.plan.Budget.Grace != before.plan.Budget.Grace {
					t.Errorf("a grace answer after the exit replanned the finished stop: grace %s, was %s",
						m.end.plan.Budget.Grace, before.plan.Budget.Grace)
				}
				for _, a := range acts {
					if pid, ok := childPID(a); ok && pid == 0 {
						t.Errorf("%s with pid 0: it would reach supervise's own process group", a.kind())
					}
				}
			})
		}
	}
	for p := initial; p <= done; p++ {
		for k := evBegin; k <= evAnnounce; k++ {
			if !seen[[2]int{int(p), int(k)}] {
				t.Errorf("no case for %s in %s", k, p)
			}
		}
	}
	t.Logf("%d rows in %d configurations: %d steps", len(cases), len(configs), rows)
}

// The paths through several events that the table's single steps cannot
// show.
func TestMachineSequences(t *testing.T) {
	t.Run("KILL is a rung like the others, at the plan's time", func(t *testing.T) {
		m, _ := newMachine(t, hueyTimed, nil)
		l := hueyTimed.planned(t)
		stepAll(m, stopEvent(stopAt))
		var sent []ladder.Sent
		for _, d := range []time.Duration{l.Rungs[0].Wait, l.Rungs[0].Wait + l.Rungs[1].Wait} {
			for _, a := range m.step(event{kind: evDeadline, at: at(stopAt + d)}) {
				if r, ok := a.(sendRung); ok {
					sent = append(sent, r.rung)
				}
			}
		}
		if len(sent) != 2 || sent[1].Signal != unix.SIGKILL || sent[1].At != l.KillAt(hueyTimed.budget) {
			t.Fatalf("rungs %+v; want INT then KILL at %s", sent, l.KillAt(hueyTimed.budget))
		}
		if m.end.outcome() != OutcomeKilled {
			t.Errorf("outcome %s", m.end.outcome())
		}
	})
	t.Run("the API's grace moves KILL to where ladder.Size puts it", func(t *testing.T) {
		m, _ := newMachine(t, hueyTimed, nil)
		stepAll(m, stopEvent(stopAt))
		b := hueyTimed.budget
		b.Grace = 20 * time.Second
		p, _ := ladder.Lookup("huey")
		want, _ := ladder.Size(p, b)
		acts := m.step(event{kind: evGrace, at: at(2 * time.Second), grace: graceAnswer{Grace: Grace{Period: b.Grace, From: "test"}}})
		i := slices.IndexFunc(acts, func(a action) bool { return a.kind() == doPlanned })
		if i < 0 || !acts[i].(publishPlanned).killAt.Equal(at(stopAt+want.KillAt(b))) {
			t.Errorf("planned %+v; want KILL at +%s", acts, stopAt+want.KillAt(b))
		}
	})
	t.Run("with a stop delay, the API's grace counts it", func(t *testing.T) {
		delayed := hueyTimed
		delayed.budget.StopDelay = 2 * time.Second
		m, _ := newMachine(t, delayed, nil)
		stepAll(m, stopEvent(stopAt))
		b := delayed.budget
		b.Grace = 20 * time.Second
		p, _ := ladder.Lookup("huey")
		want, _ := ladder.Size(p, b)
		acts := m.step(event{kind: evGrace, at: at(2 * time.Second), grace: graceAnswer{Grace: Grace{Period: b.Grace, From: "test"}}})
		i := slices.IndexFunc(acts, func(a action) bool { return a.kind() == doPlanned })
		if i < 0 || !acts[i].(publishPlanned).killAt.Equal(at(stopAt+want.KillAt(b))) || want.KillAt(b) != b.Grace-ladder.Margin(b.Grace) {
			t.Errorf("planned %+v; want KILL at +%s, the delay inside the grace", acts, stopAt+want.KillAt(b))
		}
	})
	t.Run("restart backoff doubles, and resets after a long run", func(t *testing.T) {
		m, _ := newMachine(t, hueyTimed, func(c *Config) { c.Restart = RestartAlways })
		var waits []time.Duration
		now := t0
		for _, ran := range []time.Duration{time.Second, time.Second, time.Second, backoffMax + time.Second} {
			now = now.Add(ran)
			m.step(event{kind: evExited, at: now, exit: childExit{pid: m.pid, status: exitStatus(1)}})
			waits = append(waits, m.restartAt.Sub(now))
			now = m.restartAt
			m.step(event{kind: evDeadline, at: now})
			m.step(event{kind: evStarted, at: now, pid: 100 + len(waits)})
		}
		if want := []time.Duration{backoffMin, 2 * backoffMin, 4 * backoffMin, backoffMin}; !slices.Equal(waits, want) {
			t.Errorf("waits %v, want %v", waits, want)
		}
	})
	t.Run("restart limit", func(t *testing.T) {
		m, _ := newMachine(t, hueyTimed, func(c *Config) { c.Restart, c.RestartMax = RestartOnFailure, 1 })
		m.step(exitEvent(time.Second, 1))
		m.step(event{kind: evDeadline, at: at(time.Second + backoffMin)})
		m.step(event{kind: evStarted, at: at(time.Second + backoffMin), pid: 43})
		acts := m.step(event{kind: evExited, at: at(3 * time.Second), exit: childExit{pid: 43, status: exitStatus(1)}})
		if m.phase != done || !strings.Contains(logged(acts), "restart limit reached") || m.lastCode != 1 {
			t.Errorf("phase %s, code %d, logs %q", m.phase, m.lastCode, logged(acts))
		}
	})
	t.Run("a repeated stop while cleaning brings KILL forward", func(t *testing.T) {
		m, f := newMachine(t, hueyTimed, nil)
		inCleaning.run(m, f)
		m.step(stopEvent(1200 * time.Millisecond))
		acts := m.step(stopEvent(1300 * time.Millisecond))
		if k := kinds(acts); !slices.Equal(k, []actionKind{doKillTree}) || acts[len(acts)-1].(killLeftovers).sig != syscall.SIGKILL {
			t.Errorf("actions %v", acts)
		}
		// The kernel then says no child is left: the end.
		f.children = false
		if acts := m.step(event{kind: evReaped, at: at(1400 * time.Millisecond)}); m.phase != done || !slices.Equal(kinds(acts), []actionKind{doFinish}) {
			t.Errorf("after the last reap: %s %v", m.phase, kinds(acts))
		}
	})
	t.Run("leftovers that outlive their KILL: supervise gives up", func(t *testing.T) {
		for _, c := range configs {
			m, f := newMachine(t, c, nil)
			inCleaning.run(m, f)
			m.step(event{kind: evDeadline, at: at(time.Second + m.cfg.CleanupGrace)})
			acts := m.step(event{kind: evDeadline, at: at(time.Second + m.cfg.CleanupGrace + killWait)})
			if m.phase != done || !slices.Equal(kinds(acts), []actionKind{doFinish}) || !strings.Contains(logged(acts), "exiting anyway") {
				t.Errorf("%s: %s %v %q", c.name, m.phase, kinds(acts), logged(acts))
			}
		}
	})
	t.Run("a stop in backoff reports the preset", func(t *testing.T) {
		m, f := newMachine(t, hueyTimed, nil)
		inBackoff.run(m, f)
		m.step(stopEvent(1500 * time.Millisecond))
		if r := m.report(); r.Preset != "huey" || r.Signal != "TERM" {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("auto plans again from the command line at the stop", func(t *testing.T) {
		m, f := newMachine(t, hueyTimed, func(c *Config) { c.Preset, c.Argv = "auto", []string{"/entrypoint.sh"} })
		if m.startPlan.Preset != ladder.Generic {
			t.Fatalf("start plan %s", m.startPlan.Preset)
		}
		p := plan.Make(m.cfg.PlanOptions(), []string{"rq", "worker"}, nil)
		f.atStop = &p
		acts := stepAll(m, stopEvent(stopAt))
		if m.end.plan.Preset != "rq" || !strings.Contains(logged(acts), "preset changed at stop") {
			t.Errorf("preset %s, logs %q", m.end.plan.Preset, logged(acts))
		}
	})
	t.Run("every action that signals names the child", func(t *testing.T) {
		for _, c := range configs {
			m, _ := newMachine(t, c, nil)
			for _, a := range append(stepAll(m, stopEvent(stopAt)), stepAll(m, stopEvent(stopAt+ladder.MinSpacing))...) {
				if pid, ok := childPID(a); ok && pid != 42 {
					t.Errorf("%s: %s to pid %d, want 42", c.name, a.kind(), pid)
				}
			}
		}
	})
}
