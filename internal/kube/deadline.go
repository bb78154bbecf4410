package kube

import (
	"fmt"
	"time"
)

// How the kubelet stops a container, and so when its SIGKILL comes
// (Kubernetes' kubelet, killContainer; measured on a real v1.37 node):
//
//  1. It runs the container's preStop hook, if any, for at most the grace.
//  2. It sends the stop signal (TERM, or the container's stopSignal).
//  3. It sends SIGKILL max(grace − the hook's time, MinKill) after that.
//
// The grace is the deletion's (metadata.deletionGracePeriodSeconds), or,
// for a restart after a failed liveness or startup probe, which deletes
// nothing, that probe's terminationGracePeriodSeconds when set, else the
// pod's. Measured: grace 20 s with a preStop sleep of 8 s gives the stop
// signal at +8.0 s and SIGKILL at +20.05 s, 12.0 s after the stop signal.

// MinKill is the kubelet's floor: it waits at least this long between its
// stop signal and SIGKILL, however little of the grace the hook left.
const MinKill = 2 * time.Second

// kubeletSlack is how much later than the deletion's deadline the kubelet's
// SIGKILL may come: the kubelet acts on a deletion when its watch delivers
// it (40-120 ms after the DELETE on an idle node; more on a loaded one).
const kubeletSlack = 500 * time.Millisecond

// Deadline is when the kubelet's SIGKILL can come at the earliest.
type Deadline struct {
	// After is the time from the stop signal to the kubelet's SIGKILL.
	After time.Duration
	// From says how After was worked out, for logs and the stop report.
	From string
	// Warning, when set, is a fallback or disagreement worth one log line.
	Warning string
}

// Reading is one GET of the pod during a stop, timed on this node's
// monotonic clock.
type Reading struct {
	// Stop is when the stop signal arrived; Sent and Received bracket the
	// request.
	Stop, Sent, Received time.Time
	// Date is the answer's Date header (the API server's clock, whole
	// seconds); zero when the answer had none.
	Date time.Time
}

// PlannedDeadline is the deadline of a deletion at the spec's grace, as
// far as the pod spec tells before any stop: what the start-up line and
// supervise plan show.
func (p PodInfo) PlannedDeadline(c Container) Deadline {
	grace, field := p.SpecGrace, "terminationGracePeriodSeconds"
	if !p.HasSpecGrace {
		grace, field = 30*time.Second, "terminationGracePeriodSeconds (Kubernetes' default)"
	}
	return specDeadline(grace, field, c.PreStop)
}

// StopDeadline is the deadline of the stop under way, from the pod object
// read during it.
//
// The rule, which never plans later than the kubelet's SIGKILL can come:
//   - The spec gives S = max(grace − the preStop sleep, MinKill) after the
//     stop signal. A hook takes at least its sleep, so S is never early;
//     for no hook or a sleep action it is exact.
//   - A deletion also gives deletionTimestamp − Date: the time left on
//     the API server's own clock, so this node's clock is never trusted,
//     counted on this node's monotonic clock from the request. Both are
//     whole seconds, so the time left is known to ±1 s: at least L (from
//     when the request was sent, less 1 s), at most H (from when the
//     answer came, plus 1 s and the kubelet's reaction time).
//   - S is used when it is within H. When it is not, the hook ran longer
//     than its sleep or the clocks disagree: L is used, with a warning.
//     When the hook's length is unknown (exec, httpGet), L is used.
//   - Without a deletion (a probe's restart) only the spec can tell.
func (p PodInfo) StopDeadline(c Container, r Reading) Deadline {
	if !p.Deleting {
		return p.restartDeadline(c)
	}
	spec := specDeadline(p.DeletionGrace, "deletionGracePeriodSeconds", c.PreStop)
	var left time.Duration
	clock := "the API server's Date"
	if r.Date.IsZero() {
		// No Date header: this node's clock has to stand in for the API
		// server's.
		left, clock = p.DeletionTimestamp.Sub(r.Sent), "this node's clock (the API's answer had no Date)"
	} else {
		left = p.DeletionTimestamp.Sub(r.Date)
	}
	low := clamp(r.Sent.Sub(r.Stop)+left-time.Second, MinKill, spec.After)
	high := r.Received.Sub(r.Stop) + left + time.Second + kubeletSlack
	fromTimestamp := fmt.Sprintf("deletionTimestamp − %s, less 1s for whole seconds", clock)
	switch {
	case c.PreStop.Kind == HookUnknown:
		return Deadline{After: low, From: fromTimestamp + " (preStop " + c.PreStop.What + " of unknown length)"}
	case spec.After > high:
		return Deadline{After: low, From: fromTimestamp,
			Warning: fmt.Sprintf("the pod spec leaves %s after the stop signal (%s), but deletionTimestamp leaves at most %s: "+
				"planning with %s (the preStop hook ran longer than its sleep, or the API server's clock is off)",
				spec.After, spec.From, high.Round(time.Millisecond), low.Round(time.Millisecond))}
	}
	spec.From += "; deletionTimestamp agrees"
	return spec
}

// restartDeadline is the deadline of a stop without a deletion: a restart
// after a failed liveness or startup probe. Which probe failed is not
// recorded, so the shortest grace that could apply is used.
func (p PodInfo) restartDeadline(c Container) Deadline {
	grace, field := p.SpecGrace, "terminationGracePeriodSeconds"
	if !p.HasSpecGrace {
		grace, field = 30*time.Second, "terminationGracePeriodSeconds (Kubernetes' default)"
	}
	for _, g := range c.ProbeGraces {
		if g < grace {
			grace, field = g, "the probe's terminationGracePeriodSeconds"
		}
	}
	d := specDeadline(grace, field, c.PreStop)
	d.From = "no deletion (a probe's restart): " + d.From
	return d
}

// specDeadline is max(grace − the hook's known sleep, MinKill).
func specDeadline(grace time.Duration, field string, h Hook) Deadline {
	d := Deadline{After: max(grace-h.Sleep, MinKill), From: fmt.Sprintf("%s %s", field, grace)}
	switch h.Kind {
	case HookNone:
		d.From += ", no preStop hook"
	case HookSleep:
		d.From += fmt.Sprintf(" − preStop sleep %s", h.Sleep)
	case HookExecSleep:
		d.From += fmt.Sprintf(" − preStop %s (at least %s)", h.What, h.Sleep)
	case HookUnknown:
		d.From += fmt.Sprintf(", preStop %s of unknown length", h.What)
		d.Warning = fmt.Sprintf("the preStop hook (%s) takes a time the pod spec does not tell, and the kubelet takes it out of the grace: "+
			"at a deletion supervise reads deletionTimestamp to learn what is left; a restart by a probe is planned as if the hook took no time", h.What)
	}
	if grace-h.Sleep < MinKill {
		d.From += fmt.Sprintf(" (the kubelet's %s minimum)", MinKill)
	}
	return d
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(d, hi))
}
