package supervisor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/reaper"
)

// beginCleanup starts the end: the main child is gone for good. Processes
// left below supervise get TERM, then KILL after CleanupGrace; supervise
// exits as soon as none is left.
func (l *loop) beginCleanup(now time.Time) {
	l.cleaning = true
	if !reaper.HasChildren() {
		l.finish()
		return
	}
	left := l.leftovers()
	if len(left) == 0 {
		// Only exiting processes and zombies remain: their SIGCHLD will come.
		l.cleanupAt = now.Add(l.cfg.CleanupGrace)
		return
	}
	l.log.Info("processes left after the main child exited: sending TERM", "count", len(left), "kill_in", l.cfg.CleanupGrace.String())
	l.killTree(unix.SIGTERM)
	l.cleanupAt = now.Add(l.cfg.CleanupGrace)
}

// checkLeftovers ends the loop once supervise has no child left, not even
// a zombie still to be reaped. The kernel's answer decides, not a /proc
// listing: a process in the middle of exiting can vanish from /proc before
// its parent has reaped it.
func (l *loop) checkLeftovers() {
	if !l.done && !reaper.HasChildren() {
		l.finish()
	}
}

// cleanupDeadline sends KILL to what ignored TERM, then gives the kernel a
// moment to deliver it before giving up on the stragglers.
func (l *loop) cleanupDeadline(now time.Time) {
	if !reaper.HasChildren() {
		l.finish()
		return
	}
	left := l.leftovers()
	if !l.killedLeft {
		l.killedLeft = true
		if len(left) > 0 {
			l.log.Warn("processes left ignored TERM: sending KILL", "count", len(left))
			l.killTree(unix.SIGKILL)
		}
		l.cleanupAt = now.Add(time.Second)
		return
	}
	l.log.Warn("processes still left after KILL: exiting anyway", "count", len(left))
	l.finish()
}
