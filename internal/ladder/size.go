package ladder

import (
	"fmt"
	"time"
)

// Budget is the time the orchestrator allows a stop, and how supervise
// spends it.
type Budget struct {
	// Grace is the time between the orchestrator's stop signal and its
	// SIGKILL: docker stop -t / stop_grace_period, Kubernetes'
	// terminationGracePeriodSeconds. Zero means unknown: the ladder is
	// then untimed and the orchestrator's SIGKILL is the only deadline.
	Grace time.Duration
	// StopDelay is spent before the first rung, while readiness reports 503.
	StopDelay time.Duration
	// DrainTimeout, when set, is the drain wait, whatever the grace.
	DrainTimeout time.Duration
	// FastStop, when set, is the wait after each "stop now" rung (the
	// rungs between the drain and KILL) in a timed ladder, instead of the
	// preset's measured one: for a worker whose own "stop now" takes a
	// configured time (Celery's worker_soft_shutdown_timeout).
	FastStop time.Duration
}

// Budget fields, as FieldError names them.
const (
	FieldGrace        = "grace period"
	FieldDrainTimeout = "drain timeout"
	FieldStopDelay    = "stop delay"
	FieldFastStop     = "fast stop"
)

// MinGrace is the shortest grace period a ladder can be planned in.
const MinGrace = time.Second

// AtLeastMinGrace is a grace period an orchestrator told (a pod's
// deadline, read at start or at the stop) as a ladder can be planned in:
// never under MinGrace. A deadline already past still gets MinGrace.
func AtLeastMinGrace(d time.Duration) time.Duration { return max(d, MinGrace) }

// FieldError is a Budget field out of bounds.
type FieldError struct {
	Field  string // one of the Field constants
	Value  time.Duration
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Field, e.Value, e.Reason)
}

// Unsettable reports whether field may be left unset: zero means unset
// for every field but the stop delay.
func Unsettable(field string) bool {
	_, _, unset := new(Budget).field(field)
	return unset != ""
}

// Set sets field (a Field constant) to d, as an option gives it. A zero
// given for a field that may be left unset (Unsettable) is a *FieldError
// that says how to leave it unset.
func (b *Budget) Set(field string, d time.Duration) error {
	to, least, unset := b.field(field)
	if to == nil {
		return &FieldError{field, d, "no such field"}
	}
	if d == 0 && unset != "" {
		return &FieldError{field, d, fmt.Sprintf("must be at least %s; %s", least, unset)}
	}
	*to = d
	return nil
}

// field is the Budget field named field (nil when none is), its least
// value when set, and how to leave it unset ("" when zero is a value).
func (b *Budget) field(field string) (to *time.Duration, least time.Duration, unset string) {
	switch field {
	case FieldGrace:
		return &b.Grace, MinGrace, "leave it unset when the grace period is not known"
	case FieldDrainTimeout:
		return &b.DrainTimeout, MinSpacing, "leave it unset to plan the drain from the grace period"
	case FieldFastStop:
		return &b.FastStop, MinSpacing, "leave it unset for the preset's own wait"
	case FieldStopDelay:
		return &b.StopDelay, 0, ""
	}
	return nil, 0, ""
}

// Validate checks the budget's bounds: a grace period of at least MinGrace
// (or none), a drain timeout and a fast stop of at least MinSpacing (or
// none), and a stop delay shorter than a known grace period. The error is
// a *FieldError. Whether the waits fit the grace together is Fit's to say.
func (b Budget) Validate() error {
	switch {
	case b.Grace < 0 || b.Grace > 0 && b.Grace < MinGrace:
		return &FieldError{FieldGrace, b.Grace, fmt.Sprintf("must be at least %s, or unset", MinGrace)}
	case b.DrainTimeout < 0 || b.DrainTimeout > 0 && b.DrainTimeout < MinSpacing:
		return &FieldError{FieldDrainTimeout, b.DrainTimeout, fmt.Sprintf("must be at least %s", MinSpacing)}
	case b.FastStop < 0 || b.FastStop > 0 && b.FastStop < MinSpacing:
		return &FieldError{FieldFastStop, b.FastStop, fmt.Sprintf("must be at least %s", MinSpacing)}
	case b.StopDelay < 0:
		return &FieldError{FieldStopDelay, b.StopDelay, "must not be negative"}
	case b.Grace > 0 && b.StopDelay >= b.Grace:
		return &FieldError{FieldStopDelay, b.StopDelay, fmt.Sprintf("must be shorter than the grace period %s", b.Grace)}
	}
	return nil
}

