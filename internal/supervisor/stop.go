package supervisor

import (
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
)

// ending is how this Run ends: the stop, from the first stop signal on;
// how the main child last ended; the cleanup of what it left. Reports and
// metrics read it.
type ending struct {
	// stopID is 0 until a stop begins; the GraceSource's answer names it.
	stopID      int
	requestedAt time.Time
	by          syscall.Signal // the stop signal as received, before --rewrite
	// plan is the stop's plan: the preset, the ladder and its budget.
	plan plan.Plan
	// steps drives the ladder; nil when stop signals are plainly
	// forwarded (preset none, or a stop while a restart was pending).
	steps *ladder.Stepper

	child childEnd
	clean cleanup
}

// stopped reports whether a stop was asked for.
func (e *ending) stopped() bool { return e.stopID != 0 }

// forwards reports whether a repeated stop signal is passed on as it
// came rather than advancing a ladder: with no ladder, or with the
// generic one while no grace period is known (tini's behaviour).
func (e *ending) forwards() bool { return e.steps == nil || e.steps.Ladder().RepeatForwards }

// childEnd is how the main child last ended, for the stop report.
type childEnd struct {
	at    time.Time
	exit  string // "exited 0", "killed by KILL"; "" while it never ended
	oom   bool
	limit string
}

// Outcomes of a stop, as logs and metrics name them.
const (
	OutcomeGraceful  = "graceful"  // the child exited after the first rung
	OutcomeEscalated = "escalated" // it needed a later rung, short of KILL
	OutcomeKilled    = "killed"    // it took SIGKILL
)

