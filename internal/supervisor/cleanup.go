package supervisor

import (
	"log/slog"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
// exits as soon as none is left. A stop signal that came before (the stop
// that ended the child) is remembered: the next one brings KILL forward.
func (m *machine) beginCleanup(now time.Time) phase {
	m.end.clean = cleanup{at: now.Add(m.cfg.CleanupGrace), stopped: m.end.stopped()}
	if !m.facts.childrenLeft() {
		return m.finish()
	}
	// With no live leftovers, only exiting processes and zombies remain:
	// their SIGCHLD will come.
	if left := m.facts.leftovers(); len(left) > 0 {
		m.end.clean.leftovers = len(left)
		m.log(slog.LevelInfo, "processes left after the main child exited: sending TERM", "count", len(left), "kill_in", m.cfg.CleanupGrace.String())
		m.emit(killLeftovers{sig: unix.SIGTERM, tree: left})
	}
	return cleaning
}

// stopWhileCleaning handles a stop signal after the main child is gone.
// It never sends TERM again and never moves the KILL later; a repeated
// stop signal brings the KILL forward to now.
func (m *machine) stopWhileCleaning(ev event) phase {
	c := &m.end.clean
	switch {
	case c.killed:
		m.log(slog.LevelInfo, "stop signal received; leftovers already got KILL", "signal", signalName(ev.received))
	case !c.stopped:
		c.stopped = true
		m.log(slog.LevelInfo, "stop signal received while leftovers finish: KILL stays due", "signal", signalName(ev.received),
			"kill_in", c.at.Sub(ev.at).Round(time.Millisecond).String())
	default:
		m.log(slog.LevelWarn, "stop signal received again: sending KILL to the leftovers now", "signal", signalName(ev.received))
		m.killLeftovers(ev.at, "processes left: sending KILL on a repeated stop signal")
	}
	return cleaning
}

// cleanupDeadline sends KILL to what ignored TERM, then gives the kernel a
// moment to deliver it before giving up on the stragglers.
func (m *machine) cleanupDeadline(now time.Time) phase {
	if !m.facts.childrenLeft() {
		return m.finish()
	}
	if !m.end.clean.killed {
		m.killLeftovers(now, "processes left ignored TERM: sending KILL")
		return cleaning
	}
	m.log(slog.LevelWarn, "processes still left after KILL: exiting anyway", "count", len(m.facts.leftovers()))
	return m.finish()
}

// killLeftovers sends KILL to every process left, logging msg, and sets
// the final deadline.
func (m *machine) killLeftovers(now time.Time, msg string) {
	c := &m.end.clean
	c.killed = true
	c.at = now.Add(killWait)
	if left := m.facts.leftovers(); len(left) > 0 {
		c.killedCount = len(left)
		m.log(slog.LevelWarn, msg, "count", len(left))
		m.emit(killLeftovers{sig: syscall.SIGKILL, tree: left})
	}
}
