package signals

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// IsStop reports whether s asks supervise itself to stop: SIGTERM (what
// docker stop and the kubelet send) or SIGINT (Ctrl-C on a terminal).
func IsStop(s unix.Signal) bool {
	return s == unix.SIGTERM || s == unix.SIGINT
}

// Forwardable lists every signal supervise catches in order to pass it on to
// the child. Left out, and why:
//   - KILL, STOP: cannot be caught.
//   - CHLD: supervise's own doorbell for reaping; it means nothing to the child.
//   - URG: the Go runtime sends it to its own threads for preemption.
//   - PIPE: a write by supervise to a closed pipe; it is caught and dropped so
//     a vanished stdout never kills PID 1.
//   - TTIN, TTOU: job-control noise supervise may trigger itself by handing
//     the terminal to the child.
//   - ILL, TRAP, ABRT, BUS, FPE, SEGV, SYS: synchronous faults of supervise
//     itself; the Go runtime turns them into panics.
//   - 32, 33: reserved by the C libraries' threading (and by the Go runtime).
func Forwardable() []unix.Signal {
	var out []unix.Signal
	for s := unix.Signal(1); s <= MaxSignal; s++ {
		if !neverForward(s) {
			out = append(out, s)
		}
	}
	return out
}

func neverForward(s unix.Signal) bool {
	switch s {
	case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE,
		unix.SIGTTIN, unix.SIGTTOU, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT,
		unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV, unix.SIGSYS, 32, 33:
		return true
	}
	return false
}

// Rewrite maps a received signal to the one supervise acts on, as dumb-init's
// --rewrite does. A signal missing from the map passes unchanged; one mapped
// to 0 is dropped. The zero value rewrites nothing.
type Rewrite map[unix.Signal]unix.Signal

// Apply returns the signal to act on for a received signal s, and false
// when s is to be dropped.
func (r Rewrite) Apply(s unix.Signal) (unix.Signal, bool) {
	to, ok := r[s]
	if !ok {
		return s, true
	}
	return to, to != 0
}

// String renders the table as FROM:TO pairs in signal order.
func (r Rewrite) String() string {
	keys := make([]int, 0, len(r))
	for k := range r {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		to := "0"
		if r[unix.Signal(k)] != 0 {
			to = Name(r[unix.Signal(k)])
		}
		parts = append(parts, Name(unix.Signal(k))+":"+to)
	}
	return strings.Join(parts, ",")
}

// Add reads one or more FROM:TO pairs ("TERM:INT", "15:2",
// "HUP:0"; several may be joined by commas) into r.
func (r Rewrite) Add(spec string) error {
	for _, pair := range strings.Split(spec, ",") {
		from, to, ok := strings.Cut(pair, ":")
		if !ok {
			return fmt.Errorf("invalid rewrite %q: want FROM:TO, like TERM:INT or 15:2 (TO=0 drops the signal)", pair)
		}
		f, err := Parse(from)
		if err != nil {
			return fmt.Errorf("invalid rewrite %q: %v", pair, err)
		}
		t, err := ParseOrZero(to)
		if err != nil {
			return fmt.Errorf("invalid rewrite %q: %v", pair, err)
		}
		if f == unix.SIGKILL || f == unix.SIGSTOP {
			return fmt.Errorf("invalid rewrite %q: %s cannot be caught, so it cannot be rewritten", pair, Name(f))
		}
		if neverForward(f) && !IsStop(f) {
			return fmt.Errorf("invalid rewrite %q: supervise does not forward %s", pair, Name(f))
		}
		r[f] = t
	}
	return nil
}
