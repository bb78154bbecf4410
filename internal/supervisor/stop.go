package supervisor

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/proctree"
	"github.com/supervise/supervise/internal/reaper"
	"github.com/supervise/supervise/internal/signals"
)

// stopRun is a stop in progress, and after it the record of how it went.
type stopRun struct {
	requestedAt time.Time
	by          syscall.Signal // the signal as received, before --rewrite
	preset      string
	budget      ladder.Budget
	graceFrom   string // where budget.Grace came from; "" when unknown
	// steps drives the ladder; nil when stop signals are plainly
	// forwarded (preset none).
	steps *ladder.Stepper
}

// Outcomes of a stop, as logs and metrics name them.
const (
	OutcomeGraceful  = "graceful"  // the child exited after the first rung
	OutcomeEscalated = "escalated" // it needed a later rung, short of KILL
	OutcomeKilled    = "killed"    // it took SIGKILL
)

// Choice is a preset picked for a command line, and why.
type Choice struct {
	Preset, Reason string
}

// ChoosePreset says which preset a stop of argv would use: --stop's
// ladder, --preset's, or auto's pick from argv. When argv runs a Python
// script or module auto does not know by name, it looks inside, reading
// files as files says; files is called only then.
func (cfg *Config) ChoosePreset(argv []string, files func() ladder.Files) Choice {
	if len(cfg.Stop.Steps) > 0 {
		return Choice{"custom", "--stop given"}
	}
	if cfg.Preset != "" && cfg.Preset != "auto" {
		return Choice{cfg.Preset, "--preset given"}
	}
	d := ladder.Detect(argv)
	if d.Preset == ladder.Generic && ladder.RunsPython(argv) {
		if s, ok := ladder.DetectScript(argv, files()); ok {
			d = s
		}
	}
	return Choice{d.Preset, "auto: " + d.Reason}
}

// PlanLadder returns the ladder a stop with preset name would run inside
// budget b, with warnings.
func (cfg *Config) PlanLadder(name string, b ladder.Budget) (ladder.Ladder, []string) {
	if len(cfg.Stop.Steps) > 0 {
		return cfg.Stop, ladder.Check(cfg.Stop, b)
	}
	p, ok := ladder.Lookup(name)
	if !ok {
		return ladder.Ladder{}, []string{fmt.Sprintf("unknown preset %q: forwarding stop signals", name)}
	}
	return ladder.Plan(p, b)
}

// announcePlan says at start which stop protocol applies, why, and what a
// stop will do: the timed ladder and when its KILL lands, or, without a
// grace period, that supervise keeps no deadline of its own.
func (l *loop) announcePlan() {
	c := l.cfg.ChoosePreset(l.cfg.Argv, func() ladder.Files { return ScriptFiles(l.cfg.Env) })
	l.startChoice = c
	lad, warns := l.cfg.PlanLadder(c.Preset, l.cfg.Budget)
	b := l.cfg.Budget
	warns = append(warns, ladder.CheckWorkerTimeout(c.Preset, l.cfg.Argv, lad, b)...)
	attrs := []any{"preset", c.Preset, "reason", c.Reason}
	switch {
	case len(lad.Steps) == 0:
		l.log.Info("stop protocol: stop signals are forwarded as received, with no timer (tini's behaviour)", attrs...)
	case lad.Timed && b.Grace > 0 && l.cfg.Kubelet:
		kill := lad.KillAt(b)
		l.log.Info(fmt.Sprintf("stop protocol: KILL lands %s after the stop signal, %s before the kubelet's SIGKILL", kill, b.Grace-kill),
			append(attrs, "kill_after", b.Grace.String(), "from", l.cfg.GraceFrom, "ladder", lad.String(), "kill_at", kill.String())...)
	case lad.Timed && b.Grace > 0:
		kill := lad.KillAt(b)
		l.log.Info(fmt.Sprintf("stop protocol: KILL lands %s after the stop signal; the orchestrator's grace period "+
			"(stop_grace_period, terminationGracePeriodSeconds) must be at least %s", kill, b.Grace),
			append(attrs, "grace_period", b.Grace.String(), "ladder", lad.String(), "kill_at", kill.String())...)
	case lad.Timed:
		kill := lad.KillAt(b)
		l.log.Info(fmt.Sprintf("stop protocol: KILL lands %s after the stop signal (--drain-timeout); no grace period is set, "+
			"so supervise cannot check that the orchestrator waits that long", kill),
			append(attrs, "ladder", lad.String(), "kill_at", kill.String())...)
	default:
		l.log.Info("stop protocol: no grace period set, so supervise keeps no deadline of its own: "+untimedSummary(lad)+
			"; set SUPERVISE_GRACE_PERIOD to the orchestrator's stop_grace_period or terminationGracePeriodSeconds "+
			"to have the drain timed inside it", append(attrs, "ladder", lad.String())...)
	}
	for _, w := range warns {
		l.log.Warn(w)
	}
}

