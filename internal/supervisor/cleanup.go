package supervisor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/reaper"
	"github.com/supervise/supervise/internal/signals"
)

// DefaultCleanupGrace is the time leftovers get between TERM and KILL by
// default (--cleanup-grace).
const DefaultCleanupGrace = 2 * time.Second

// killWait is how long supervise waits for the kernel to deliver the
// cleanup KILL before it exits anyway.
const killWait = time.Second

// cleanup is the state of the cleaning phase.
type cleanup struct {
	at      time.Time // the next deadline: KILL, then giving up
	killed  bool      // leftovers got their KILL
	stopped bool      // a stop signal came before or during cleaning
	// leftovers and killedCount count, for the report, the processes
	// left when the main child exited and those that then needed KILL.
	leftovers, killedCount int
}

// beginCleanup starts the end: the main child is gone for good. Processes
// left below supervise get TERM, then KILL after CleanupGrace; supervise
// exits as soon as none is left.
func (l *loop) beginCleanup(now time.Time) {
	l.phase = cleaning
	l.clean = cleanup{at: now.Add(l.cfg.CleanupGrace), stopped: l.stop != nil}
	if !reaper.HasChildren() {
		l.finish()
		return
	}
	// With no live leftovers, only exiting processes and zombies remain:
	// their SIGCHLD will come.
	if left := l.leftovers(); len(left) > 0 {
		l.clean.leftovers = len(left)
		l.log.Info("processes left after the main child exited: sending TERM", "count", len(left), "kill_in", l.cfg.CleanupGrace.String())
		l.killTree(unix.SIGTERM, left)
	}
}

// stopWhileCleaning handles a stop signal after the main child is gone.
// It never sends TERM again and never moves the KILL later; a repeated
// stop signal brings the KILL forward to now.
func (l *loop) stopWhileCleaning(received unix.Signal) {
	if l.clean.killed {
		l.log.Info("stop signal received; leftovers already got KILL", "signal", signals.Name(received))
		return
	}
	if !l.clean.stopped {
		l.clean.stopped = true
		l.log.Info("stop signal received while leftovers finish: KILL stays due", "signal", signals.Name(received),
			"kill_in", time.Until(l.clean.at).Round(time.Millisecond).String())
		return
	}
	l.log.Warn("stop signal received again: sending KILL to the leftovers now", "signal", signals.Name(received))
	l.killLeftovers(time.Now(), "processes left: sending KILL on a repeated stop signal")
}

// cleanupDeadline sends KILL to what ignored TERM, then gives the kernel a
// moment to deliver it before giving up on the stragglers.
func (l *loop) cleanupDeadline(now time.Time) {
	if !reaper.HasChildren() {
		l.finish()
		return
	}
	if !l.clean.killed {
		l.killLeftovers(now, "processes left ignored TERM: sending KILL")
		return
	}
	l.log.Warn("processes still left after KILL: exiting anyway", "count", len(l.leftovers()))
	l.finish()
}

// killLeftovers sends KILL to every process left, logging msg, and sets
// the final deadline.
func (l *loop) killLeftovers(now time.Time, msg string) {
	l.clean.killed = true
	l.clean.at = now.Add(killWait)
	if left := l.leftovers(); len(left) > 0 {
		l.clean.killedCount = len(left)
		l.log.Warn(msg, "count", len(left))
		l.killTree(unix.SIGKILL, left)
	}
}
