package ladder

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Planned is one rung of a ladder as planned: what is sent, when, and
// its part in the stop. For previews (supervise plan, supervise presets).
type Planned struct {
	Signal unix.Signal
	// At is the time since the stop signal; meaningful when Timed.
	At    time.Duration
	Timed bool
	// When says what sends it when it is not timed: "at once", "on a
	// repeated stop signal".
	When string
	// Role is the rung's part: "prepare", "graceful stop: the drain",
	// "stop now", "kill every process left".
	Role string
}

// Preview lists the rungs of l, planned within b.
func (l Ladder) Preview(b Budget) []Planned {
	di := l.DrainIndex()
	out := make([]Planned, 0, len(l.Rungs))
	at := b.StopDelay
	timed := true
	for i, s := range l.Rungs {
		p := Planned{Signal: s.Signal, At: at, Timed: timed, Role: role(i, di, s.Signal)}
		if !timed {
			p.When = "on a repeated stop signal"
		} else if i == 0 && b.StopDelay > 0 {
			p.When = fmt.Sprintf("after the stop delay (%s)", b.StopDelay)
		} else if i == 0 {
			p.When = "at once"
		}
		out = append(out, p)
		if l.Deadline(i) {
			at += s.Wait
		} else {
			timed = false
		}
	}
	return out
}

func role(i, drain int, sig unix.Signal) string {
	switch {
	case sig == unix.SIGKILL:
		return "kill every process left"
	case i < drain:
		return "prepare"
	case i == drain:
		return "graceful stop: the drain"
	}
	return "stop now"
}
