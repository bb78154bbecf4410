package ladder

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/duration"
	"github.com/supervise/supervise/internal/signals"
)

// maxRungs bounds a hand-written ladder.
const maxRungs = 20

// ParseStop reads a ladder written as alternating signals and waits:
// "TERM,290s,QUIT,5s,KILL". A ladder that ends in a wait gets KILL appended;
// one must end in KILL otherwise. Waits are durations ("5s", "1m30s") or
// whole seconds ("5"), and at least MinSpacing. The first wait is the drain.
// The ladder is timed. Errors name the ladder and what is wrong with it.
func ParseStop(text string) (Ladder, error) {
	fields := strings.Split(text, ",")
	if strings.TrimSpace(text) == "" {
		return Ladder{}, fmt.Errorf("empty ladder: want signals and waits like TERM,290s,QUIT,5s,KILL")
	}
	if len(fields)%2 == 0 {
		fields = append(fields, "KILL")
	}
	if len(fields) > 2*maxRungs+1 {
		return Ladder{}, fmt.Errorf("ladder %q: at most %d rungs before KILL", text, maxRungs)
	}
	l := Ladder{Timed: true}
	for i := 0; i < len(fields); i += 2 {
		sig, err := signals.Parse(fields[i])
		if err != nil {
			return Ladder{}, fmt.Errorf("ladder %q: %v", text, err)
		}
		step := Rung{Signal: sig}
		if i+1 < len(fields) {
			if sig == unix.SIGKILL {
				return Ladder{}, fmt.Errorf("ladder %q: KILL must be the last rung", text)
			}
			d, err := duration.Parse(fields[i+1])
			if err != nil {
				return Ladder{}, fmt.Errorf("ladder %q: %v", text, err)
			}
			if d < MinSpacing {
				return Ladder{}, fmt.Errorf("ladder %q: wait %s is below the %s minimum between rungs", text, strings.TrimSpace(fields[i+1]), MinSpacing)
			}
			step.Wait = d
			step.Drain = i == 0
		} else if sig != unix.SIGKILL {
			return Ladder{}, fmt.Errorf("ladder %q: the ladder must end in KILL or a wait", text)
		}
		l.Rungs = append(l.Rungs, step)
	}
	return l, nil
}
