package plan

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/signals"
)

// StartLine is the start-up log line that states the plan: which stop
// protocol applies and why, and what a stop will do, the timed ladder and
// when its KILL lands, or, without a grace period, that supervise keeps no
// deadline of its own. It is short enough for `docker logs`; Describe has
// the long form.
func (p Plan) StartLine() (string, []any) {
	attrs := []any{"preset", p.Preset, "reason", p.Reason}
	if p.Budget.FastStop > 0 {
		attrs = append(attrs, "fast_stop", p.Budget.FastStop.String(), "fast_stop_from", p.FastStopFrom)
	}
	lad := p.Ladder
	b := p.Budget
	switch {
	case len(lad.Steps) == 0:
		return "stop protocol: stop signals are forwarded as received, with no timer (tini's behaviour)", attrs
	case lad.Timed && b.Grace > 0 && p.Kubelet:
		kill := p.KillAt()
		return fmt.Sprintf("stop protocol: KILL lands %s after the stop signal, %s before the kubelet's SIGKILL", kill, b.Grace-kill),
			append(attrs, "kill_after", b.Grace.String(), "from", p.GraceFrom, "ladder", lad.String(), "kill_at", kill.String())
	case lad.Timed && b.Grace > 0:
		kill := p.KillAt()
		return fmt.Sprintf("stop protocol: KILL lands %s after the stop signal; the orchestrator's grace period "+
				"(stop_grace_period, terminationGracePeriodSeconds) must be at least %s", kill, b.Grace),
			append(attrs, "grace_period", b.Grace.String(), "ladder", lad.String(), "kill_at", kill.String())
	case lad.Timed:
		kill := p.KillAt()
		return fmt.Sprintf("stop protocol: KILL lands %s after the stop signal (--drain-timeout); no grace period is set, "+
				"so supervise cannot check that the orchestrator waits that long", kill),
			append(attrs, "ladder", lad.String(), "kill_at", kill.String())
	}
	// Short enough to read in docker logs; plan holds the long form.
	return "stop protocol: no grace period set, so no deadline of supervise's own " +
		"(set SUPERVISE_GRACE_PERIOD to the orchestrator's; supervise plan explains)", append(attrs, "ladder", lad.String())
}

// Describe writes the plan at length, as `supervise plan` prints it: the
// preset and why, the grace period and its source, every rung with when
// it is sent and its part, the orchestrator's SIGKILL, and the warnings.
func (p Plan) Describe(w io.Writer) {
	b, lad := p.Budget, p.Ladder
	fmt.Fprintf(w, "command:      %s\n", strings.Join(p.Argv, " "))
	fmt.Fprintf(w, "preset:       %s (%s)\n", p.Preset, p.Reason)
	if b.Grace > 0 {
		fmt.Fprintf(w, "grace period: %s, from %s\n", b.Grace, p.GraceFrom)
	} else {
		fmt.Fprintf(w, "grace period: not set: supervise keeps no deadline of its own\n")
	}
	if len(lad.Steps) == 0 {
		fmt.Fprintf(w, "\nOn a stop signal, supervise passes it to the child as received, and a\n"+
			"repeated one too. It starts no timer: the orchestrator's SIGKILL is the end.\n")
		p.writeWarnings(w)
		return
	}
	fmt.Fprintf(w, "ladder:       %s\n", lad)
	if fs := p.fastStop(); fs != "" {
		fmt.Fprintf(w, "fast stop:    %s\n", fs)
	}
	fmt.Fprintf(w, "\nAfter the stop signal (TERM from docker stop or the kubelet):\n")
	for _, r := range lad.Preview(b) {
		when := r.When
		if r.Timed {
			when = r.At.String()
		}
		fmt.Fprintf(w, "  %-26s %-9s %s\n", when, previewSignal(r.Signal), r.Role)
	}
	di := lad.DrainIndex()
	switch {
	case lad.Timed && b.Grace > 0:
		kill := p.KillAt()
		who := "orchestrator"
		if p.Kubelet {
			who = "kubelet"
		}
		fmt.Fprintf(w, "  %-26s %-9s %s\n", b.Grace.String(), "", "the "+who+"'s SIGKILL")
		fmt.Fprintf(w, "\nThe worker drains for up to %s. supervise's KILL lands at %s, %s before\n", lad.Steps[di].Wait, kill, b.Grace-kill)
		if p.Kubelet {
			fmt.Fprintf(w, "the kubelet's, which comes %s after its stop signal: %s.\n"+
				"At each stop supervise reads the pod again: a deletion's own grace\n"+
				"(kubectl delete --grace-period) and a probe's restart replan the ladder.\n",
				b.Grace, strings.TrimPrefix(p.GraceFrom, "the pod spec: "))
		} else {
			fmt.Fprintf(w, "the orchestrator's. The orchestrator's grace period must be at least %s:\n"+
				"compose stop_grace_period: %s, or Kubernetes terminationGracePeriodSeconds: %d\n"+
				"(plus any preStop hook's time).\n", b.Grace, b.Grace, int(b.Grace.Round(time.Second)/time.Second))
		}
	case lad.Timed:
		kill := p.KillAt()
		fmt.Fprintf(w, "\nThe worker drains for up to %s; supervise's KILL lands at %s. No grace period\n"+
			"is set, so nothing checks that the orchestrator waits that long: its grace\n"+
			"period must be more than %s.\n", lad.Steps[di].Wait, kill, kill)
	case lad.RepeatForwards:
		fmt.Fprintf(w, "\nA repeated stop signal is passed on as received, as tini does. The drain\n"+
			"lasts until the orchestrator's SIGKILL. Set SUPERVISE_GRACE_PERIOD to the\n"+
			"orchestrator's grace period to have supervise KILL the child just before it.\n")
	default:
		fmt.Fprintf(w, "\nRepeated stop signals advance one rung each, at least %s apart. The drain\n"+
			"lasts until the orchestrator's SIGKILL, however long its grace period is.\n"+
			"Set SUPERVISE_GRACE_PERIOD to the orchestrator's grace period (compose\n"+
			"stop_grace_period, Kubernetes terminationGracePeriodSeconds) to have the\n"+
			"drain timed inside it and the fast stop sent before the SIGKILL.\n", ladder.MinSpacing)
	}
	p.writeWarnings(w)
}

// fastStop says the wait after the "stop now" rung and where it came
// from; "" when the ladder has none.
func (p Plan) fastStop() string {
	lad := p.Ladder
	di := lad.DrainIndex()
	if di < 0 || di+1 >= len(lad.Steps)-1 {
		return ""
	}
	sig := signals.Name(lad.Steps[di+1].Signal)
	var s string
	switch {
	case p.Budget.FastStop > 0:
		s = fmt.Sprintf("%s after %s, from %s", p.Budget.FastStop, sig, p.FastStopFrom)
	case !lad.Timed:
		s = fmt.Sprintf("after %s: untimed without a grace period", sig)
	default:
		s = fmt.Sprintf("%s after %s, the %s preset's (--fast-stop sets it)", lad.Steps[di+1].Wait, sig, p.Preset)
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