// untimedSummary says in words what an untimed ladder does.
func untimedSummary(lad ladder.Ladder) string {
	first := "sends " + rungName(lad.Steps[0].Signal)
	if lad.RepeatForwards {
		return "a stop signal is passed on as received, a repeated one too, and the orchestrator's SIGKILL ends the stop"
	}
	return "a stop " + first + ", a repeated stop signal advances one rung (at least " + ladder.MinSpacing.String() +
		" apart), and the orchestrator's SIGKILL ends the stop"
}

func rungName(s unix.Signal) string {
	if s == ladder.AsReceived {
		return "the stop signal as received"
	}
	return signals.Name(s)
}

// startStop begins the stop: readiness turns 503 at once, and the ladder's
// first rung goes out after the stop delay.
func (l *loop) startStop(now time.Time, received, sig syscall.Signal) {
	l.phase = stopping
	l.status.update(func(s *Snapshot) { s.Draining = true })
	l.hooks.Draining()
	c := l.startChoice
	if l.cfg.Preset == "auto" && len(l.cfg.Stop.Steps) == 0 {
		// Look again: an entrypoint script may have exec'd the worker, and
		// a worker script is read as the child sees it.
		if argv := proctree.Cmdline(l.pid); len(argv) > 0 {
			pid := l.pid
			again := l.cfg.ChoosePreset(argv, func() ladder.Files { return childScriptFiles(pid) })
			if again.Preset != c.Preset {
				l.log.Info("preset changed at stop: the child's command line is now different", "from", c.Preset, "to", again.Preset, "reason", again.Reason)
			}
			c = again
		}
	}
	b := l.cfg.Budget
	lad, warns := l.cfg.PlanLadder(c.Preset, b)
	for _, w := range warns {
		l.log.Warn(w)
	}
	l.stop = &stopRun{requestedAt: now, by: received, preset: c.Preset, budget: b, graceFrom: l.cfg.GraceFrom}
	l.askGrace(l.stop)
	attrs := []any{"signal", signals.Name(received), "preset", c.Preset, "reason", c.Reason, "grace_from", graceFrom(l.stop.graceFrom)}
	if len(lad.Steps) == 0 {
		l.log.Info("stop requested: forwarding", append(attrs, "forwarded", signals.Name(sig))...)
		l.forward(sig)
		return
	}
	lad = lad.Resolve(sig)
	l.stop.steps = ladder.NewStepper(lad, now, b.StopDelay)
	attrs = append(attrs, "ladder", lad.String(), "stop_delay", b.StopDelay.String())
	if lad.Timed {
		attrs = append(attrs, "kill_in", lad.KillAt(b).String())
	} else {
		attrs = append(attrs, "deadline", "none: no grace period set")
	}
	l.log.Info("stop requested: starting the stop ladder", attrs...)
	l.fireRungs(now)
}

// graceFrom names a grace period's source for logs.
func graceFrom(from string) string {
	if from == "" {
		return "unknown"
	}
	return from
}

// graceAnswer is what the GraceSource said about one stop.
type graceAnswer struct {
	stop *stopRun
	Grace
	err  error
	took time.Duration
}

// askGrace asks the GraceSource, in its own goroutine bounded by
// GraceLookupTimeout, for the grace period of stop st. The answer comes
// back to the loop through l.graces; the stop never waits for it.
func (l *loop) askGrace(st *stopRun) {
	src := l.cfg.GraceSource
	if src == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), GraceLookupTimeout)
		defer cancel()
		t0 := time.Now()
		g, err := src.StopGrace(ctx, st.requestedAt)
		// The channel holds one answer, and there is one stop per Run.
		l.graces <- graceAnswer{stop: st, Grace: g, err: err, took: time.Since(t0)}
	}()
}

