package plan

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/signals"
)

// Deadline says in one sentence what bounds a stop: when the plan's KILL
// lands against the orchestrator's SIGKILL, or that there is no deadline
// of supervise's own. The start-up line and `supervise plan` both say it
// in these words.
func (p Plan) Deadline() string {
	lad, b := p.Ladder, p.Budget
	switch {
	case len(lad.Rungs) == 0:
		return "stop signals are forwarded as received, with no timer (tini's behaviour)"
	case lad.Timed && b.Grace > 0:
		kill := p.KillAt()
		return fmt.Sprintf("KILL lands %s after the stop signal, %s before the %s's SIGKILL", kill, b.Grace-kill, p.orchestrator())
	case lad.Timed:
		return fmt.Sprintf("KILL lands %s after the stop signal (--drain-timeout); no grace period is set, "+
			"so nothing checks that the orchestrator waits that long", p.KillAt())
	}
	return "no grace period is set, so supervise keeps no deadline of its own"
}

// Rule says what the orchestrator must give for the plan to hold: the
// grace rule, or how to have a deadline at all; "" when nothing is asked.
func (p Plan) Rule() string {
	lad, b := p.Ladder, p.Budget
	switch {
	case len(lad.Rungs) == 0 || p.Kubelet || lad.Timed && b.Grace == 0:
		return ""
	case lad.Timed:
		return fmt.Sprintf("the orchestrator's grace period (compose stop_grace_period, Kubernetes "+
			"terminationGracePeriodSeconds plus any preStop hook's time) must be at least %s", b.Grace)
	}
	return "set SUPERVISE_GRACE_PERIOD to the orchestrator's grace period to have the ladder timed inside it"
}

func (p Plan) orchestrator() string {
	if p.Kubelet {
		return "kubelet"
	}
	return "orchestrator"
}

// StartLine is the start-up log line that states the plan: which stop
// protocol applies and why, its Deadline and Rule. It is short enough for
// `docker logs`; Describe has the long form.
func (p Plan) StartLine() (string, []any) {
	attrs := []any{"preset", p.Preset, "reason", p.Reason}
	if p.Defaults != "" {
		attrs = append(attrs, "defaults", p.Defaults)
	}
	if p.Budget.FastStop > 0 {
		attrs = append(attrs, "fast_stop", p.Budget.FastStop.String(), "fast_stop_from", p.FastStopFrom)
	}
	msg := "stop protocol: " + p.Deadline()
	if r := p.Rule(); r != "" {
		msg += "; " + r
	}
	lad := p.Ladder
	switch {
	case len(lad.Rungs) == 0:
	case lad.Timed && p.Kubelet:
		attrs = append(attrs, "kill_after", p.Budget.Grace.String(), "from", p.GraceFrom, "ladder", lad.String(), "kill_at", p.KillAt().String())
	case lad.Timed && p.Budget.Grace > 0:
		attrs = append(attrs, "grace_period", p.Budget.Grace.String(), "ladder", lad.String(), "kill_at", p.KillAt().String())
	case lad.Timed:
		attrs = append(attrs, "ladder", lad.String(), "kill_at", p.KillAt().String())
	default:
		attrs = append(attrs, "ladder", lad.String())
	}
	return msg, attrs
}

