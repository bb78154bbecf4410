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
	// requestedAt is when the stop began; zero until one does. A Run has
	// one stop at most: the child's exit ends it.
	requestedAt time.Time
	by          syscall.Signal // the stop signal as received, before --rewrite
	// plan is the stop's plan: the preset, the ladder and its budget.
	plan plan.Plan
	// progress drives the ladder; nil when stop signals are plainly
	// forwarded (preset none, or a stop while a restart was pending).
	progress *ladder.Progress

	// announce is what the stop signal's step leaves for evAnnounce.
	announce announcement

	child childEnd
	clean cleanup
}

// stopped reports whether a stop was asked for.
func (e *ending) stopped() bool { return !e.requestedAt.IsZero() }

// forwards reports whether a repeated stop signal is passed on as it
// came rather than advancing a ladder: with no ladder, or with the
// generic one while no grace period is known (tini's behaviour).
func (e *ending) forwards() bool { return e.progress == nil || e.progress.Ladder().RepeatForwards }

// killAt is when the stop's KILL is planned: the one place that says it.
// Zero when the ladder is untimed or there is none.
func (e *ending) killAt() time.Time {
	if e.progress == nil || !e.progress.Ladder().Timed {
		return time.Time{}
	}
	return e.requestedAt.Add(e.progress.Ladder().KillAt(e.plan.Budget))
}

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

// startStop begins the stop: the plan is made again from the child's
// command line as it is now (auto), and the ladder's first rung goes out
// at once (after the stop delay, if any), or the stop signal is forwarded
// as it came (none). Nothing else is done in this step: the executor
// sends the rung, then comes back with evAnnounce for the rest.
func (m *machine) startStop(ev event) phase {
	e := &m.end
	e.requestedAt, e.by = ev.at, ev.received
	p, changed := m.planAtStop()
	e.plan = p
	e.announce = announcement{changed: changed, sig: ev.sig}
	if len(p.Ladder.Rungs) == 0 {
		m.forward(ev.sig)
	} else {
		e.progress = ladder.NewProgress(p.Ladder.Resolve(ev.sig), ev.at, p.Budget.StopDelay)
		if r, ok := e.progress.Fire(ev.at); ok {
			m.emit(m.rungAction(ev.at, r))
			e.announce.rung, e.announce.fired = r, true
		}
	}
	m.emit(announce{})
	return stopping
}

// announcement is what the stop signal's step leaves for announce.
type announcement struct {
	changed bool           // auto's pick changed at the stop
	sig     syscall.Signal // the stop signal after --rewrite
	rung    ladder.Sent    // the first rung, when fired
	fired   bool
}

// announce does what the first rung did not wait for: readiness turns
// 503 and the metrics learn of the stop, the GraceSource is asked, the
// stop is planned (adopt) and logged, and the first rung with it.
func (m *machine) announce(ev event) {
	e, a := &m.end, m.end.announce
	p := e.plan
	m.emit(publishDraining{})
	m.emit(askGrace{stopAt: e.requestedAt})
	m.stopLogs(a.changed, p)
	attrs := []any{"signal", signalName(e.by), "preset", p.Preset, "reason", p.Reason, "grace_from", plan.OrUnset(p.GraceFrom)}
	if e.progress == nil {
		m.emit(publishPlanned{stopAt: e.requestedAt})
		m.log(slog.LevelInfo, "stop requested: forwarding", append(attrs, "forwarded", signalName(a.sig))...)
		return
	}
	m.adopt(p, true, attrs, "stop requested: starting the stop ladder")
	if a.fired {
		m.logRung(e.requestedAt, a.rung)
	}
}

// planAtStop is the stop's plan: the one made at start, or under auto,
// made again from the child's command line as it is now (an entrypoint
// script may have exec'd the worker; a worker that retitled itself keeps
// its preset). changed is true when auto's pick changed.
func (m *machine) planAtStop() (p plan.Plan, changed bool) {
	return m.facts.planAtStop(m.startPlan, m.pid)
}

// stopLogs says what the stop's plan changed or warns of.
func (m *machine) stopLogs(changed bool, p plan.Plan) {
	if changed {
		m.log(slog.LevelInfo, "preset changed at stop: the child's command line is now different",
			"from", m.startPlan.Preset, "to", p.Preset, "reason", p.Reason)
	}
	for _, w := range p.Warnings {
		m.log(slog.LevelWarn, w)
	}
}

// adopt makes p the stop's plan and says so: the ladder's waits are
// retimed from the stop signal (Progress.Retime), its KILL published
// (killAt) and the plan logged as msg with attrs. Two steps make a plan
// and hand it here: announce, with the plan startStop made at the stop
// signal (startStop fires the first rung from it before anything else;
// first is true), and graceLearned, with the plan made again inside the
// grace the orchestrator told while the stop runs.
func (m *machine) adopt(p plan.Plan, first bool, attrs []any, msg string) {
	e := &m.end
	e.plan = p
	if e.progress == nil {
		m.emit(publishPlanned{stopAt: e.requestedAt})
		m.log(slog.LevelInfo, msg, attrs...)
		return
	}
	lad := p.Ladder.Resolve(e.progress.Ladder().Rungs[0].Signal)
	e.progress.Retime(lad)
	m.emit(publishPlanned{stopAt: e.requestedAt, killAt: e.killAt()})
	attrs = append(attrs, "ladder", lad.String())
	if first {
		attrs = append(attrs, "stop_delay", p.Budget.StopDelay.String())
	}
	switch k := e.killAt(); {
	case !k.IsZero():
		attrs = append(attrs, "kill_in", k.Sub(e.requestedAt).String())
	case first:
		attrs = append(attrs, "deadline", "none: no grace period set")
	}
	m.log(slog.LevelInfo, msg, attrs...)
}

