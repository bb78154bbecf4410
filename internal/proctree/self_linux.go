package proctree

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// CloseInheritedFiles marks every descriptor above stderr close-on-exec,
// so a child started after it gets 0, 1 and 2 only, whatever supervise
// inherited (--close-fds). supervise's own descriptors are close-on-exec
// already; marking them again is harmless.
func CloseInheritedFiles() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: walk /proc/self/fd.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// SetParentDeathSignal arranges for supervise to get sig when its parent
// exits (tini -p); 0 does nothing. The kernel keeps the setting on the
// calling thread, but it concerns supervise's parent, and the Go runtime
// never ends a thread that is not locked to a goroutine, so it lasts.
func SetParentDeathSignal(sig unix.Signal) error {
	if sig == 0 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %v", err)
	}
	return nil
}
