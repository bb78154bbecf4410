package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/reaper"
	"github.com/supervise/supervise/internal/signals"
)

// Restart backoff: the first restart waits backoffMin, each one after
// doubles it up to backoffMax. A child that ran for at least backoffMax
// before it exited starts the series over.
const (
	backoffMin = time.Second
	backoffMax = 30 * time.Second
)

// startChild starts the main child and publishes it.
func (l *loop) startChild() error {
	pid, err := forkExec(l.cfg)
	if err != nil {
		return err
	}
	now := time.Now()
	l.phase, l.pid, l.startedAt = running, pid, now
	if l.cfg.Memory != nil {
		l.oomAtStart, _ = l.cfg.Memory.OOMKills()
	}
	l.hooks.ChildStarted()
	l.status.update(func(s *Snapshot) {
		s.ChildRunning, s.Restarting, s.ChildPID, s.StartedAt = true, false, pid, now
		s.Starts++
	})
	l.log.Info("started child", "pid", pid, "command", l.cfg.Argv[0], "args", len(l.cfg.Argv)-1)
	return nil
}

// startFailed logs a child that could not be started and returns the
// shell's exit status for it (126 or 127).
func (l *loop) startFailed(err error) int {
	code := ExitNotExecutable
	var se *startError
	if errors.As(err, &se) {
		code = se.code
	}
	l.log.Error(err.Error(), "exit_code", code)
	l.lastCode = code
	return code
}

// mainExited handles the main child's exit: finish a stop, restart, or
// clean up and exit.
func (l *loop) mainExited(e reaper.Exit, now time.Time) {
	code := ExitCode(e.Status, l.cfg.ExitZero)
	ran := now.Sub(l.startedAt)
	l.pid, l.lastCode = 0, code
	l.hooks.ChildExited(code)
	l.status.update(func(s *Snapshot) { s.ChildRunning, s.ChildPID, s.LastExitCode = false, 0, code })
	attrs := []any{"pid", e.PID, "status", describe(e.Status), "exit_code", code, "ran", ran.Round(time.Millisecond).String()}
	if e.Status.Signaled() && e.Status.Signal() == unix.SIGBUS {
		attrs = append(attrs, "hint", "SIGBUS often means /dev/shm is too small: raise shm_size (Docker) or mount a larger emptyDir at /dev/shm (Kubernetes)")
	}
	l.end = childEnd{at: now, exit: describe(e.Status)}
	if l.oomKilled(e.Status) {
		limit := "none"
		if n, ok := l.cfg.Memory.Limit(); ok {
			limit = fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
		}
		l.end.oom, l.end.limit = true, limit
		attrs = append(attrs, "oom_killed", true, "memory_limit", limit)
		l.log.Error("child was killed by the kernel's OOM killer: the container ran out of memory", "pid", e.PID, "memory_limit", limit)
	}

	if l.phase == stopping {
		l.stopFinished(now, attrs)
		l.beginCleanup(now)
		return
	}
	if l.shouldRestart(code) {
		l.restarts++
		if l.cfg.RestartMax > 0 && l.restarts > l.cfg.RestartMax {
			l.log.Warn("child exited; restart limit reached, not restarting", append(attrs, "restarts", l.restarts-1, "restart_max", l.cfg.RestartMax)...)
			l.beginCleanup(now)
			return
		}
		if ran >= backoffMax || l.backoff == 0 {
			l.backoff = backoffMin
		} else {
			l.backoff = min(2*l.backoff, backoffMax)
		}
		l.phase, l.restartAt = backoff, now.Add(l.backoff)
		l.status.update(func(s *Snapshot) { s.Restarting = true })
		l.log.Warn("child exited; restarting", append(attrs, "in", l.backoff.String(), "restart", l.restarts, "policy", string(l.cfg.Restart))...)
		return
	}
	l.log.Info("child exited", attrs...)
	l.beginCleanup(now)
}

// childEnd is how the main child last ended, for the stop report.
type childEnd struct {
	at    time.Time
	exit  string // "exited 0", "killed by KILL"
	oom   bool
	limit string
}

// oomKilled reports whether a SIGKILL death came with a rise in the
// cgroup's OOM-kill count since the child started.
func (l *loop) oomKilled(ws unix.WaitStatus) bool {
	if l.cfg.Memory == nil || !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		return false
	}
	n, ok := l.cfg.Memory.OOMKills()
	return ok && n > l.oomAtStart
}

// shouldRestart applies the restart policy to a child that exited on its own.
func (l *loop) shouldRestart(code int) bool {
	switch l.cfg.Restart {
	case RestartAlways:
		return true
	case RestartOnFailure:
		return code != 0
	}
	return false
}

// describe renders a wait status for a log line: "exited 3" or "killed by KILL".
func describe(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exited %d", ws.ExitStatus())
	case ws.Signaled():
		s := "killed by " + signals.Name(ws.Signal())
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return strings.TrimSpace(fmt.Sprintf("status %#x", uint32(ws)))
}