// startStop begins the stop: readiness turns 503 at once, the plan is made
// again from the child's command line as it is now (auto), and the
// ladder's first rung goes out after the stop delay.
func (m *machine) startStop(ev event) {
	now := ev.at
	m.phase = stopping
	m.emit(action{kind: doDraining})
	p := m.startPlan
	if m.cfg.Preset == "auto" && len(m.cfg.Stop.Steps) == 0 {
		// Look again: an entrypoint script may have exec'd the worker, and
		// a worker script is read as the child sees it.
		if again, ok := m.facts.planAtStop(m.pid); ok {
			if again.Preset != p.Preset {
				m.log(slog.LevelInfo, "preset changed at stop: the child's command line is now different",
					"from", p.Preset, "to", again.Preset, "reason", again.Reason)
			}
			p = again
		}
	}
	for _, w := range p.Warnings {
		m.log(slog.LevelWarn, w)
	}
	m.end.stopID++
	m.end.requestedAt, m.end.by, m.end.plan = now, ev.received, p
	m.emit(action{kind: doAskGrace})
	attrs := []any{"signal", signalName(ev.received), "preset", p.Preset, "reason", p.Reason, "grace_from", orUnset(p.GraceFrom)}
	if len(p.Ladder.Steps) == 0 {
		m.emit(action{kind: doPlanned})
		m.log(slog.LevelInfo, "stop requested: forwarding", append(attrs, "forwarded", signalName(ev.sig))...)
		m.forward(ev.sig)
		return
	}
	lad := p.Ladder.Resolve(ev.sig)
	m.end.steps = ladder.NewStepper(lad, now, p.Budget.StopDelay)
	attrs = append(attrs, "ladder", lad.String(), "stop_delay", p.Budget.StopDelay.String())
	if lad.Timed {
		m.emit(action{kind: doPlanned, at: now.Add(lad.KillAt(p.Budget))})
		attrs = append(attrs, "kill_in", lad.KillAt(p.Budget).String())
	} else {
		m.emit(action{kind: doPlanned})
		attrs = append(attrs, "deadline", "none: no grace period set")
	}
	m.log(slog.LevelInfo, "stop requested: starting the stop ladder", attrs...)
	m.fireRungs(now)
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// graceAnswer is what the GraceSource said about one stop.
type graceAnswer struct {
	stop int // the ending's stopID it answers
	Grace
	err  error
	took time.Duration
}

// graceLearned applies the GraceSource's answer to the stop under way: the
// ladder is planned again inside the grace the orchestrator really gives
// this stop, counted from the stop signal. A failure keeps the plan there
// is, configured or untimed.
func (m *machine) graceLearned(ev event) {
	a, e := ev.grace, &m.end
	p := e.plan
	src := "the grace source"
	if m.cfg.GraceSource != nil {
		src = m.cfg.GraceSource.Name()
	}
	if a.err != nil {
		keep := "no grace period: the ladder stays untimed"
		if p.Budget.Grace > 0 {
			keep = "keeping " + p.Grace()
		}
		m.log(slog.LevelWarn, "cannot read this stop's grace period from "+src+": "+a.err.Error()+"; "+keep,
			"took", a.took.Round(time.Millisecond).String())
		return
	}
	if a.Warning != "" {
		m.log(slog.LevelWarn, a.Warning)
	}
	attrs := []any{"grace_period", a.Period.Round(time.Millisecond).String(), "from", a.From, "took", a.took.Round(time.Millisecond).String()}
	from := src + ": " + a.From
	switch {
	case p.Budget.Grace == a.Period:
		m.log(slog.LevelInfo, "the orchestrator's SIGKILL from "+src+": as planned", append(attrs, "planned_from", p.GraceFrom)...)
		e.plan.GraceFrom = from
		return
	case p.Budget.Grace > 0:
		attrs = append(attrs, "replaces", p.Grace())
	}
	b := p.Budget
	b.Grace = max(a.Period, ladder.MinGrace)
	e.plan = p.Within(m.cfg.PlanOptions(), b, from)
	if e.steps == nil {
		m.log(slog.LevelInfo, "grace period from "+src+" (preset none: no timer)", attrs...)
		return
	}
	for _, w := range e.plan.Warnings {
		m.log(slog.LevelWarn, w)
	}
	lad := e.plan.Ladder.Resolve(e.steps.Ladder().Steps[0].Signal)
	e.steps.Retime(lad)
	m.emit(action{kind: doPlanned, at: e.requestedAt.Add(lad.KillAt(b))})
	attrs = append(attrs, "ladder", lad.String(), "kill_in", lad.KillAt(b).String())
	m.log(slog.LevelInfo, "the orchestrator's SIGKILL from "+src+": the ladder is planned to end before it", attrs...)
	m.fireRungs(ev.at)
}

// repeatStop handles a stop signal during a stop: it advances the ladder
// one rung (at least MinSpacing after the last), or, when stop signals
// are forwarded as they come, forwards it again.
func (m *machine) repeatStop(ev event) {
	st := m.end.steps
	if m.end.forwards() {
		m.log(slog.LevelInfo, "stop signal received again: forwarding", "signal", signalName(ev.received), "forwarded", signalName(ev.sig))
		m.forward(ev.sig)
		return
	}
	if !st.Repeat(ev.at) {
		m.log(slog.LevelInfo, "stop signal received; the last rung was already sent", "signal", signalName(ev.received))
		return
	}
	due, cause := st.Due()
	next := st.Ladder().Steps[st.Next()]
	m.log(slog.LevelInfo, "stop signal received again: advancing the ladder", "signal", signalName(ev.received),
		"rung", fmt.Sprintf("%d/%d", st.Next()+1, len(st.Ladder().Steps)), "rung_signal", signalName(next.Signal),
		"in", due.Sub(ev.at).Round(time.Millisecond).String(), "cause", cause.String())
	m.fireRungs(ev.at)
}

// stopInBackoff handles a stop while a restart was pending: there is no
// child to stop, so supervise cleans up and ends.
func (m *machine) stopInBackoff(ev event) {
	m.log(slog.LevelInfo, "stop requested while a restart was pending: not restarting", "signal", signalName(ev.received))
	m.end.stopID++
	m.end.requestedAt, m.end.by, m.end.plan = ev.at, ev.received, m.startPlan
	m.beginCleanup(ev.at)
}

// fireRungs sends the rung that is due, if any.
func (m *machine) fireRungs(now time.Time) {
	if r, ok := m.end.steps.Fire(now); ok {
		m.sendRung(now, r)
	}
}

// sendRung sends one rung with its log line: its cause, what comes next,
// and the time left of the grace period.
func (m *machine) sendRung(now time.Time, r ladder.Rung) {
	e := &m.end
	lad := e.steps.Ladder()
	attrs := []any{"rung", fmt.Sprintf("%d/%d", r.Index+1, len(lad.Steps)), "signal", signalName(r.Signal),
		"pid", m.pid, "since_stop", r.At.Round(time.Millisecond).String(), "cause", rungCause(r)}
	if due, _ := e.steps.Due(); !due.IsZero() {
		attrs = append(attrs, "next", signalName(lad.Steps[e.steps.Next()].Signal), "next_in", due.Sub(now).String())
	} else if !e.steps.Finished() {
		attrs = append(attrs, "next", signalName(lad.Steps[e.steps.Next()].Signal), "next_in", "on a repeated stop signal")
	}
	if g := e.plan.Budget.Grace; g > 0 {
		// Time left before the orchestrator's own SIGKILL, if it sent the stop.
		attrs = append(attrs, "grace_left", (g - r.At).Round(time.Millisecond).String())
	}
	a := action{kind: doRung, rung: r, level: slog.LevelInfo, msg: "stop rung: draining", attrs: attrs}
	switch {
	case r.Signal == unix.SIGKILL:
		a.level, a.msg = slog.LevelWarn, "stop rung: KILL to the whole process tree"
		if e.plan.Preset == ladder.Generic && r.Index == 1 && r.Cause == ladder.CauseDeadline {
			a.msg = fmt.Sprintf("stop rung: the child ignored %s for %s; KILL to the whole process tree",
				signalName(lad.Steps[0].Signal), r.At.Round(time.Millisecond))
		}
	case r.Index > 0:
		a.level, a.msg = slog.LevelWarn, "stop rung: escalating"
	}
	m.emit(a)
}

// rungCause says in words why a rung was sent.
func rungCause(r ladder.Rung) string {
	if r.Cause == ladder.CauseDeadline {
		if r.AfterDrain {
			return fmt.Sprintf("drain deadline hit after %s", r.At.Round(time.Millisecond))
		}
		return "the previous rung's wait ran out"
	}
	return r.Cause.String()
}

// outcome classifies a finished stop by the last rung sent.
func (e *ending) outcome() string {
	if e.steps == nil {
		return OutcomeGraceful
	}
	sent := e.steps.Sent()
	switch {
	case len(sent) > 0 && sent[len(sent)-1].Signal == unix.SIGKILL:
		return OutcomeKilled
	case len(sent) > 1:
		return OutcomeEscalated
	}
	return OutcomeGraceful
}

// lastRung names the last rung sent: "2/3 INT", "forwarded" or "none".
func (e *ending) lastRung() string {
	if e.steps == nil {
		return "forwarded"
	}
	sent := e.steps.Sent()
	if len(sent) == 0 {
		return "none"
	}
	r := sent[len(sent)-1]
	return fmt.Sprintf("%d/%d %s", r.Index+1, len(e.steps.Ladder().Steps), signalName(r.Signal))
}
