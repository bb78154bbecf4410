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
func (f *fakeFacts) planAtStop(int) (plan.Plan, bool) {
	if f.atStop == nil {
		return plan.Plan{}, false
	}
	return *f.atStop, true
}

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// exitStatus is a wait status for an exit with code.
func exitStatus(code int) unix.WaitStatus { return unix.WaitStatus(code << 8) }

// newMachine is a machine for cfg (the huey preset at a 10 s grace unless
// changed) that has started its child, pid 42, at t0.
func newMachine(t *testing.T, change func(*Config)) (*machine, *fakeFacts) {
	t.Helper()
	cfg := &Config{Argv: []string{"huey_consumer", "app.huey"}, Preset: "huey", Budget: ladder.Budget{Grace: 10 * time.Second},
		CleanupGrace: 2 * time.Second, Restart: RestartNo}
	if change != nil {
		change(cfg)
	}
	f := &fakeFacts{}
	m := &machine{cfg: cfg, facts: f}
	m.startPlan = plan.Make(m.cfg.PlanOptions(), cfg.Argv, func() ladder.Files { return ladder.Files{} })
	m.step(event{kind: evStarted, at: t0, pid: 42})
	return m, f
}

// into brings m to phase p by the events that lead there.
func into(t *testing.T, m *machine, f *fakeFacts, p phase) {
	t.Helper()
	switch p {
	case starting:
		m.phase, m.pid = starting, 0
	case running:
	case stopping:
		m.step(event{kind: evStop, at: at(time.Second), received: unix.SIGTERM, sig: unix.SIGTERM})
	case backoff:
		m.cfg.Restart = RestartAlways
		m.step(event{kind: evExited, at: at(time.Second), exit: childExit{pid: 42, status: exitStatus(3)}})
	case cleaning:
		f.children, f.left = true, []proctree.Proc{{PID: 50, PPID: 1}}
		m.step(event{kind: evExited, at: at(time.Second), exit: childExit{pid: 42, status: exitStatus(0)}})
	case done:
		m.step(event{kind: evExited, at: at(time.Second), exit: childExit{pid: 42, status: exitStatus(0)}})
	}
	if m.phase != p {
		t.Fatalf("set-up reached %s, not %s", m.phase, p)
	}
}

func kinds(acts []action) []actionKind {
	var out []actionKind
	for _, a := range acts {
		if a.kind != doLog {
			out = append(out, a.kind)
		}
	}
	return out
}

func logged(acts []action) string {
	var msgs []string
	for _, a := range acts {
		if a.kind == doLog || a.kind == doRung {
			msgs = append(msgs, a.msg)
		}
	}
	return strings.Join(msgs, " | ")
}

