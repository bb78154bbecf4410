package kube

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/supervise/supervise/internal/signals"
)

// StartupLookup bounds the GET of the pod at start. The child waits for
// it, so it is short; an API server that does not answer in time only
// costs the start-up plan, never the stop (which asks again).
const StartupLookup = time.Second

// NoAPIAdvice says what to do when supervise cannot read its pod.
const NoAPIAdvice = "set SUPERVISE_GRACE_PERIOD to terminationGracePeriodSeconds minus the preStop hook's time " +
	"(the kubelet takes the hook's time out of the grace, and waits at least 2s after its stop signal), " +
	"or give the pod's service account get on pods"

// Spec is what the pod spec says before any stop.
type Spec struct {
	// Deadline is when the kubelet's SIGKILL would come after its stop
	// signal at a deletion with the spec's grace; zero when unknown.
	Deadline Deadline
	// StopSignal is the container's stop signal when it is not TERM.
	StopSignal syscall.Signal
	// Warnings are one line each, for the log (or plan's Warnings).
	Warnings []string
}

// ReadSpec GETs the pod once, bounded by StartupLookup, and says what its
// spec tells of a stop. A pod that cannot be read gives a Spec with only
// a warning: each stop asks again.
func (p *Pod) ReadSpec() Spec {
	var s Spec
	ctx, cancel := context.WithTimeout(context.Background(), StartupLookup)
	defer cancel()
	info, _, err := p.Get(ctx)
	if err != nil {
		s.Warnings = append(s.Warnings, "cannot read pod "+p.Namespace+"/"+p.Name+" at start ("+err.Error()+
			"); each stop asks again; if it fails then too: "+NoAPIAdvice)
		return s
	}
	c, warn := info.Container(p.Container)
	if warn != "" {
		s.Warnings = append(s.Warnings, warn)
	}
	s.Deadline = info.PlannedDeadline(c)
	if s.Deadline.Warning != "" {
		s.Warnings = append(s.Warnings, s.Deadline.Warning)
	}
	for _, g := range c.ProbeGraces {
		if g < s.Deadline.After {
			s.Warnings = append(s.Warnings, fmt.Sprintf("a restart after a failed liveness or startup probe gets the probe's "+
				"terminationGracePeriodSeconds %s, less than a deletion's %s: supervise tells them apart at the stop by reading the pod; "+
				"if it cannot, it plans with %s", g, s.Deadline.After, s.Deadline.After))
			break
		}
	}
	if c.StopSignal != "" {
		sig, err := signals.Parse(c.StopSignal)
		switch {
		case err != nil:
			s.Warnings = append(s.Warnings, fmt.Sprintf("the container's stopSignal %q is not a signal supervise knows: %v", c.StopSignal, err))
		case sig != syscall.SIGTERM:
			s.StopSignal = sig
		}
	}
	return s
}

// StopDeadlineNow reads the pod during the stop that began at stopAt and
// returns the kubelet's deadline for it, with any warning about the
// container or the clocks; own is what supervise knows of the stop that
// the pod does not say. It returns when ctx ends.
func (p *Pod) StopDeadlineNow(ctx context.Context, stopAt time.Time, own Own) (Deadline, string, error) {
	info, rd, err := p.Get(ctx)
	if err != nil {
		return Deadline{}, "", err
	}
	rd.Stop, rd.Own = stopAt, own
	c, warn := info.Container(p.Container)
	d := info.StopDeadline(c, rd)
	switch {
	case warn == "":
		warn = d.Warning
	case d.Warning != "":
		warn += "; " + d.Warning
	}
	return d, warn, nil
}
