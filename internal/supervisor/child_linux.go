package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// startError is a child that could not be started, with the exit status
// a shell would give for it.
type startError struct {
	code int
	err  error
}

func (e *startError) Error() string { return e.err.Error() }

// forkExec forks and execs the child in its own process group. stdio is
// inherited as it is, and so is every descriptor supervise inherited
// (unless --close-fds marked them close-on-exec); supervise's own are
// close-on-exec. The signal mask is the one supervise started with (the
// Go runtime restores it in the forked child). A child that is to get
// sockets LISTEN_PID names supervise for is started through the
// trampoline (listen_linux.go).
func forkExec(cfg *Config) (int, error) {
	path, err := lookPath(cfg.Argv[0], cfg.Env)
	if err != nil {
		return 0, err
	}
	env := cfg.Env
	if cfg.Credential != nil && cfg.Home != "" {
		env = setEnv(env, "HOME", cfg.Home)
	}
	if listenForSelf(env) {
		env = setEnv(env, trampolineEnv, path)
		path = "/proc/self/exe"
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Credential: cfg.Credential}
	if stdinIsControllingTTY() {
		// Make the child's group the terminal's foreground group, so Ctrl-C
		// and job control reach it. The Go runtime does the TIOCSPGRP in
		// the child with signals still blocked, so no SIGTTOU stops it.
		attr.Foreground = true
		attr.Ctty = 0
	}
	pid, err := syscall.ForkExec(path, cfg.Argv, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   attr,
	})
	if err != nil {
		return 0, execError(cfg.Argv[0], err)
	}
	return pid, nil
}

// lookPath finds argv0 the way a shell would, in the child's PATH.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		st, err := os.Stat(argv0)
		if err != nil {
			return "", execError(argv0, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", &startError{ExitNotExecutable, fmt.Errorf("cannot run %q: permission denied (not an executable file)", argv0)}
		}
		return argv0, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + argv0
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			continue
		}
		if st.Mode()&0o111 == 0 {
			return "", &startError{ExitNotExecutable, fmt.Errorf("cannot run %q: %s is not executable", argv0, p)}
		}
		return p, nil
	}
	return "", &startError{ExitNotFound, fmt.Errorf("cannot run %q: not found in $PATH", argv0)}
}

// execError maps a failed exec to the shell's exit statuses: 127 when the
// file is missing, 126 when it cannot be executed.
func execError(argv0 string, err error) error {
	var se *startError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
		return &startError{ExitNotFound, fmt.Errorf("cannot run %q: no such file or directory", argv0)}
	}
	return &startError{ExitNotExecutable, fmt.Errorf("cannot run %q: %v", argv0, err)}
}

// stdinIsControllingTTY reports whether fd 0 is the controlling terminal
// of supervise's session, the only case where the foreground group can be
// handed over (TIOCSPGRP fails with ENOTTY otherwise).
func stdinIsControllingTTY() bool {
	sid, err := unix.IoctlGetInt(0, unix.TIOCGSID)
	if err != nil {
		return false
	}
	mine, err := unix.Getsid(0)
	return err == nil && sid == mine
}

func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}