// Every (phase, event) pair, with the reason for what it does.
func TestMachineTransitions(t *testing.T) {
	stop := event{kind: evStop, received: unix.SIGTERM, sig: unix.SIGTERM}
	sig := event{kind: evSignal, received: unix.SIGHUP, sig: unix.SIGHUP}
	exited := event{kind: evExited, exit: childExit{pid: 42, status: exitStatus(0)}}
	startedOK := event{kind: evStarted, pid: 43}
	startedErr := event{kind: evStarted, err: &startError{ExitNotFound, errors.New(`cannot run "x": not found in $PATH`)}}
	deadline := event{kind: evDeadline}
	grace := event{kind: evGrace, grace: graceAnswer{stop: 1, Grace: Grace{Period: 20 * time.Second, From: "test"}}}
	reaped := event{kind: evReaped}

	cases := []struct {
		from  phase
		ev    event
		after time.Duration // when the event comes, after t0
		want  phase
		acts  []actionKind // the actions other than log lines, in order
		msg   string       // a log line or rung that must be among them
		why   string
	}{
		{starting, stop, 2 * time.Second, starting, nil, "", "a start lasts no longer than the step that asked for it: nothing to stop yet"},
		{starting, sig, 2 * time.Second, starting, nil, "no child to forward to", "no child to pass it to"},
		{starting, exited, 2 * time.Second, starting, nil, "", "no main child runs: an exit in starting is an orphan's"},
		{starting, startedOK, 2 * time.Second, running, nil, "", "the child runs"},
		{starting, startedErr, 2 * time.Second, done, []actionKind{doFinish}, "not found", "a command that cannot run ends supervise (127)"},
		{starting, deadline, 2 * time.Second, starting, nil, "", "starting has no deadline"},
		{starting, grace, 2 * time.Second, starting, nil, "ignored", "no stop is under way"},
		{starting, reaped, 2 * time.Second, starting, nil, "", "only cleaning ends on the kernel's answer"},

		{running, stop, 2 * time.Second, stopping, []actionKind{doDraining, doAskGrace, doPlanned, doRung}, "stop rung: draining", "the first stop signal starts the ladder at once"},
		{running, sig, 2 * time.Second, running, []actionKind{doForward}, "", "other signals go to the child"},
		{running, exited, 2 * time.Second, done, []actionKind{doExited, doFinish}, "child exited", "no restart policy, nothing left: the end"},
		{running, startedOK, 2 * time.Second, running, nil, "", "a start result only counts in starting"},
		{running, startedErr, 2 * time.Second, running, nil, "", "a start result only counts in starting"},
		{running, deadline, 2 * time.Second, running, nil, "", "running has no deadline"},
		{running, grace, 2 * time.Second, running, nil, "ignored", "no stop is under way"},
		{running, reaped, 2 * time.Second, running, nil, "", "orphans were reaped; the child runs on"},

		{stopping, stop, 2 * time.Second, stopping, nil, "advancing the ladder", "a repeated stop advances, but not before 1.5 s after the last rung"},
		{stopping, stop, 3 * time.Second, stopping, []actionKind{doRung}, "stop rung: escalating", "1.5 s after the first rung the repeat sends the next at once"},
		{stopping, sig, 2 * time.Second, stopping, []actionKind{doForward}, "", "other signals still go to the child"},
		{stopping, exited, 2 * time.Second, done, []actionKind{doExited, doStopped, doFinish}, "child stopped", "the stop is over; nothing is left"},
		{stopping, startedOK, 2 * time.Second, stopping, nil, "", "a start result only counts in starting"},
		{stopping, deadline, 2 * time.Second, stopping, nil, "", "a timer before the rung is due is stale"},
		{stopping, deadline, 8500 * time.Millisecond, stopping, []actionKind{doRung}, "stop rung: escalating", "the drain deadline sends the next rung"},
		{stopping, grace, 2 * time.Second, stopping, []actionKind{doPlanned}, "planned to end before it", "the API's grace replans the ladder"},
		{stopping, reaped, 2 * time.Second, stopping, nil, "", "the child runs on"},

		{backoff, stop, 1500 * time.Millisecond, done, []actionKind{doFinish}, "not restarting", "a stop while a restart is pending ends supervise"},
		{backoff, sig, 1500 * time.Millisecond, backoff, nil, "no child to forward to", "no child to pass it to"},
		{backoff, exited, 1500 * time.Millisecond, backoff, nil, "", "no main child runs"},
		{backoff, startedOK, 1500 * time.Millisecond, backoff, nil, "", "a start result only counts in starting"},
		{backoff, deadline, 1500 * time.Millisecond, backoff, nil, "", "the restart is not due yet"},
		{backoff, deadline, 2 * time.Second, starting, []actionKind{doStart}, "", "the wait is over: start again"},
		{backoff, grace, 1500 * time.Millisecond, backoff, nil, "ignored", "no stop is under way"},
		{backoff, reaped, 1500 * time.Millisecond, backoff, nil, "", "only cleaning ends on the kernel's answer"},

		{cleaning, stop, 2 * time.Second, cleaning, nil, "KILL stays due", "the first stop after the child's end never moves the KILL later, nor re-sends TERM"},
		{cleaning, sig, 2 * time.Second, cleaning, nil, "no child to forward to", "the main child is gone"},
		{cleaning, exited, 2 * time.Second, cleaning, nil, "", "the main child exited already"},
		{cleaning, startedOK, 2 * time.Second, cleaning, nil, "", "a start result only counts in starting"},
		{cleaning, deadline, 3 * time.Second, cleaning, []actionKind{doKillTree}, "ignored TERM: sending KILL", "leftovers that outlast the cleanup grace get KILL"},
		{cleaning, grace, 2 * time.Second, cleaning, nil, "ignored", "no stop is under way"},
		{cleaning, reaped, 2 * time.Second, cleaning, nil, "", "a child is still left"},

		{done, stop, 2 * time.Second, done, nil, "", "done takes nothing"},
		{done, sig, 2 * time.Second, done, nil, "no child to forward to", "the main child is gone"},
		{done, exited, 2 * time.Second, done, nil, "", "the main child exited already"},
		{done, startedOK, 2 * time.Second, done, nil, "", "a start result only counts in starting"},
		{done, deadline, 2 * time.Second, done, nil, "", "done has no deadline"},
		{done, grace, 2 * time.Second, done, nil, "ignored", "no stop is under way"},
		{done, reaped, 2 * time.Second, done, nil, "", "done takes nothing"},
	}
	seen := map[[2]int]bool{}
	for _, c := range cases {
		seen[[2]int{int(c.from), int(c.ev.kind)}] = true
		t.Run(c.from.String()+"/"+c.ev.kind.String(), func(t *testing.T) {
			m, f := newMachine(t, nil)
			into(t, m, f, c.from)
			ev := c.ev
			ev.at = at(c.after)
			acts := m.step(ev)
			if m.phase != c.want || !slices.Equal(kinds(acts), c.acts) || !strings.Contains(logged(acts), c.msg) {
				t.Errorf("%s: %s at +%s: phase %s, actions %v, logs %q; want %s, %v, a line with %q",
					c.why, c.ev.kind, c.after, m.phase, kinds(acts), logged(acts), c.want, c.acts, c.msg)
			}
		})
	}
	for p := starting; p <= done; p++ {
		for k := evStop; k <= evReaped; k++ {
			if !seen[[2]int{int(p), int(k)}] {
				t.Errorf("no case for %s in %s", k, p)
			}
		}
	}
}

