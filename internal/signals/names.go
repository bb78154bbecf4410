package signals

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxSignal is the highest signal number Linux delivers (SIGRTMAX).
const MaxSignal = 64

// rtMin is the first real-time signal an application may use. glibc and musl
// reserve 32 and 33 for their threading, so SIGRTMIN is 34 for every program
// a container runs.
const rtMin = 34

// names maps the classic signal numbers to their names without the SIG prefix.
var names = map[unix.Signal]string{
	unix.SIGHUP: "HUP", unix.SIGINT: "INT", unix.SIGQUIT: "QUIT", unix.SIGILL: "ILL",
	unix.SIGTRAP: "TRAP", unix.SIGABRT: "ABRT", unix.SIGBUS: "BUS", unix.SIGFPE: "FPE",
	unix.SIGKILL: "KILL", unix.SIGUSR1: "USR1", unix.SIGSEGV: "SEGV", unix.SIGUSR2: "USR2",
	unix.SIGPIPE: "PIPE", unix.SIGALRM: "ALRM", unix.SIGTERM: "TERM", unix.SIGSTKFLT: "STKFLT",
	unix.SIGCHLD: "CHLD", unix.SIGCONT: "CONT", unix.SIGSTOP: "STOP", unix.SIGTSTP: "TSTP",
	unix.SIGTTIN: "TTIN", unix.SIGTTOU: "TTOU", unix.SIGURG: "URG", unix.SIGXCPU: "XCPU",
	unix.SIGXFSZ: "XFSZ", unix.SIGVTALRM: "VTALRM", unix.SIGPROF: "PROF", unix.SIGWINCH: "WINCH",
	unix.SIGIO: "IO", unix.SIGPWR: "PWR", unix.SIGSYS: "SYS",
}

// aliases are other names Linux tools accept for the same numbers.
var aliases = map[string]unix.Signal{
	"IOT": unix.SIGABRT, "POLL": unix.SIGIO, "CLD": unix.SIGCHLD,
}

// Name returns the signal's name without the SIG prefix: "TERM", "RTMIN+3",
// or the number itself for signals that have no name (32, 33).
func Name(s unix.Signal) string {
	if n, ok := names[s]; ok {
		return n
	}
	if s >= rtMin && s <= MaxSignal {
		if s == rtMin {
			return "RTMIN"
		}
		if s == MaxSignal {
			return "RTMAX"
		}
		return "RTMIN+" + strconv.Itoa(int(s-rtMin))
	}
	return strconv.Itoa(int(s))
}

// Parse reads a signal given as a name ("TERM", "SIGTERM", "term",
// "RTMIN+2", "RTMAX-1") or a number from 1 to 64.
func Parse(text string) (unix.Signal, error) {
	return parse(text, false)
}

// ParseOrZero is Parse that also accepts 0, meaning "no signal"; the
// --rewrite table uses it to drop a signal.
func ParseOrZero(text string) (unix.Signal, error) {
	return parse(text, true)
}

func parse(text string, zeroOK bool) (unix.Signal, error) {
	t := strings.ToUpper(strings.TrimSpace(text))
	if t == "" {
		return 0, fmt.Errorf("empty signal: want a name like TERM or a number from 1 to %d", MaxSignal)
	}
	if n, err := strconv.Atoi(t); err == nil {
		if (n == 0 && zeroOK) || (n >= 1 && n <= MaxSignal) {
			return unix.Signal(n), nil
		}
		return 0, fmt.Errorf("signal %q out of range: want 1 to %d", text, MaxSignal)
	}
	t = strings.TrimPrefix(t, "SIG")
	for s, n := range names {
		if n == t {
			return s, nil
		}
	}
	if s, ok := aliases[t]; ok {
		return s, nil
	}
	if s, ok := parseRealtime(t); ok {
		return s, nil
	}
	return 0, fmt.Errorf("unknown signal %q: want a name like TERM, INT, QUIT, HUP, USR1, RTMIN+1 or a number from 1 to %d", text, MaxSignal)
}

// parseRealtime reads RTMIN, RTMAX, RTMIN+N and RTMAX-N.
func parseRealtime(t string) (unix.Signal, bool) {
	base, sign, rest := t, 0, ""
	if i := strings.IndexAny(t, "+-"); i >= 0 {
		base, rest = t[:i], t[i+1:]
		sign = 1
		if t[i] == '-' {
			sign = -1
		}
	}
	off := 0
	if sign != 0 {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || rest == "" || rest[0] == '+' || rest[0] == '-' {
			return 0, false
		}
		off = sign * n
	}
	var s int
	switch base {
	case "RTMIN":
		if off < 0 {
			return 0, false
		}
		s = rtMin + off
	case "RTMAX":
		if off > 0 {
			return 0, false
		}
		s = MaxSignal + off
	default:
		return 0, false
	}
	if s < rtMin || s > MaxSignal {
		return 0, false
	}
	return unix.Signal(s), true
}
