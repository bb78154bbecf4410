package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/detect"
	"github.com/supervise/supervise/internal/ladder"
)

// Timeout is what a plan knows of the worker's own shutdown timeout: the
// preset's description of it, and its value for this command.
type Timeout struct {
	// WorkerTimeout describes it; its Setting is "" when the preset has
	// none.
	ladder.WorkerTimeout
	// Value is the timeout: as given, or the worker's default. Zero when
	// the worker waits without a limit (or, with NoneWaits, not at all),
	// and when supervise cannot read it (Known false).
	Value time.Duration
	// Given is the option as written ("-t 5"); "" when not given.
	Given string
	// From says where Value came from: "its command line",
	// "GUNICORN_CMD_ARGS", "its default".
	From string
	// Known is false when supervise cannot read the setting (a
	// configuration file, Python code).
	Known bool
}

// readTimeout reads wt from argv, then from wt.Env, then from wt.Var in
// env; absent, it is the worker's default. A value that does not parse
// counts as absent. Without wt.OnlyWith in env, the worker does not wait
// at all: Value is zero.
func readTimeout(wt ladder.WorkerTimeout, argv []string, env Env) Timeout {
	t := Timeout{WorkerTimeout: wt}
	if !wt.Readable() {
		return t
	}
	t.Known = true
	if wt.OnlyWith != "" {
		if _, set := lookupEnv(env, wt.OnlyWith); !set {
			t.From = wt.OnlyWith + " unset"
			return t
		}
	}
	name, v, ok := detect.Option(argv, wt.Options...)
	given, from := name+" "+v, "on its command line"
	if !ok && wt.Env != "" {
		if args := strings.Fields(getenv(env, wt.Env)); len(args) > 0 {
			name, v, ok = detect.Option(append([]string{"worker"}, args...), wt.Options...)
			given, from = name+" "+v, "in "+wt.Env
		}
	}
	if !ok && wt.Var != "" {
		v, ok = lookupEnv(env, wt.Var)
		given, from = wt.Var+"="+v, "in "+wt.Var
		if wt.Setting == wt.Var {
			from = "in its environment"
		}
	}
	if ok {
		if d, err := optionValue(v, wt.Unit); err == nil {
			t.Value, t.Given, t.From = d, given, from
			return t
		}
	}
	t.Value, t.From = wt.Default, "its default"
	return t
}

// optionValue reads a worker option's number in unit: at least 0 and at
// most a year.
func optionValue(v string, unit time.Duration) (time.Duration, error) {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 0 || x*float64(unit) > float64(365*24*time.Hour) || math.IsNaN(x) {
		return 0, fmt.Errorf("%q is not a timeout", v)
	}
	return time.Duration(x * float64(unit)), nil
}

// check says what the worker's own timeout means for ladder l: a
// warning when it (with what the worker does after it) does not fit the
// wait that must hold it, with the value to set instead, in the unit and
// form the worker accepts; a note when supervise cannot read it. A
// timeout that does not bind (an untimed ladder, a worker that waits
// without a limit) says nothing.
func (t Timeout) check(preset string, l ladder.Ladder, b ladder.Budget) (warnings, notes []string) {
	if t.Setting == "" || !l.Timed || len(l.Rungs) < 2 {
		return nil, nil
	}
	// The wait that must hold the timeout: the drain's, or for a timeout
	// that starts at the "stop now" rung, that rung's (the last before
	// KILL; it drains too when the quiet rung was left out).
	i := l.DrainIndex()
	hold, after := "the planned drain", signalName(l, i+1)
	if t.Bounds == ladder.BoundStop {
		i = len(l.Rungs) - 2
		hold, after = "the time from "+signalName(l, i)+" to supervise's KILL", "KILL"
	}
	wait := l.Rungs[i].Wait
	room := wait
	if t.Bounds == ladder.BoundStop && b.DrainTimeout == 0 {
		// Set to fit, the timeout would get the time the drain gives up.
		room = l.MaxWait(i)
	}
	fit := t.advice(room)
	if !t.Known {
		what := "by default"
		if t.NoneWaits {
			what = "its default is no wait at all"
		}
		return nil, []string{fmt.Sprintf("%s's %s (%s, which supervise cannot read; %s) must fit %s, %s: set %s",
			preset, t.Setting, t.Elsewhere, what, hold, wait, fit)}
	}
	if t.Value == 0 || t.Value+t.After <= wait {
		return nil, nil
	}
	from := t.From
	if t.Given == "" && t.Elsewhere != "" {
		from += ", unless " + t.Elsewhere + " sets it, which supervise cannot read"
	}
	msg := fmt.Sprintf("%s's %s %s (%s) and the %s it takes after it do not fit %s, %s: supervise's %s would cut what %s "+
		"still does; set %s", preset, t.Setting, t.Value, from, t.After, hold, wait, after, preset, fit)
	if b.Grace > 0 && b.DrainTimeout == 0 {
		need := b.Grace + t.Value + t.After - wait
		msg += fmt.Sprintf(", or raise the grace period to at least %s", need.Truncate(time.Second)+ceilPart(need))
	}
	return []string{msg}, nil
}

// advice is the setting that fits wait, as the worker accepts it: the
// largest whole number of its unit with room for After ("-t 6", "6500",
// "process_control_timeout = 6s"), or what to do when none does.
func (t Timeout) advice(wait time.Duration) string {
	n := int64((wait - t.After) / t.Unit)
	if n < 1 {
		return fmt.Sprintf("a longer grace period: not even 1 %s of %s fits", unitName(t.Unit), t.Setting)
	}
	v := strconv.FormatInt(n, 10) + t.Suffix
	if t.Var != "" && (t.Setting == t.Var || strings.HasPrefix(t.Given, t.Var+"=")) {
		return fmt.Sprintf("%s=%s or less", t.Var, v)
	}
	if strings.HasPrefix(t.Setting, "-") {
		return fmt.Sprintf("%s %s or less", t.Setting, v)
	}
	return fmt.Sprintf("%s = %s or less", t.Setting, v)
}

func unitName(u time.Duration) string {
	if u == time.Millisecond {
		return "millisecond"
	}
	return "second"
}

// ceilPart is the second that rounds d up to whole seconds: 0 when d is
// whole already.
func ceilPart(d time.Duration) time.Duration {
	if d%time.Second != 0 {
		return time.Second
	}
	return 0
}

func signalName(l ladder.Ladder, i int) string {
	if i < 0 || i >= len(l.Rungs) {
		return "KILL"
	}
	return ladder.StepName(l.Rungs[i].Signal)
}