// Describe writes the plan at length, as `supervise plan` prints it: the
// preset and why, the grace period and its source, every rung with when
// it is sent and its part, the orchestrator's SIGKILL, the Deadline and
// Rule, and the warnings.
func (p Plan) Describe(w io.Writer) {
	b, lad := p.Budget, p.Ladder
	fmt.Fprintf(w, "command:      %s\n", strings.Join(p.Argv, " "))
	fmt.Fprintf(w, "preset:       %s (%s)\n", p.Preset, p.Reason)
	fmt.Fprintf(w, "grace period: %s\n", strings.Replace(p.Grace(), " from ", ", from ", 1))
	if p.Defaults != "" {
		fmt.Fprint(w, field("defaults", p.Defaults+"."))
	}
	if len(lad.Rungs) > 0 {
		fmt.Fprintf(w, "ladder:       %s\n", lad)
	}
	if fs := p.fastStop(); fs != "" {
		fmt.Fprintf(w, "fast stop:    %s\n", fs)
	}
	for _, n := range p.Notes {
		fmt.Fprint(w, field("check", n+"."))
	}
	fmt.Fprint(w, field("deadline", p.Deadline()+"."))
	if r := p.Rule(); r != "" {
		fmt.Fprint(w, field("rule", r+"."))
	}
	if len(lad.Rungs) == 0 {
		fmt.Fprint(w, "\n"+wrap("On a stop signal, supervise passes it to the child as received, and a repeated one too. "+
			"The orchestrator's SIGKILL is the end.", "", 78))
		p.writeWarnings(w)
		return
	}
	fmt.Fprintf(w, "\nAfter the stop signal (TERM from docker stop or the kubelet):\n")
	for _, r := range lad.Preview(b) {
		when := r.When
		if r.Timed {
			when = r.At.String()
		}
		fmt.Fprintf(w, "  %-26s %-9s %s\n", when, previewSignal(r.Signal), r.Role)
	}
	var more string
	switch {
	case lad.Timed && b.Grace > 0:
		fmt.Fprintf(w, "  %-26s %-9s %s\n", b.Grace.String(), "", "the "+p.orchestrator()+"'s SIGKILL")
		more = fmt.Sprintf("The worker drains for up to %s.", lad.Rungs[lad.DrainIndex()].Wait)
		if p.Kubelet {
			more += fmt.Sprintf(" The kubelet's SIGKILL comes %s after its stop signal: %s. At each stop supervise reads the pod "+
				"again: a deletion's own grace (kubectl delete --grace-period) and a probe's restart replan the ladder.",
				b.Grace, strings.TrimPrefix(p.GraceFrom, "the pod spec: "))
			more += " " + p.kubeletOwnStops()
		}
	case lad.Timed:
		more = fmt.Sprintf("The worker drains for up to %s.", lad.Rungs[lad.DrainIndex()].Wait)
	case lad.RepeatForwards:
		more = "A repeated stop signal is passed on as received, as tini does, and the drain lasts until the orchestrator's SIGKILL."
	default:
		more = fmt.Sprintf("Repeated stop signals advance one rung each, at least %s apart, and the drain lasts until the "+
			"orchestrator's SIGKILL, however long its grace period is.", ladder.MinSpacing)
	}
	fmt.Fprint(w, "\n"+wrap(more, "", 78))
	p.writeWarnings(w)
}

// kubeletOwnStops says how a stop the kubelet makes on its own (a
// node-pressure eviction, a graceful node shutdown) is planned: no API
// object announces it, nor its grace.
func (p Plan) kubeletOwnStops() string {
	if p.KubeletStopGrace > 0 {
		return fmt.Sprintf("A stop without a deletion or a failed probe (the kubelet's own: an eviction, a node shutdown) "+
			"is planned inside --kubelet-stop-grace %s.", p.KubeletStopGrace)
	}
	return "A stop without a deletion or a failed probe (the kubelet's own: an eviction, a node shutdown) is planned " +
		"inside the pod's grace, for no API object tells its own: where the node's evictionMaxPodGracePeriod or " +
		"shutdown grace is shorter, set --kubelet-stop-grace to it."
}

// field renders one "label:" line of Describe, its text wrapped under
// the column the values start in.
func field(label, text string) string {
	const col = "              "
	s := wrap(text, col, 78)
	return fmt.Sprintf("%-14s", label+":") + s[len(col):]
}

// fastStop says the wait after the "stop now" rung and where it came
// from; "" when the ladder has none.
func (p Plan) fastStop() string {
	lad := p.Ladder
	di := lad.DrainIndex()
	if di < 0 || di+1 >= len(lad.Rungs)-1 {
		return ""
	}
	sig := signals.Name(lad.Rungs[di+1].Signal)
	var s string
	switch {
	case p.Budget.FastStop > 0:
		s = fmt.Sprintf("%s after %s, from %s", p.Budget.FastStop, sig, p.FastStopFrom)
	case lad.Timed && p.Timeout.Bounds == ladder.BoundStop && p.Timeout.Value > 0:
		t := p.Timeout
		s = fmt.Sprintf("%s after %s: %s's %s %s (%s) and %s for its own work after it (--fast-stop sets it)",
			lad.Rungs[di+1].Wait, sig, p.Preset, t.Setting, t.Value, t.From, t.After)
	case !lad.Timed:
		s = fmt.Sprintf("after %s: untimed without a grace period", sig)
	default:
		s = fmt.Sprintf("%s after %s, the %s preset's (--fast-stop sets it)", lad.Rungs[di+1].Wait, sig, p.Preset)
	}
	if pr, ok := ladder.Lookup(p.Preset); ok && pr.FastStopNote != "" {
		s += "\n" + strings.TrimRight(wrap(pr.FastStopNote, "              ", 74), "\n")
	}
	return s
}

func previewSignal(s unix.Signal) string {
	if s == ladder.AsReceived {
		return "(as received)"
	}
	return signals.Name(s)
}

func (p Plan) writeWarnings(w io.Writer) {
	if len(p.Warnings) == 0 {
		fmt.Fprintf(w, "\nWarnings: none.\n")
		return
	}
	fmt.Fprintf(w, "\nWarnings:\n")
	for _, m := range p.Warnings {
		fmt.Fprintf(w, "  - %s\n", m)
	}
}
