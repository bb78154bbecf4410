package kube

import (
	"fmt"
	"strconv"
	"strings"
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

// defaultGrace is the terminationGracePeriodSeconds the API server gives
// a pod that sets none.
const defaultGrace = 30 * time.Second

// MinKill is the kubelet's floor: it waits at least this long between its
// stop signal and SIGKILL, however little of the grace the hook left.
const MinKill = 2 * time.Second

// CheckStopGrace checks --kubelet-stop-grace: the kubelet never gives
// less than MinKill.
func CheckStopGrace(d time.Duration) error {
	if d < MinKill {
		return fmt.Errorf("must be at least %s, the kubelet's own least", MinKill)
	}
	return nil
}

// clockDisagreement is how far apart the API server's clock and this
// node's may read deletionTimestamp's time left before supervise says so.
// Both are whole seconds against a clock of milliseconds, so a second
// apart is normal.
const clockDisagreement = 2 * time.Second

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
	// Own is what supervise itself knows of the stop.
	Own Own
}

// Own is what supervise knows of a stop without a deletion that the pod
// object does not say: how it answered the kubelet's probes, and what the
// operator told it of the kubelet's own stops.
type Own struct {
	// Port is the port supervise's health server listens on; 0 when off.
	Port int
	// ProbedAt is when supervise last answered the kubelet's probe of
	// /livez or /healthz (User-Agent kube-probe/...), and ProbeOK whether
	// with 200; zero when it never did.
	ProbedAt time.Time
	ProbeOK  bool
	// KubeletGrace is --kubelet-stop-grace: the grace the kubelet gives a
	// stop it makes on its own (a soft node-pressure eviction, a graceful
	// node shutdown), which no API object tells; 0 when not told.
	KubeletGrace time.Duration
}

// PlannedDeadline is the deadline of a deletion at the spec's grace, as
// far as the pod spec tells before any stop: what the start-up line and
// supervise plan show.
func (p PodInfo) PlannedDeadline(c Container) Deadline {
	grace, field := p.SpecGrace, "terminationGracePeriodSeconds"
	if !p.HasSpecGrace {
		grace, field = defaultGrace, "terminationGracePeriodSeconds (Kubernetes' default)"
	}
	return specDeadline(grace, field, c.PreStop)
}

// StopDeadline is the deadline of the stop under way, from the pod object
// read during it. The rule never plans later than the kubelet's SIGKILL
// can come:
//
//   - The spec gives S = max(grace − the preStop sleep, MinKill) after the
//     stop signal. The kubelet starts counting when it sends its stop
//     signal, so however late it noticed the deletion, S is exact with no
//     hook or a sleep action (its own timer): S is used, and no clock is
//     read at all.
//   - An exec or httpGet hook may take longer than the spec says (an exec
//     sleep 8 takes 8 s and the exec's own time), so S is only an upper
//     bound. deletionTimestamp then tells what is left: the deletion time
//     plus the grace, which the kubelet's SIGKILL never comes before. It
//     is read against two clocks, the API server's (the answer's Date)
//     and this node's, each from when the request was sent and less 1 s
//     for whole seconds, and the earlier of the two is used, within
//     [MinKill, S]. Clocks more than clockDisagreement apart get a warning.
//   - Without a deletion, the kubelet restarts the container after a
//     failed liveness or startup probe (with the probe's grace, when it
//     sets one), or stops it on its own: a node-pressure eviction, a
//     graceful node shutdown, whose grace no API object announces
//     (noDeletionDeadline).
func (p PodInfo) StopDeadline(c Container, r Reading) Deadline {
	if !p.Deleting {
		return p.noDeletionDeadline(c, r.Own)
	}
	spec := specDeadline(p.DeletionGrace, "deletionGracePeriodSeconds", c.PreStop)
	if c.PreStop.Kind == HookNone || c.PreStop.Kind == HookSleep {
		return spec
	}
	sinceStop := r.Sent.Sub(r.Stop)
	node := sinceStop + p.DeletionTimestamp.Sub(r.Sent) - time.Second
	from := "deletionTimestamp − this node's clock"
	left := node
	var warn string
	if !r.Date.IsZero() {
		api := sinceStop + p.DeletionTimestamp.Sub(r.Date) - time.Second
		if d := api - node; d > clockDisagreement || d < -clockDisagreement {
			warn = fmt.Sprintf("the API server's clock and this node's disagree by %s on deletionTimestamp: planning with the earlier",
				d.Abs().Round(time.Millisecond))
		}
		if api < node {
			left, from = api, "deletionTimestamp − the API server's Date"
		}
	}
	// Whole milliseconds, rounded down: the ladder and its log read better.
	return Deadline{After: clamp(left, MinKill, spec.After).Truncate(time.Millisecond),
		From:    fmt.Sprintf("%s, less 1s for whole seconds; at most %s", from, spec.From),
		Warning: warn}
}

// noDeletionDeadline is the deadline of a stop without a deletion. It is
// a restart after a failed probe only when a probe could have failed: a
// liveness probe that is not supervise's own /livez answered healthy, or
// a startup probe that has not yet succeeded. Otherwise it is a stop of
// the kubelet's own, and supervise never calls it a probe's restart. The
// grace is the shortest that could apply: a probe's, the operator's
// --kubelet-stop-grace, the pod's (the kubelet caps every grace at the
// pod's); the preStop hook's time comes out of it as for a deletion.
func (p PodInfo) noDeletionDeadline(c Container, own Own) Deadline {
	grace, field := p.SpecGrace, "terminationGracePeriodSeconds"
	if !p.HasSpecGrace {
		grace, field = defaultGrace, "terminationGracePeriodSeconds (Kubernetes' default)"
	}
	probe := c.probeMayHaveFailed(own)
	if probe {
		for _, g := range c.ProbeGraces {
			if g < grace {
				grace, field = g, "the probe's terminationGracePeriodSeconds"
			}
		}
	}
	if own.KubeletGrace > 0 && own.KubeletGrace < grace {
		grace, field = own.KubeletGrace, "--kubelet-stop-grace"
	}
	d := specDeadline(grace, field, c.PreStop)
	switch {
	case probe:
		d.From = "no deletion (a failed probe's restart, or a stop of the kubelet's own): " + d.From
	default:
		d.From = "no deletion and no failed probe (a stop of the kubelet's own: eviction, node shutdown): " + d.From
		if own.KubeletGrace == 0 {
			d.Warning = "a stop without a deletion and without a failed probe is the kubelet's own (a node-pressure " +
				"eviction, a graceful node shutdown), whose grace no API object tells: planning with the pod's; " +
				"set --kubelet-stop-grace to the node's evictionMaxPodGracePeriod or shutdown grace"
		}
	}
	return d
}

// probeMayHaveFailed reports whether a failed probe can explain a restart:
// a startup probe not yet passed, or a liveness probe, unless it is
// supervise's own /livez or /healthz and supervise's last answer to the
// kubelet was 200 (a restart needs FailureThreshold failures in a row,
// each of which supervise would have answered).
func (c Container) probeMayHaveFailed(own Own) bool {
	if c.StartupProbe && !c.Started {
		return true
	}
	l := c.Liveness
	if l == nil {
		return false
	}
	path, _, _ := strings.Cut(l.Path, "?")
	self := own.Port != 0 && l.Port == strconv.Itoa(own.Port) && (path == "/livez" || path == "/healthz")
	return !(self && !own.ProbedAt.IsZero() && own.ProbeOK)
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