// The paths through several events that the table's single steps cannot
// show.
func TestMachineSequences(t *testing.T) {
	t.Run("KILL is a rung like the others", func(t *testing.T) {
		m, f := newMachine(t, nil)
		into(t, m, f, stopping)
		m.step(event{kind: evDeadline, at: at(8500 * time.Millisecond)})
		acts := m.step(event{kind: evDeadline, at: at(10 * time.Second)})
		if len(acts) != 1 || acts[0].kind != doRung || acts[0].rung.Signal != unix.SIGKILL {
			t.Fatalf("KILL rung: %+v", acts)
		}
		if m.end.outcome() != OutcomeKilled {
			t.Errorf("outcome %s", m.end.outcome())
		}
	})
	t.Run("restart backoff doubles, and resets after a long run", func(t *testing.T) {
		m, f := newMachine(t, func(c *Config) { c.Restart = RestartAlways })
		var waits []time.Duration
		now := t0
		for _, ran := range []time.Duration{time.Second, time.Second, time.Second, 31 * time.Second} {
			now = now.Add(ran)
			m.step(event{kind: evExited, at: now, exit: childExit{pid: m.pid, status: exitStatus(1)}})
			waits = append(waits, m.restartAt.Sub(now))
			now = m.restartAt
			m.step(event{kind: evDeadline, at: now})
			m.step(event{kind: evStarted, at: now, pid: 100 + len(waits)})
		}
		if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second}; !slices.Equal(waits, want) {
			t.Errorf("waits %v, want %v", waits, want)
		}
		_ = f
	})
	t.Run("restart limit", func(t *testing.T) {
		m, _ := newMachine(t, func(c *Config) { c.Restart, c.RestartMax = RestartOnFailure, 1 })
		m.step(event{kind: evExited, at: at(time.Second), exit: childExit{pid: 42, status: exitStatus(1)}})
		m.step(event{kind: evDeadline, at: at(2 * time.Second)})
		m.step(event{kind: evStarted, at: at(2 * time.Second), pid: 43})
		acts := m.step(event{kind: evExited, at: at(3 * time.Second), exit: childExit{pid: 43, status: exitStatus(1)}})
		if m.phase != done || !strings.Contains(logged(acts), "restart limit reached") || m.lastCode != 1 {
			t.Errorf("phase %s, code %d, logs %q", m.phase, m.lastCode, logged(acts))
		}
	})
	t.Run("a repeated stop while cleaning brings KILL forward", func(t *testing.T) {
		m, f := newMachine(t, nil)
		into(t, m, f, cleaning)
		m.step(event{kind: evStop, at: at(1200 * time.Millisecond), received: unix.SIGTERM, sig: unix.SIGTERM})
		acts := m.step(event{kind: evStop, at: at(1300 * time.Millisecond), received: unix.SIGTERM, sig: unix.SIGTERM})
		if k := kinds(acts); !slices.Equal(k, []actionKind{doKillTree}) || acts[len(acts)-1].sig != syscall.SIGKILL {
			t.Errorf("actions %v", acts)
		}
		// The kernel then says no child is left: the end.
		f.children = false
		if acts := m.step(event{kind: evReaped, at: at(1400 * time.Millisecond)}); m.phase != done || !slices.Equal(kinds(acts), []actionKind{doFinish}) {
			t.Errorf("after the last reap: %s %v", m.phase, kinds(acts))
		}
	})
	t.Run("a grace that fails keeps the plan", func(t *testing.T) {
		m, f := newMachine(t, nil)
		into(t, m, f, stopping)
		acts := m.step(event{kind: evGrace, at: at(1100 * time.Millisecond), grace: graceAnswer{stop: 1, err: errors.New("403")}})
		if !strings.Contains(logged(acts), "keeping 10s") || m.end.plan.Budget.Grace != 10*time.Second {
			t.Errorf("logs %q, grace %s", logged(acts), m.end.plan.Budget.Grace)
		}
	})
	t.Run("a stop in backoff reports the preset", func(t *testing.T) {
		m, f := newMachine(t, nil)
		into(t, m, f, backoff)
		m.step(event{kind: evStop, at: at(1500 * time.Millisecond), received: unix.SIGTERM, sig: unix.SIGTERM})
		if r := m.report(); r.Preset != "huey" || r.Signal != "TERM" {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("auto plans again from the command line at the stop", func(t *testing.T) {
		m, f := newMachine(t, func(c *Config) { c.Preset, c.Argv = "auto", []string{"/entrypoint.sh"} })
		if m.startPlan.Preset != ladder.Generic {
			t.Fatalf("start plan %s", m.startPlan.Preset)
		}
		p := plan.Make(m.cfg.PlanOptions(), []string{"rq", "worker"}, nil)
		f.atStop = &p
		acts := m.step(event{kind: evStop, at: at(time.Second), received: unix.SIGTERM, sig: unix.SIGTERM})
		if m.end.plan.Preset != "rq" || !strings.Contains(logged(acts), "preset changed at stop") {
			t.Errorf("preset %s, logs %q", m.end.plan.Preset, logged(acts))
		}
	})
}