// graceLearned applies the GraceSource's answer to the stop under way: the
// ladder is planned again inside the grace the orchestrator really gives
// this stop, counted from the stop signal. A failure keeps the plan there
// is, configured or untimed.
func (l *loop) graceLearned(a graceAnswer, now time.Time) {
	st := l.stop
	if l.phase != stopping || a.stop != st {
		l.log.Debug("grace period answer after the stop ended: ignored")
		return
	}
	if a.err != nil {
		keep := "no grace period: the ladder stays untimed"
		if st.budget.Grace > 0 {
			keep = "keeping " + st.budget.Grace.String() + " from " + st.graceFrom
		}
		l.log.Warn("cannot read this stop's grace period from the Kubernetes API: "+a.err.Error()+"; "+keep,
			"took", a.took.Round(time.Millisecond).String())
		return
	}
	if a.Warning != "" {
		l.log.Warn(a.Warning)
	}
	attrs := []any{"grace_period", a.Period.Round(time.Millisecond).String(), "from", a.From, "took", a.took.Round(time.Millisecond).String()}
	switch {
	case st.budget.Grace == a.Period:
		l.log.Info("the kubelet's SIGKILL from the Kubernetes API: as planned", append(attrs, "planned_from", st.graceFrom)...)
		st.graceFrom = "the Kubernetes API: " + a.From
		return
	case st.budget.Grace > 0:
		attrs = append(attrs, "replaces", st.budget.Grace.String()+" from "+st.graceFrom)
	}
	st.budget.Grace, st.graceFrom = max(a.Period, ladder.MinGrace), "the Kubernetes API: "+a.From
	if st.steps == nil {
		l.log.Info("grace period from the Kubernetes API (preset none: no timer)", attrs...)
		return
	}
	lad, warns := l.cfg.PlanLadder(st.preset, st.budget)
	for _, w := range warns {
		l.log.Warn(w)
	}
	lad = lad.Resolve(st.steps.Ladder().Steps[0].Signal)
	st.steps.Retime(lad)
	attrs = append(attrs, "ladder", lad.String(), "kill_in", lad.KillAt(st.budget).String())
	l.log.Info("the kubelet's SIGKILL from the Kubernetes API: the ladder is planned to end before it", attrs...)
	l.fireRungs(now)
}

// repeatStop handles a stop signal during a stop: it advances the ladder
// one rung (at least MinSpacing after the last), or, when stop signals
// are forwarded as they come, forwards it again.
func (l *loop) repeatStop(now time.Time, received, sig syscall.Signal) {
	st := l.stop
	if st.steps == nil || st.steps.Ladder().RepeatForwards {
		l.log.Info("stop signal received again: forwarding", "signal", signals.Name(received), "forwarded", signals.Name(sig))
		l.forward(sig)
		return
	}
	if !st.steps.Repeat(now) {
		l.log.Info("stop signal received; the last rung was already sent", "signal", signals.Name(received))
		return
	}
	due, cause := st.steps.Due()
	next := st.steps.Ladder().Steps[st.steps.Next()]
	l.log.Info("stop signal received again: advancing the ladder", "signal", signals.Name(received),
		"rung", fmt.Sprintf("%d/%d", st.steps.Next()+1, len(st.steps.Ladder().Steps)), "rung_signal", signals.Name(next.Signal),
		"in", due.Sub(now).Round(time.Millisecond).String(), "cause", cause.String())
	l.fireRungs(now)
}

// fireRungs sends the rung that is due, if any.
func (l *loop) fireRungs(now time.Time) {
	if r, ok := l.stop.steps.Fire(now); ok {
		l.sendRung(now, r)
	}
}

