package ladder

import (
	"time"

	"golang.org/x/sys/unix"
)

// Cause says why a rung was sent.
type Cause int

// The causes of a rung.
const (
	// CauseStop: the stop signal itself (the first rung, after any stop delay).
	CauseStop Cause = iota
	// CauseDeadline: the previous rung's wait ran out (for the rung after
	// the drain, the drain deadline).
	CauseDeadline
	// CauseRepeat: a repeated stop signal advanced the ladder.
	CauseRepeat
)

func (c Cause) String() string {
	switch c {
	case CauseStop:
		return "stop signal"
	case CauseDeadline:
		return "deadline"
	case CauseRepeat:
		return "repeated stop signal"
	}
	return "unknown"
}

// Sent is one rung as sent.
type Sent struct {
	Index  int // 0 for the first rung
	Signal unix.Signal
	Cause  Cause
	// At is the time since the stop signal.
	At time.Duration
	// AfterDrain is true for the rung that ended the drain wait.
	AfterDrain bool
	// To is where it goes (Rung.To).
	To Target
}

// Progress drives one stop through a ladder. It is told the time of every
// event and says which rung to send when; it never reads a clock. Not safe
// for concurrent use: one goroutine owns it.
type Progress struct {
	ladder Ladder
	stopAt time.Time
	next   int       // index of the next rung
	due    time.Time // when the next rung is due; zero when only a repeat can bring it
	cause  Cause     // why it is due
	lastAt time.Time // when the last rung was sent
	sent   []Sent
}

// NewProgress starts a stop requested at stopAt: the first rung is due
// after delay (the stop delay). l must be resolved (no AsReceived).
func NewProgress(l Ladder, stopAt time.Time, delay time.Duration) *Progress {
	return &Progress{ladder: l, stopAt: stopAt, due: stopAt.Add(delay), cause: CauseStop}
}

// Ladder is the ladder being driven.
func (s *Progress) Ladder() Ladder { return s.ladder }

// Due is when the next rung is due and why; zero when none is due by the
// clock (the ladder is finished, or an untimed ladder waits for a repeat).
func (s *Progress) Due() (time.Time, Cause) { return s.due, s.cause }

// Next is the index of the next rung; len(Rungs) when all were sent.
func (s *Progress) Next() int { return s.next }

// Sent lists the rungs sent so far, in order.
func (s *Progress) Sent() []Sent { return s.sent }

// Finished reports whether every rung, KILL included, was sent.
func (s *Progress) Finished() bool { return s.next >= len(s.ladder.Rungs) }

// Fire returns the rung to send at now, if one is due, and schedules the
// one after it: after the rung's wait when that wait is a deadline,
// otherwise only on a repeated stop signal.
func (s *Progress) Fire(now time.Time) (Sent, bool) {
	if s.Finished() || s.due.IsZero() || now.Before(s.due) {
		return Sent{}, false
	}
	i := s.next
	r := Sent{Index: i, Signal: s.ladder.Rungs[i].Signal, Cause: s.cause, At: now.Sub(s.stopAt),
		AfterDrain: i > 0 && s.ladder.Rungs[i-1].Drain, To: s.ladder.Rungs[i].To}
	s.sent = append(s.sent, r)
	s.next++
	s.lastAt = now
	s.due = time.Time{}
	if s.ladder.Deadline(i) {
		s.due, s.cause = now.Add(s.ladder.Rungs[i].Wait), CauseDeadline
	}
	return r, true
}

// Repeat handles a repeated stop signal at now: the next rung becomes due
// at once, but never sooner than MinSpacing after the last rung, and never
// later than it already was. It returns false when no rung is left.
func (s *Progress) Repeat(now time.Time) bool {
	if s.Finished() {
		return false
	}
	at := now
	if s.next > 0 {
		at = later(at, s.lastAt.Add(MinSpacing))
	}
	if s.due.IsZero() || at.Before(s.due) {
		s.due, s.cause = at, CauseRepeat
	}
	return true
}

// Retime replaces the ladder with one of the same rungs and new waits,
// when the grace period becomes known during the stop. The next rung's
// deadline is counted from the last rung sent; a rung already due sooner
// stays due.
func (s *Progress) Retime(l Ladder) {
	s.ladder = l
	if s.next == 0 || s.Finished() || !l.Deadline(s.next-1) {
		return
	}
	at := s.lastAt.Add(l.Rungs[s.next-1].Wait)
	if s.due.IsZero() || at.Before(s.due) {
		s.due, s.cause = at, CauseDeadline
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
