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
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// Options are what decides a plan, besides the command.
type Options struct {
	// Preset is "auto", "none" or a preset's name.
	Preset string
	// Stop, when it has steps, replaces the preset's ladder (--stop).
	Stop ladder.Ladder
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

// Plan is what a stop of one command line will do.
type Plan struct {
	Argv []string
	// Preset and Reason: which stop protocol, and why.
	ladder.Detection
	// Ladder is planned inside Budget; it has no steps when stop signals
	// are plainly forwarded (preset none).
	Ladder    ladder.Ladder
	Budget    ladder.Budget
	GraceFrom string
	Kubelet   bool
	// FastStopFrom says where Budget.FastStop came from; empty when unset.
	FastStopFrom string
	// KubeletStopGrace is Options.KubeletStopGrace.
	KubeletStopGrace time.Duration
	// Warnings are one line each: a budget too short for the ladder, a
	// worker timeout longer than the drain.
	Warnings []string
	// Err, when set, is a *ladder.FitError: the waits the user set do not
	// fit the grace period. At start that is bad input; at a stop, whose
	// grace the orchestrator has just told, it is one more warning (the
	// ladder is then squeezed as Plan does for any short grace).
	Err error
}

// Choose says which preset a stop of argv uses: --stop's ladder
// ("custom"), --preset's, or auto's pick from argv. When argv runs a
// Python script or module auto does not know by name, it looks inside,
// reading files as files says; files is called only then.
func Choose(o Options, argv []string, files func() ladder.Files) ladder.Detection {
	if len(o.Stop.Steps) > 0 {
		return ladder.Detection{Preset: "custom", Reason: "--stop given"}
	}
	if o.Preset != "" && o.Preset != "auto" {
		return ladder.Detection{Preset: o.Preset, Reason: "--preset given"}
	}
	d := ladder.Detect(argv)
	if d.Preset == ladder.Generic && ladder.RunsPython(argv) {
		if s, ok := ladder.DetectScript(argv, files()); ok {
			d = s
		}
	}
	d.Reason = "auto: " + d.Reason
	return d
}

// Make plans a stop of argv: Choose, then the ladder inside o.Budget.
func Make(o Options, argv []string, files func() ladder.Files) Plan {
	return o.plan(argv, Choose(o, argv, files), o.Budget)
}

// Within is the same plan in another budget: the grace period a stop
// learned while under way.
func (p Plan) Within(o Options, b ladder.Budget, graceFrom string) Plan {
	o.GraceFrom = graceFrom
	return o.plan(p.Argv, p.Detection, b)
}

func (o Options) plan(argv []string, d ladder.Detection, b ladder.Budget) Plan {
	p := Plan{Argv: argv, Detection: d, Budget: b, GraceFrom: o.GraceFrom, Kubelet: o.Kubelet, FastStopFrom: o.FastStopFrom,
		KubeletStopGrace: o.KubeletStopGrace}
	if len(o.Stop.Steps) > 0 {
		p.Ladder, p.Warnings = o.Stop, ladder.Check(o.Stop, b)
	} else if pr, ok := ladder.Lookup(d.Preset); ok {
		p.Ladder, p.Warnings = ladder.Plan(pr, b)
		if p.Err = ladder.Fit(pr, b); p.Err != nil {
			p.Warnings = append([]string{p.Err.Error()}, p.Warnings...)
		}
		if b.FastStop > 0 && !pr.HasFastStop() {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s %s has no effect: the %s ladder has no \"stop now\" rung for it to time",
				p.FastStopFrom, b.FastStop, pr.Name))
		}
	} else {
		p.Warnings = []string{fmt.Sprintf("unknown preset %q: forwarding stop signals", d.Preset)}
		return p
	}
	p.Warnings = append(p.Warnings, ladder.CheckWorkerTimeout(d.Preset, argv, p.Ladder, b)...)
	return p
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