// sendRung sends one rung and logs it with its cause and what comes next.
func (l *loop) sendRung(now time.Time, r ladder.Rung) {
	st := l.stop
	lad := st.steps.Ladder()
	attrs := []any{"rung", fmt.Sprintf("%d/%d", r.Index+1, len(lad.Steps)), "signal", signals.Name(r.Signal),
		"pid", l.pid, "since_stop", r.At.Round(time.Millisecond).String(), "cause", rungCause(r)}
	if due, _ := st.steps.Due(); !due.IsZero() {
		attrs = append(attrs, "next", signals.Name(lad.Steps[st.steps.Next()].Signal), "next_in", due.Sub(now).String())
	} else if !st.steps.Finished() {
		attrs = append(attrs, "next", signals.Name(lad.Steps[st.steps.Next()].Signal), "next_in", "on a repeated stop signal")
	}
	if g := st.budget.Grace; g > 0 {
		// Time left before the orchestrator's own SIGKILL, if it sent the stop.
		attrs = append(attrs, "grace_left", (g - r.At).Round(time.Millisecond).String())
	}
	l.hooks.Rung(r.Index, r.Signal)
	if r.Signal == unix.SIGKILL {
		msg := "stop rung: KILL to the whole process tree"
		if st.preset == ladder.Generic && r.Index == 1 {
			msg = fmt.Sprintf("stop rung: the child ignored %s for %s; KILL to the whole process tree",
				signals.Name(lad.Steps[0].Signal), r.At.Round(time.Millisecond))
		}
		n := l.killTree(unix.SIGKILL, nil)
		l.log.Warn(msg, append(attrs, "processes", n)...)
		return
	}
	if err := l.signalChild(r.Signal); err != nil {
		l.log.Warn("stop rung failed", append(attrs, "syscall", "kill", "error", err)...)
		return
	}
	// A stopped process keeps the rung pending until it runs again: wake
	// it, or a SIGSTOPped worker could not drain and would only die at KILL.
	if proctree.State(l.pid) == "T" {
		l.log.Warn("child was stopped (SIGSTOP): sending CONT so it can act on the rung", "pid", l.pid)
		l.signalChild(unix.SIGCONT)
	}
	if r.Index == 0 {
		l.log.Info("stop rung: draining", attrs...)
	} else {
		l.log.Warn("stop rung: escalating", attrs...)
	}
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
func (st *stopRun) outcome() string {
	if st.steps == nil {
		return OutcomeGraceful
	}
	sent := st.steps.Sent()
	switch {
	case len(sent) > 0 && sent[len(sent)-1].Signal == unix.SIGKILL:
		return OutcomeKilled
	case len(sent) > 1:
		return OutcomeEscalated
	}
	return OutcomeGraceful
}

// lastRung names the last rung sent: "2/3 INT", "forwarded" or "none".
func (st *stopRun) lastRung() string {
	if st.steps == nil {
		return "forwarded"
	}
	sent := st.steps.Sent()
	if len(sent) == 0 {
		return "none"
	}
	r := sent[len(sent)-1]
	return fmt.Sprintf("%d/%d %s", r.Index+1, len(st.steps.Ladder().Steps), signals.Name(r.Signal))
}

// stopFinished logs how a stop ended, once the main child has exited.
func (l *loop) stopFinished(now time.Time, attrs []any) {
	st := l.stop
	drain := now.Sub(st.requestedAt)
	outcome := st.outcome()
	l.hooks.Stopped(outcome, drain)
	l.log.Info("child stopped", append(attrs, "outcome", outcome, "drain", drain.Round(time.Millisecond).String(),
		"last_rung", st.lastRung(), "preset", st.preset)...)
}

// killTree sends sig to every process below supervise, including those
// that left the child's process group or session (RQ's work-horse). As
// PID 1 that is kill(-1), which reaches every process in the namespace but
// supervise itself. tree is the list of processes below supervise when
// the caller has just read it, nil otherwise. It returns how many
// processes were signalled, or -1 for kill(-1).
func (l *loop) killTree(sig syscall.Signal, tree []proctree.Proc) int {
	if reaper.IsPID1() {
		if err := unix.Kill(-1, sig); err != nil && err != unix.ESRCH {
			l.log.Warn("kill failed", "syscall", "kill(-1)", "signal", signals.Name(sig), "error", err)
		}
		return -1
	}
	// List the tree before the first kill: once a parent dies its children
	// are re-parented, and a list taken in that moment can miss them. Then
	// look again, for processes forked or re-parented meanwhile.
	sent := map[int]bool{}
	if tree == nil {
		tree = l.leftovers()
	}
	if l.pid != 0 && unix.Kill(-l.pid, sig) == nil {
		sent[l.pid] = true
	}
	for pass := 0; pass < 3 && len(tree) > 0; pass++ {
		for _, p := range tree {
			if !sent[p.PID] && unix.Kill(p.PID, sig) == nil {
				sent[p.PID] = true
			}
		}
		var fresh []proctree.Proc
		for _, p := range l.leftovers() {
			if !sent[p.PID] {
				fresh = append(fresh, p)
			}
		}
		tree = fresh
	}
	return len(sent)
}

// leftovers lists the processes below supervise that are still alive.
func (l *loop) leftovers() []proctree.Proc {
	all, err := proctree.Snapshot()
	if err != nil {
		l.log.Warn("cannot list processes", "path", "/proc", "error", err)
		return nil
	}
	var out []proctree.Proc
	for _, p := range proctree.Descendants(all, os.Getpid()) {
		if p.State != "Z" && p.State != "X" {
			out = append(out, p)
		}
	}
	return out
}
