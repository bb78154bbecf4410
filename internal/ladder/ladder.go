package ladder

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/signals"
)

// MinSpacing is the shortest time between two rungs. RQ ≥1.14 ignores a
// second signal less than 1 s after the first (rq/worker/base.py), and Huey
// merges a second INT that lands in its 0.1 s poll window, so rungs closer
// than this could be lost.
const MinSpacing = 1500 * time.Millisecond

// Step is one rung: send Signal, then wait Wait before the next rung.
type Step struct {
	Signal unix.Signal
	Wait   time.Duration
	// Drain marks the wait that Plan sizes from the grace period.
	Drain bool
}

// Ladder is a planned stop: its steps in order, the last one SIGKILL.
type Ladder struct {
	Steps []Step
}

// Total is the time from the first rung to the last.
func (l Ladder) Total() time.Duration {
	var t time.Duration
	for _, s := range l.Steps {
		t += s.Wait
	}
	return t
}

// DrainIndex is the index of the step whose wait is the drain, or -1.
func (l Ladder) DrainIndex() int {
	for i, s := range l.Steps {
		if s.Drain {
			return i
		}
	}
	return -1
}

// String renders the ladder in the --stop syntax: "INT,4s,INT,5s,KILL".
func (l Ladder) String() string {
	var parts []string
	for i, s := range l.Steps {
		parts = append(parts, signals.Name(s.Signal))
		if i < len(l.Steps)-1 {
			parts = append(parts, s.Wait.String())
		}
	}
	return strings.Join(parts, ",")
}

// ParseStop reads a ladder written as alternating signals and waits:
// "TERM,290s,QUIT,5s,KILL". A ladder that ends in a wait gets KILL appended;
// one must end in KILL otherwise. Waits are durations ("5s", "1m30s") or
// whole seconds ("5"), and at least MinSpacing. The first wait is the drain.
func ParseStop(text string) (Ladder, error) {
	fields := strings.Split(text, ",")
	if strings.TrimSpace(text) == "" {
		return Ladder{}, fmt.Errorf("empty --stop ladder: want signals and waits like TERM,290s,QUIT,5s,KILL")
	}
	if len(fields)%2 == 0 {
		fields = append(fields, "KILL")
	}
	if len(fields) > 41 {
		return Ladder{}, fmt.Errorf("invalid --stop %q: at most 20 rungs before KILL", text)
	}
	var l Ladder
	for i := 0; i < len(fields); i += 2 {
		sig, err := signals.Parse(fields[i])
		if err != nil {
			return Ladder{}, fmt.Errorf("invalid --stop %q: %v", text, err)
		}
		step := Step{Signal: sig}
		if i+1 < len(fields) {
			if sig == unix.SIGKILL {
				return Ladder{}, fmt.Errorf("invalid --stop %q: KILL must be the last rung", text)
			}
			d, err := ParseDuration(fields[i+1])
			if err != nil {
				return Ladder{}, fmt.Errorf("invalid --stop %q: %v", text, err)
			}
			if d < MinSpacing {
				return Ladder{}, fmt.Errorf("invalid --stop %q: wait %s is below the %s minimum between rungs", text, fields[i+1], MinSpacing)
			}
			step.Wait = d
			step.Drain = i == 0
		} else if sig != unix.SIGKILL {
			return Ladder{}, fmt.Errorf("invalid --stop %q: the ladder must end in KILL or a wait", text)
		}
		l.Steps = append(l.Steps, step)
	}
	return l, nil
}

// MaxDuration bounds every duration supervise accepts: a year is longer than
// any orchestrator waits, and keeps sums far from overflow.
const MaxDuration = 365 * 24 * time.Hour

// ParseDuration reads a Go duration ("30s", "1m30s", "250ms") or a whole
// number of seconds ("30", as Kubernetes' terminationGracePeriodSeconds is
// written). Negative values and values above a year are refused.
func ParseDuration(text string) (time.Duration, error) {
	t := strings.TrimSpace(text)
	var d time.Duration
	if n, ok := wholeSeconds(t); ok {
		if n > int64(MaxDuration/time.Second) {
			return 0, fmt.Errorf("duration %q too large: at most %s", text, "8760h")
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		d, err = time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want a duration like 30s, 1m30s, 250ms or whole seconds", text)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", text)
	}
	if d > MaxDuration {
		return 0, fmt.Errorf("duration %q too large: at most %s", text, "8760h")
	}
	return d, nil
}

func wholeSeconds(t string) (int64, bool) {
	if t == "" || len(t) > 12 {
		return 0, false
	}
	var n int64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
