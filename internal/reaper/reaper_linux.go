package reaper

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Exit is one reaped process: its pid and wait status. (No resource
// usage: nothing reads it, and asking wait4 for it costs every reap.)
type Exit struct {
	PID    int
	Status unix.WaitStatus
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
		pid, err := unix.Wait4(-1, &e.Status, unix.WNOHANG|unix.WALL, nil)
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

// HasChildren reports whether the process has any child at all, living or
// exited, without reaping one (waitid with WNOWAIT), so it does not take
// a status from the reaper. No children means no descendants left to wait
// for: any that outlived their parents were re-parented elsewhere.
func HasChildren() bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return !errors.Is(err, unix.ECHILD)
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
