package supervisor

import (
	"golang.org/x/sys/unix"
)

// Exit codes supervise uses itself, after the shell's conventions.
const (
	// ExitUsage is bad input on the command line.
	ExitUsage = 2
	// ExitNotExecutable is a command that exists but cannot be run.
	ExitNotExecutable = 126
	// ExitNotFound is a command that does not exist.
	ExitNotFound = 127
)

// ExitCode turns a wait status into supervise's exit status: the child's
// own code, or 128+N when signal N killed it; statuses listed in zero
// (tini's -e) become 0.
func ExitCode(ws unix.WaitStatus, zero map[int]bool) int {
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if zero[code] {
		return 0
	}
	return code
}
