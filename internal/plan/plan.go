// Package plan decides what a stop of a command will do: the preset (the
// one asked for, or auto's pick from the command line and, for a Python
// worker started from its own script, from that script), the ladder
// planned inside the budget, and the warnings about it.
//
// One Plan value carries it all. Deadline and Rule say it in one
// sentence each, which StartLine puts in the start-up log line and
// Describe in `supervise plan`'s long form; GraceText renders a grace
// period for them and for the stop report. The supervisor makes a Plan at
// start and again at the stop, when the child's command line or the grace
// period may have changed. Nothing here signals or waits: Make reads files only through
// the Files it is given.
package plan

import (
	"fmt"
	"slices"
	"time"

	"github.com/supervise/supervise/internal/detect"
	"github.com/supervise/supervise/internal/ladder"
)

// Timing is what decides when a stop's rungs land, and where each part
// came from: the grace period and how the ladder spends it, the
// kubelet's rule, the grace of the kubelet's own stops, and the sources
// that logs, supervise plan and the stop report name. The supervisor's
// Config, Options and Plan embed this one declaration.
type Timing struct {
	// Budget is the grace period and how the ladder spends it.
	Budget ladder.Budget
	// GraceFrom says where Budget.Grace came from, for logs ("--grace-period",
	// "the pod spec: ..."); empty when there is none.
	GraceFrom string
	// Kubelet is true when Budget.Grace is the kubelet's deadline, read
	// from the pod: the orchestrator is then named as the kubelet.
	Kubelet bool
	// FastStopFrom says where Budget.FastStop came from ("--fast-stop",
	// "SUPERVISE_FAST_STOP"); empty when it is unset.
	FastStopFrom string
	// KubeletStopGrace is --kubelet-stop-grace (with Kubelet): the grace of
	// the kubelet's own stops; 0 when not told.
	KubeletStopGrace time.Duration
}

// Options are what decides a plan, besides the command.
type Options struct {
	// Preset is "auto", "none" or a preset's name.
	Preset string
	// Stop, when it has steps, replaces the preset's ladder (--stop).
	Stop ladder.Ladder
	Timing
	// Defaults, when set, says which defaults applied and why (supervise
	// run as an engine's injected init).
	Defaults string
}

// Plan is what a stop of one command line will do.
type Plan struct {
	Argv []string
	// Preset and Reason: which stop protocol, and why.
	detect.Detection
	// Ladder is planned inside Timing.Budget; it has no steps when stop
	// signals are plainly forwarded (preset none).
	Ladder ladder.Ladder
	Timing
	// Defaults is Options.Defaults.
	Defaults string
	// Warnings are one line each: a budget too short for the ladder, a
	// worker timeout longer than the drain.
	Warnings []string
	// Notes are one line each about what supervise cannot see and the
	// plan depends on: a worker's shutdown setting kept in its
	// configuration file or code, with the value to give it.
	Notes []string
	// Timeout is what the plan knows of the worker's own shutdown timeout.
	Timeout Timeout
	// stop is --stop's ladder, when given.
	stop ladder.Ladder
	// Err, when set, is a *ladder.FitError: the waits the user set do not
	// fit the grace period. At start that is bad input; at a stop, whose
	// grace the orchestrator has just told, it is one more warning (the
	// ladder is then squeezed as Size does for any short grace).
	Err error
}

// Choose says which preset a stop of argv uses: --stop's ladder
// ("custom"), --preset's, or auto's pick from argv. When argv runs a
// Python script or module auto does not know by name, it looks inside,
// reading files as env says (only then).
func Choose(o Options, argv []string, env Env) detect.Detection {
	if len(o.Stop.Rungs) > 0 {
		return detect.Detection{Preset: "custom", Reason: "--stop given"}
	}
	if o.Preset != "" && o.Preset != "auto" {
		return detect.Detection{Preset: o.Preset, Reason: "--preset given"}
	}
	d := detect.Command(argv)
	if d.Preset == ladder.Generic && detect.RunsPython(argv) && env != nil {
		if s, ok := detect.Script(argv, env.Files()); ok {
			d = s
		}
	}
	d.Reason = "auto: " + d.Reason
	return d
}

// Make plans a stop of argv: Choose, then the ladder inside o.Budget,
// with the worker's own shutdown timeout read from argv (or env) and
// checked against it.
func Make(o Options, argv []string, env Env) Plan {
	return o.plan(argv, Choose(o, argv, env), env, o.Budget)
}