// Margin is the time kept free between supervise's last rung and the
// orchestrator's SIGKILL: 1s, or a tenth of a grace period shorter than 10s.
// It covers the orchestrator's own latency and lets the worker record what
// the last rung interrupted.
func Margin(grace time.Duration) time.Duration {
	if grace >= 10*time.Second {
		return time.Second
	}
	return grace / 10
}

// FastWait is the wait after a fast-stop rung at a given grace period: the
// preset's measured minimum, growing to a hundredth of a long grace period
// (at most 10s), for a worker that is slower to act when it is loaded.
func FastWait(base, grace time.Duration) time.Duration {
	return max(base, min(grace/100, 10*time.Second))
}

// fastWait is the wait after the fast-stop rung whose least is base: the
// budget's FastStop when set, else FastWait.
func (b Budget) fastWait(base time.Duration) time.Duration {
	if b.FastStop > 0 {
		return b.FastStop
	}
	return FastWait(base, b.Grace)
}

// HasFastStop reports whether p has a "stop now" rung, a rung between
// the drain and KILL, whose wait FastStop can set.
func (p Preset) HasFastStop() bool {
	l := p.Ladder()
	return len(l.Rungs) > 0 && l.DrainIndex() < len(l.Rungs)-2
}

// FitError says that the waits a user set cannot all fit the grace
// period: the drain would fall below MinSpacing, or the ladder would end
// after the grace period's margin.
type FitError struct {
	Preset string
	Budget Budget
	// Need is the grace period the waits need; Drain the drain that would
	// be left (zero with a drain timeout).
	Need, Drain time.Duration
	// Quiet is true when the drain would be a Quiet rung, which Size
	// leaves out: then the fast stop alone does not fit.
	Quiet bool
}

func (e *FitError) Error() string {
	b := e.Budget
	if b.DrainTimeout > 0 {
		return fmt.Sprintf("fast stop %s and drain timeout %s do not fit the grace period %s: the %s ladder ends %s after the stop, "+
			"later than the %s margin before the orchestrator's SIGKILL allows; the grace period must be at least %s",
			b.FastStop, b.DrainTimeout, b.Grace, e.Preset, e.Need-Margin(e.Need), Margin(b.Grace), e.Need)
	}
	if e.Quiet {
		return fmt.Sprintf("fast stop %s does not fit the grace period %s: the %s ladder's KILL would land %s after the stop, "+
			"later than the %s margin before the orchestrator's SIGKILL allows; the grace period must be at least %s, or the fast stop shorter",
			b.FastStop, b.Grace, e.Preset, b.StopDelay+b.FastStop, Margin(b.Grace), e.Need)
	}
	return fmt.Sprintf("fast stop %s does not fit the grace period %s: the %s ladder would leave the drain %s, below the %s "+
		"a drain needs; the grace period must be at least %s, or the fast stop shorter", b.FastStop, b.Grace, e.Preset,
		e.Drain, MinSpacing, e.Need)
}

// Fit checks that a FastStop the user set fits p's ladder into a known
// grace period: the drain keeps at least MinSpacing (or the drain timeout
// holds; a Quiet drain may be left out) and KILL lands Margin before the
// grace period ends. It returns a *FitError when it does not; nil when
// FastStop or the grace is unset.
func Fit(p Preset, b Budget) error {
	if b.FastStop == 0 || b.Grace == 0 || !p.HasFastStop() {
		return nil
	}
	l := p.Ladder()
	di := l.DrainIndex()
	var others time.Duration // every wait but the drain's
	for i := range l.Rungs[:len(l.Rungs)-1] {
		switch {
		case i > di:
			others += b.FastStop
		case i < di:
			others += l.Rungs[i].Wait
		}
	}
	drain := max(b.DrainTimeout, MinSpacing)
	quiet := l.Rungs[di].Quiet && b.DrainTimeout == 0
	if quiet {
		drain = 0 // Size leaves the quiet rung out when there is no room for it
	}
	// The shortest grace that holds it: the margin is a tenth of a grace
	// under 10s, so a grace g holds the ladder when g - Margin(g) >= used.
	// Rounded up to a tenth of a second, as a user would write it.
	used := b.StopDelay + others + drain
	need := used + time.Second
	if used < 9*time.Second {
		need = (used*10 + 8) / 9
	}
	if r := need % (100 * time.Millisecond); r != 0 {
		need += 100*time.Millisecond - r
	}
	if b.Grace >= need {
		return nil
	}
	left := b.Grace - Margin(b.Grace) - b.StopDelay - others
	if b.DrainTimeout > 0 {
		left = 0
	}
	return &FitError{Preset: p.Name, Budget: b, Need: need, Drain: left, Quiet: quiet}
}

