package ladder

import (
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

// AsReceived, as a step's signal, stands for the stop signal supervise
// received (after --rewrite): the generic ladder's first rung passes the
// stop on as it came, as tini would. Resolve replaces it.
const AsReceived unix.Signal = 0

// Rung is one rung: send Signal, then wait Wait before the next rung.
type Rung struct {
	Signal unix.Signal
	Wait   time.Duration
	// Drain marks the wait that Size sizes from the grace period.
	Drain bool
	// Quiet marks a drain rung that only readies the worker for the next
	// one (Sidekiq's TSTP stops it fetching jobs; only the next rung
	// makes it exit): Size leaves it out of an untimed ladder, and of a
	// timed one whose grace leaves it less than MinSpacing, and the next
	// rung then starts the drain.
	Quiet bool
	// To is where the rung is sent.
	To Target
}

// Target is where a rung is sent. KILL always reaches every process.
type Target int

const (
	// ToChild: the main child, or its process group with -g, as tini
	// sends: the generic ladder and --stop.
	ToChild Target = iota
	// ToMain: the main child only, whatever -g says: a preset's worker
	// passes the stop on to its own processes itself.
	ToMain
	// ToGroup: the child's process group: "stop now" for a worker whose
	// processes must each hear it (uvicorn --workers).
	ToGroup
)

// Ladder is a planned stop: its steps in order, the last one SIGKILL.
type Ladder struct {
	Rungs []Rung
	// Timed is true when the waits are deadlines. In an untimed ladder
	// (no grace period known) only the waits before the drain are; from the
	// drain on, the next rung waits for a repeated stop signal.
	Timed bool
	// RepeatForwards makes a repeated stop signal be forwarded as received
	// instead of advancing the ladder: the generic ladder without a grace
	// period behaves exactly as tini does.
	RepeatForwards bool
}

// Total is the time from the first rung to the last of a timed ladder.
func (l Ladder) Total() time.Duration {
	var t time.Duration
	for _, s := range l.Rungs {
		t += s.Wait
	}
	return t
}

// DrainIndex is the index of the step whose wait is the drain, or -1.
func (l Ladder) DrainIndex() int {
	for i, s := range l.Rungs {
		if s.Drain {
			return i
		}
	}
	return -1
}

// Deadline reports whether step i's wait is a deadline: in a timed
// ladder every wait is; in an untimed one only those before the drain.
func (l Ladder) Deadline(i int) bool {
	if i >= len(l.Rungs)-1 {
		return false
	}
	return l.Timed || i < l.DrainIndex()
}

// withoutQuiet returns the ladder without its Quiet rungs; when the drain
// was one, the rung after it starts the drain.
func (l Ladder) withoutQuiet() Ladder {
	steps := make([]Rung, 0, len(l.Rungs))
	drain := false
	for _, s := range l.Rungs {
		if s.Quiet {
			drain = drain || s.Drain
			continue
		}
		if drain {
			s.Drain, drain = true, false
		}
		steps = append(steps, s)
	}
	l.Rungs = steps
	return l
}

// Resolve returns the ladder with AsReceived replaced by sig.
func (l Ladder) Resolve(sig unix.Signal) Ladder {
	steps := make([]Rung, len(l.Rungs))
	copy(steps, l.Rungs)
	for i := range steps {
		if steps[i].Signal == AsReceived {
			steps[i].Signal = sig
		}
	}
	l.Rungs = steps
	return l
}

// String renders the ladder in the --stop syntax, "INT,7.5s,INT,1.5s,KILL".
// A wait that is no deadline (an untimed ladder's) is written "…"; a
// signal still to be resolved is written RECEIVED.
func (l Ladder) String() string {
	var parts []string
	for i, s := range l.Rungs {
		parts = append(parts, StepName(s.Signal))
		if i < len(l.Rungs)-1 {
			if l.Deadline(i) {
				parts = append(parts, s.Wait.String())
			} else {
				parts = append(parts, "…")
			}
		}
	}
	return strings.Join(parts, ",")
}

// StepName is a rung's signal as the --stop syntax writes it.
func StepName(s unix.Signal) string {
	if s == AsReceived {
		return "RECEIVED"
	}
	return signals.Name(s)
}