// AtStop is the plan of a stop that comes now, when the child's command
// line reads now: under auto, the pick is made again, for an entrypoint
// script may have exec'd the worker since the start. A program that
// rewrote its process title is the same program, so a title auto
// recognises keeps p when it names p's preset, and a command line it
// does not recognise keeps p unless the child exec'd another program
// since the start (execd, asked only then). The start's command line
// stays the one whose options are read whenever p is kept. changed is
// true when the preset differs from p's.
func (p Plan) AtStop(o Options, now []string, env Env, execd func() bool) (next Plan, changed bool) {
	if o.Preset != "auto" || len(o.Stop.Rungs) > 0 || len(now) == 0 {
		return p, false
	}
	if t, ok := detect.Title(now); ok {
		if t.Preset == p.Preset {
			return p, false
		}
		t.Reason = "auto: " + t.Reason
		return o.plan(now, t, env, p.Budget), true
	}
	if slices.Equal(now, p.Argv) {
		return p, false
	}
	d := Choose(o, now, env)
	switch {
	case d.Preset == p.Preset:
		// Another command line of the same worker: an entrypoint that
		// exec'd it. Its options are the ones to read now.
		return o.plan(now, d, env, p.Budget), false
	case d.Preset == ladder.Generic && p.Preset != ladder.Generic && !execd():
		// A retitle auto does not know: the same program.
		return p, false
	}
	return o.plan(now, d, env, p.Budget), true
}

// Within is the same plan in another budget: the grace period a stop
// learned while under way.
func (p Plan) Within(b ladder.Budget, graceFrom string) Plan {
	p.Budget, p.GraceFrom = b, graceFrom
	p.replan()
	return p
}

func (o Options) plan(argv []string, d detect.Detection, env Env, b ladder.Budget) Plan {
	p := Plan{Argv: argv, Detection: d, Timing: o.Timing, Defaults: o.Defaults, stop: o.Stop}
	p.Budget = b
	if pr, ok := ladder.Lookup(d.Preset); ok && pr.Timeout != nil {
		p.Timeout = readTimeout(*pr.Timeout, argv, env)
	}
	p.replan()
	return p
}

// replan makes the ladder, the warnings and the notes from what p holds.
func (p *Plan) replan() {
	b := p.Budget
	p.Warnings, p.Notes, p.Err = nil, nil, nil
	if len(p.stop.Rungs) > 0 {
		p.Ladder, p.Warnings = p.stop, ladder.Check(p.stop, b)
		return
	}
	pr, ok := ladder.Lookup(p.Preset)
	if !ok {
		p.Ladder = ladder.Ladder{}
		p.Warnings = []string{fmt.Sprintf("unknown preset %q: forwarding stop signals", p.Preset)}
		return
	}
	if t := p.Timeout; t.Setting != "" && t.Bounds == ladder.BoundStop && t.Value > 0 && b.FastStop == 0 {
		pr = pr.WithStopWait(t.Value + t.After)
	}
	p.Ladder, p.Warnings = ladder.Size(pr, b)
	if p.Err = ladder.Fit(pr, b); p.Err != nil {
		p.Warnings = append([]string{p.Err.Error()}, p.Warnings...)
	}
	if b.FastStop > 0 && !pr.HasFastStop() {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s has no effect: the %s ladder has no \"stop now\" rung for it to time",
			p.FastStopFrom, b.FastStop, pr.Name))
	}
	w, n := p.Timeout.check(p.Preset, p.Ladder, b)
	p.Warnings = append(p.Warnings, w...)
	p.Notes = append(p.Notes, n...)
}

// KillAt is when a timed plan's KILL lands, counted from the stop signal.
func (p Plan) KillAt() time.Duration { return p.Ladder.KillAt(p.Budget) }

// Grace says the grace period and its source, for logs and reports:
// "20s from SUPERVISE_GRACE_PERIOD", or "unset".
func (p Plan) Grace() string { return GraceText(p.Budget.Grace, p.GraceFrom) }

// GraceText renders a grace period and where it came from, the one way
// every log line, plan and report says it: "20s from
// SUPERVISE_GRACE_PERIOD", "20s" when the source is not known, or "unset".
func GraceText(grace time.Duration, from string) string {
	switch {
	case grace <= 0:
		return "unset"
	case from == "":
		return grace.String()
	}
	return grace.String() + " from " + from
}

// OrUnset is s, or "unset" when it is empty: a log attribute for a value
// nobody set.
func OrUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}