// graceAnswer is what the GraceSource said about the stop.
type graceAnswer struct {
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
	b := p.Budget
	b.Grace = ladder.AtLeastMinGrace(a.Period)
	switch {
	case p.Budget.Grace == b.Grace:
		m.log(slog.LevelInfo, "the orchestrator's SIGKILL from "+src+": as planned", append(attrs, "planned_from", p.GraceFrom)...)
		e.plan.GraceFrom = from
		return
	case p.Budget.Grace > 0:
		attrs = append(attrs, "replaces", p.Grace())
	}
	next := p.Within(b, from)
	for _, w := range next.Warnings {
		m.log(slog.LevelWarn, w)
	}
	if e.progress == nil {
		m.adopt(next, false, attrs, "grace period from "+src+" (preset none: no timer)")
		return
	}
	m.adopt(next, false, attrs, "the orchestrator's SIGKILL from "+src+": the ladder is planned to end before it")
	m.fireRungs(ev.at)
}

// repeatStop handles a stop signal during a stop: it advances the ladder
// one rung (at least MinSpacing after the last), or, when stop signals
// are forwarded as they come, forwards it again.
func (m *machine) repeatStop(ev event) {
	st := m.end.progress
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
	next := st.Ladder().Rungs[st.Next()]
	m.log(slog.LevelInfo, "stop signal received again: advancing the ladder", "signal", signalName(ev.received),
		"rung", fmt.Sprintf("%d/%d", st.Next()+1, len(st.Ladder().Rungs)), "rung_signal", signalName(next.Signal),
		"in", due.Sub(ev.at).Round(time.Millisecond).String(), "cause", cause.String())
	m.fireRungs(ev.at)
}

// stopInBackoff handles a stop while a restart was pending: there is no
// child to stop, so supervise cleans up and ends.
func (m *machine) stopInBackoff(ev event) phase {
	m.log(slog.LevelInfo, "stop requested while a restart was pending: not restarting", "signal", signalName(ev.received))
	e := &m.end
	e.requestedAt, e.by, e.plan = ev.at, ev.received, m.startPlan
	return m.beginCleanup(ev.at)
}

// fireRungs sends the rung that is due, if any, and logs it.
func (m *machine) fireRungs(now time.Time) {
	if r, ok := m.end.progress.Fire(now); ok {
		m.emit(m.rungAction(now, r))
		m.logRung(now, r)
	}
}

// rungAction sends rung r to the child. KILL goes to the whole tree, and
// carries its log line, which the executor completes with the count of
// processes it reached.
func (m *machine) rungAction(now time.Time, r ladder.Sent) sendRung {
	a := sendRung{pid: m.pid, rung: r}
	if r.Signal == unix.SIGKILL {
		a.line.level = slog.LevelWarn
		a.line.msg, a.line.attrs = m.killRung(now, r)
	}
	return a
}

// logRung logs one rung as sent: its cause, what comes next, and the time
// left of the grace period. A KILL rung's line is the executor's, once it
// knows how many processes got it.
func (m *machine) logRung(now time.Time, r ladder.Sent) {
	if r.Signal == unix.SIGKILL {
		return
	}
	level, msg := slog.LevelInfo, "stop rung: draining"
	if r.Index > 0 {
		level, msg = slog.LevelWarn, "stop rung: escalating"
	}
	m.log(level, msg, m.rungAttrs(now, r)...)
}

// rungAttrs are a rung's log attributes.
func (m *machine) rungAttrs(now time.Time, r ladder.Sent) []any {
	e := &m.end
	lad := e.progress.Ladder()
	attrs := []any{"rung", fmt.Sprintf("%d/%d", r.Index+1, len(lad.Rungs)), "signal", signalName(r.Signal),
		"pid", m.pid, "since_stop", r.At.Round(time.Millisecond).String(), "cause", rungCause(r)}
	if due, _ := e.progress.Due(); !due.IsZero() {
		attrs = append(attrs, "next", signalName(lad.Rungs[e.progress.Next()].Signal), "next_in", due.Sub(now).String())
	} else if !e.progress.Finished() {
		attrs = append(attrs, "next", signalName(lad.Rungs[e.progress.Next()].Signal), "next_in", "on a repeated stop signal")
	}
	if g := e.plan.Budget.Grace; g > 0 {
		// Time left before the orchestrator's own SIGKILL, if it sent the stop.
		attrs = append(attrs, "grace_left", (g - r.At).Round(time.Millisecond).String())
	}
	return attrs
}

// killRung is the KILL rung's log line: the executor adds the count of
// processes it reached.
func (m *machine) killRung(now time.Time, r ladder.Sent) (string, []any) {
	msg := "stop rung: KILL to the whole process tree"
	lad := m.end.progress.Ladder()
	if m.end.plan.Preset == ladder.Generic && r.Index == 1 && r.Cause == ladder.CauseDeadline {
		msg = fmt.Sprintf("stop rung: the child ignored %s for %s; KILL to the whole process tree",
			signalName(lad.Rungs[0].Signal), r.At.Round(time.Millisecond))
	}
	return msg, m.rungAttrs(now, r)
}

// rungCause says in words why a rung was sent.
func rungCause(r ladder.Sent) string {
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
	if e.progress == nil {
		return OutcomeGraceful
	}
	sent := e.progress.Sent()
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
	if e.progress == nil {
		return "forwarded"
	}
	sent := e.progress.Sent()
	if len(sent) == 0 {
		return "none"
	}
	r := sent[len(sent)-1]
	return fmt.Sprintf("%d/%d %s", r.Index+1, len(e.progress.Ladder().Rungs), signalName(r.Signal))
}
