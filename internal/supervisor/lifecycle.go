package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/signals"
)

// Restart backoff: the first restart waits backoffMin, each one after
// doubles it up to backoffMax. A child that ran for at least backoffMax
// before it exited starts the series over.
const (
	backoffMin = time.Second
	backoffMax = 30 * time.Second
)

// startFailedCode is the shell's exit status for a child that could not
// be started: 127 not found, 126 otherwise.
func startFailedCode(err error) int {
	var se *startError
	if errors.As(err, &se) {
		return se.code
	}
	return ExitNotExecutable
}

// childExited handles the main child's exit: finish a stop, restart, or
// clean up and exit.
func (m *machine) childExited(ev event) phase {
	x, now := ev.exit, ev.at
	code := ExitCode(x.status, m.cfg.ExitZero)
	ran := now.Sub(m.startedAt)
	m.pid, m.lastCode = 0, code
	m.emit(publishExited{code: code})
	attrs := []any{"pid", x.pid, "status", describe(x.status), "exit_code", code, "ran", ran.Round(time.Millisecond).String()}
	if x.status.Signaled() && x.status.Signal() == unix.SIGBUS {
		attrs = append(attrs, "hint", "SIGBUS often means /dev/shm is too small: raise shm_size (Docker) or mount a larger emptyDir at /dev/shm (Kubernetes)")
	}
	m.end.child = childEnd{at: now, exit: describe(x.status), oom: x.oom, limit: x.limit}
	if x.oom {
		attrs = append(attrs, "oom_killed", true, "memory_limit", x.limit)
		m.log(slog.LevelError, "child was killed by the kernel's OOM killer: the container ran out of memory", "pid", x.pid, "memory_limit", x.limit)
	}

	if m.phase == stopping {
		e := &m.end
		drain := now.Sub(e.requestedAt)
		outcome := e.outcome()
		m.emit(publishStopped{outcome: outcome, drain: drain})
		m.log(slog.LevelInfo, "child stopped", append(attrs, "outcome", outcome, "drain", drain.Round(time.Millisecond).String(),
			"last_rung", e.lastRung(), "preset", e.plan.Preset)...)
		return m.beginCleanup(now)
	}
	if !m.shouldRestart(code) {
		m.log(slog.LevelInfo, "child exited", attrs...)
		return m.beginCleanup(now)
	}
	m.restarts++
	if m.cfg.RestartMax > 0 && m.restarts > m.cfg.RestartMax {
		m.log(slog.LevelWarn, "child exited; restart limit reached, not restarting",
			append(attrs, "restarts", m.restarts-1, "restart_max", m.cfg.RestartMax)...)
		return m.beginCleanup(now)
	}
	if ran >= backoffMax || m.restartWait == 0 {
		m.restartWait = backoffMin
	} else {
		m.restartWait = min(2*m.restartWait, backoffMax)
	}
	m.restartAt = now.Add(m.restartWait)
	m.emit(publishRestarting{})
	m.log(slog.LevelWarn, "child exited; restarting",
		append(attrs, "in", m.restartWait.String(), "restart", m.restarts, "policy", string(m.cfg.Restart))...)
	return backoff
}

// shouldRestart applies the restart policy to a child that exited on its own.
func (m *machine) shouldRestart(code int) bool {
	switch m.cfg.Restart {
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

func signalName(s unix.Signal) string { return signals.Name(s) }
