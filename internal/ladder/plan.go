package ladder

import (
	"fmt"
	"time"
)

// Budget is the time the orchestrator allows a stop, and how supervise
// spends it.
type Budget struct {
	// Grace is the time between the orchestrator's stop signal and its
	// SIGKILL: docker stop -t / stop_grace_period (10s by default),
	// Kubernetes' terminationGracePeriodSeconds (30s by default).
	Grace time.Duration
	// StopDelay is spent before the first rung, while readiness reports 503.
	StopDelay time.Duration
	// DrainTimeout, when set, is the drain wait, whatever the grace.
	DrainTimeout time.Duration
}

// Margin is the time kept free between supervise's last rung and the
// orchestrator's SIGKILL: 1s, or a tenth of a grace period shorter than 10s.
// It covers the orchestrator's own latency and a child's final exit.
func Margin(grace time.Duration) time.Duration {
	if grace >= 10*time.Second {
		return time.Second
	}
	return grace / 10
}

// Plan sizes p's drain so the ladder's KILL lands Margin before the grace
// period ends, counting the stop delay. It returns the ladder and warnings
// for a budget that cannot hold it. A preset without steps returns an empty
// ladder.
func Plan(p Preset, b Budget) (Ladder, []string) {
	if len(p.Steps) == 0 {
		return Ladder{}, nil
	}
	avail := b.Grace - b.StopDelay - Margin(b.Grace)
	var fixed time.Duration
	for _, s := range p.Steps {
		fixed += s.Wait
	}
	if b.DrainTimeout > 0 {
		l := p.Ladder(b.DrainTimeout)
		return l, Check(l, b)
	}
	drain := avail - fixed
	if drain >= MinSpacing {
		return p.Ladder(drain), nil
	}
	// The grace is too short for the preset's fast-stop waits: shorten them
	// to the minimum spacing and give the drain what is left.
	l := p.Ladder(0)
	var short time.Duration
	for i := range l.Steps {
		if l.Steps[i].Wait > 0 {
			l.Steps[i].Wait = MinSpacing
			short += MinSpacing
		}
	}
	drain = avail - short
	if drain < MinSpacing {
		drain = MinSpacing
	}
	if i := l.DrainIndex(); i >= 0 {
		l.Steps[i].Wait = drain
	}
	warn := []string{fmt.Sprintf("grace period %s is short for the %s ladder: fast-stop waits shortened to %s", b.Grace, p.Name, MinSpacing)}
	return l, append(warn, Check(l, b)...)
}

// Check warns when l, started after the stop delay, cannot end before the
// grace period's SIGKILL.
func Check(l Ladder, b Budget) []string {
	if b.Grace <= 0 || len(l.Steps) == 0 {
		return nil
	}
	if end := b.StopDelay + l.Total(); end > b.Grace-Margin(b.Grace) {
		return []string{fmt.Sprintf("stop ladder %s with stop delay %s takes %s, more than the grace period %s allows: the orchestrator's SIGKILL may come first", l, b.StopDelay, end, b.Grace)}
	}
	return nil
}
