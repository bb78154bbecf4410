package supervisor

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	_ "unsafe" // go:linkname
)

// Socket activation (systemd's sd_listen_fds): the parent passes
// listening sockets from descriptor 3 on, LISTEN_FDS says how many, and
// LISTEN_PID names the process they are for; a program takes them only
// when LISTEN_PID is its own pid. When LISTEN_PID names supervise, they
// are its child's, and the child must see its own pid there (catatonit
// does the same). The child's pid is known only after the fork, and a Go
// program runs no code of its own between fork and exec, so such a child
// is started through supervise's own binary, the trampoline: it sets
// LISTEN_PID to its pid and execs the program in the same process.

// trampolineEnv, in the trampoline's environment, names the program to
// exec. It never reaches the program.
const trampolineEnv = "SUPERVISE_LISTEN_EXEC"

// listenForSelf reports whether env's LISTEN_PID names supervise itself,
// with descriptors to hand on (LISTEN_FDS).
func listenForSelf(env []string) bool {
	pid, fds := "", ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LISTEN_PID="); ok {
			pid = v
		} else if v, ok := strings.CutPrefix(kv, "LISTEN_FDS="); ok {
			fds = v
		}
	}
	return fds != "" && pid == strconv.Itoa(os.Getpid())
}

// restoreForExec puts back what a forked child of the Go runtime starts
// with: every signal the runtime handles at its default action, and the
// signal mask the process was started with (the runtime unblocks HUP,
// INT, TERM and others on its own threads). The runtime does this in
// every child syscall.ForkExec makes; the trampoline execs without a
// fork, so it calls the same code before its exec.
//
//go:linkname restoreForExec syscall.runtime_AfterForkInChild
func restoreForExec()

// RunTrampoline is the first thing supervise's main does. When this
// process is a child being started through the trampoline, it sets
// LISTEN_PID to its own pid, restores the signal state a child starts
// with, and execs the program, with the child's argv and environment;
// it never returns then, and if the exec fails it exits as a shell would
// (127 not found, 126 otherwise). In any other process it returns at
// once.
func RunTrampoline() {
	path, ok := os.LookupEnv(trampolineEnv)
	if !ok {
		return
	}
	// The signal mask is per thread: restore it on the thread that execs.
	runtime.LockOSThread()
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, trampolineEnv+"=") && !strings.HasPrefix(kv, "LISTEN_PID=") {
			env = append(env, kv)
		}
	}
	env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	restoreForExec()
	err := syscall.Exec(path, os.Args, env)
	fmt.Fprintf(os.Stderr, "supervise: cannot run %q: %v\n", path, err)
	if err == syscall.ENOENT {
		os.Exit(ExitNotFound)
	}
	os.Exit(ExitNotExecutable)
}