// Size fits p's ladder into the budget and returns it with warnings for a
// budget that cannot hold it. A preset without steps returns an empty
// ladder (plain forwarding).
//
// With a known grace period the ladder is timed: the fast-stop waits are
// the budget's FastStop, or FastWait, and the drain gets the rest, so
// KILL lands Margin before the grace period ends, counting the stop
// delay. A Quiet drain rung that would get less than MinSpacing is left
// out, and the next rung drains with all the time there is. With
// --drain-timeout the drain is that instead. With neither, the ladder is
// untimed (see Ladder), without its Quiet rungs: with no deadline of its
// own, supervise could not know when to send the rung that ends them.
func Size(p Preset, b Budget) (Ladder, []string) {
	if len(p.Rungs) == 0 {
		return Ladder{}, nil
	}
	l := p.Ladder()
	if b.Grace == 0 && b.DrainTimeout == 0 {
		l = l.withoutQuiet()
		l.Timed = false
		l.RepeatForwards = p.Name == Generic
		return l, nil
	}
	di := l.DrainIndex()
	for i := di + 1; i < len(l.Rungs)-1; i++ {
		l.Rungs[i].Wait = b.fastWait(l.Rungs[i].Wait)
	}
	if b.DrainTimeout > 0 {
		l.Rungs[di].Wait = b.DrainTimeout
		return l, Check(l, b)
	}
	avail := b.Grace - b.StopDelay - Margin(b.Grace)
	if drain := avail - l.Total(); drain >= MinSpacing {
		l.Rungs[di].Wait = drain
		return l, nil
	}
	if l.Rungs[di].Quiet {
		// No room to quiet the worker first: the rung that stops it goes
		// out at once and gets all the time there is. Whether the
		// worker's own timeout fits it is the plan's check to say.
		l = l.withoutQuiet()
		di = l.DrainIndex()
		l.Rungs[di].Wait = 0
		l.Rungs[di].Wait = max(avail-l.Total(), MinSpacing)
		return l, Check(l, b)
	}
	// The grace is too short for the preset's other waits: shorten them to
	// the minimum spacing and give the drain what is left.
	for i := range l.Rungs[:len(l.Rungs)-1] {
		if i != di {
			l.Rungs[i].Wait = MinSpacing
		}
	}
	l.Rungs[di].Wait = max(avail-l.Total(), MinSpacing)
	warn := fmt.Sprintf("grace period %s is short for the %s ladder: its other waits are cut to %s and the drain gets %s",
		b.Grace, p.Name, MinSpacing, l.Rungs[di].Wait)
	return l, append([]string{warn}, Check(l, b)...)
}

// MaxWait is the most rung i's wait can get in the time l's waits add up
// to: every other rung before KILL cut to MinSpacing, as Size cuts the
// waits of a ladder that does not fit its grace period.
func (l Ladder) MaxWait(i int) time.Duration {
	others := time.Duration(len(l.Rungs) - 2) // neither rung i nor KILL
	return max(l.Rungs[i].Wait, l.Total()-MinSpacing*others)
}

// KillAt is when a timed ladder's KILL lands, counted from the stop signal.
func (l Ladder) KillAt(b Budget) time.Duration {
	return b.StopDelay + l.Total()
}

// Check warns when a timed ladder, started after the stop delay, cannot
// end Margin before a known grace period's SIGKILL.
func Check(l Ladder, b Budget) []string {
	if b.Grace <= 0 || len(l.Rungs) == 0 || !l.Timed {
		return nil
	}
	if end := l.KillAt(b); end > b.Grace-Margin(b.Grace) {
		return []string{fmt.Sprintf("stop ladder %s with stop delay %s ends %s after the stop, later than the grace period %s allows: "+
			"the orchestrator's SIGKILL may come first", l, b.StopDelay, end, b.Grace)}
	}
	return nil
}
