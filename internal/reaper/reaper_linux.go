package reaper

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Exit is one reaped process: its pid, wait status and resource usage.
type Exit struct {
	PID    int
	Status unix.WaitStatus
	Rusage unix.Rusage
}

// ReapAll reaps every child that has exited, calling fn for each, until
// none is left waiting. It never blocks (WNOHANG), retries EINTR and stops
// at ECHILD. It returns the number reaped. Call it from one goroutine only.
func ReapAll(fn func(Exit)) int {
	n := 0
	for {
		var e Exit
		// __WALL also reaps children created with a non-SIGCHLD exit
		// signal (clone threads), which a plain wait would leave behind.
		pid, err := unix.Wait4(-1, &e.Status, unix.WNOHANG|unix.WALL, &e.Rusage)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return n
		}
		e.PID = pid
		n++
		fn(e)
	}
}

// SetSubreaper marks the process as a child subreaper
// (PR_SET_CHILD_SUBREAPER), so orphaned descendants are re-parented to it
// instead of to PID 1.
func SetSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// IsSubreaper reports whether the process is a child subreaper.
func IsSubreaper() bool {
	var v int32
	// PR_GET_CHILD_SUBREAPER writes an int through the pointer argument.
	if err := prctlGetInt(unix.PR_GET_CHILD_SUBREAPER, &v); err != nil {
		return false
	}
	return v != 0
}

// IsPID1 reports whether the process is PID 1 of its PID namespace.
func IsPID1() bool {
	return os.Getpid() == 1
}
