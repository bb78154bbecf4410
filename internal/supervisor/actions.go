package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/proctree"
	"github.com/supervise/supervise/internal/reaper"
	"github.com/supervise/supervise/internal/signals"
)

// do carries out the machine's actions, in order. A start's result goes
// back to the machine as an event, and what it decides then is carried
// out before do returns.
func (l *loop) do(actions []action) {
	for _, a := range actions {
		switch a.kind {
		case doLog:
			l.log.Log(context.Background(), a.level, a.msg, a.attrs...)
		case doForward:
			l.forward(a.sig)
		case doRung:
			l.sendRung(a)
		case doKillTree:
			l.killTree(a.sig, a.tree)
		case doStart:
			l.startChild()
		case doAskGrace:
			l.askGrace(l.m.end.stopID, l.m.end.requestedAt)
		case doDraining:
			l.status.update(func(s *Snapshot) { s.Draining = true })
			l.hooks.Draining()
		case doPlanned:
			l.hooks.StopPlanned(l.m.end.requestedAt, a.at)
		case doExited:
			l.hooks.ChildExited(a.code)
			l.status.update(func(s *Snapshot) { s.ChildRunning, s.ChildPID, s.LastExitCode = false, 0, a.code })
		case doRestarting:
			l.status.update(func(s *Snapshot) { s.Restarting = true })
		case doStopped:
			l.hooks.Stopped(a.outcome, a.drain)
		case doFinish:
			l.status.update(func(s *Snapshot) { s.ChildRunning = false; s.Restarting = false })
			l.writeReport()
		}
	}
}

// startChild starts the main child, publishes it, and tells the machine.
func (l *loop) startChild() {
	pid, err := forkExec(l.cfg)
	now := time.Now()
	if err == nil {
		if l.cfg.Memory != nil {
			l.oomAtStart, _ = l.cfg.Memory.OOMKills()
		}
		l.hooks.ChildStarted()
		l.status.update(func(s *Snapshot) {
			s.ChildRunning, s.Restarting, s.ChildPID, s.StartedAt = true, false, pid, now
			s.Starts++
		})
		l.log.Info("started child", "pid", pid, "command", l.cfg.Argv[0], "args", len(l.cfg.Argv)-1)
	}
	l.handle(event{kind: evStarted, at: now, pid: pid, err: err})
}

// forward sends sig to the main child, or to its process group with -g.
func (l *loop) forward(sig syscall.Signal) {
	if err := l.signalChild(sig); err != nil {
		l.log.Warn("forwarding failed", "signal", signals.Name(sig), "pid", l.m.pid, "syscall", "kill", "error", err)
		return
	}
	l.hooks.SignalForwarded(sig)
	l.log.Debug("forwarded signal", "signal", signals.Name(sig), "pid", l.m.pid, "group", l.cfg.Group)
}

// signalChild sends sig to the main child, or its group with -g. The child
// leads its own process group, so the group id is its pid.
func (l *loop) signalChild(sig syscall.Signal) error {
	pid := l.m.pid
	target := pid
	if l.cfg.Group {
		target = -pid
	}
	err := unix.Kill(target, sig)
	if errors.Is(err, unix.ESRCH) && l.cfg.Group {
		// The leader may be gone while its group lives on, or the reverse.
		err = unix.Kill(pid, sig)
	}
	return err
}

// sendRung sends one rung and logs it. KILL goes to the whole tree; any
// other rung to the child, which is woken with CONT if it was stopped.
func (l *loop) sendRung(a action) {
	r := a.rung
	l.hooks.Rung(r.Index, r.Signal)
	if r.Signal == unix.SIGKILL {
		n := l.killTree(unix.SIGKILL, nil)
		l.log.Log(context.Background(), a.level, a.msg, append(a.attrs, "processes", n)...)
		return
	}
	if err := l.signalChild(r.Signal); err != nil {
		l.log.Warn("stop rung failed", append(a.attrs, "syscall", "kill", "error", err)...)
		return
	}
	// A stopped process keeps the rung pending until it runs again: wake
	// it, or a SIGSTOPped worker could not drain and would only die at KILL.
	if proctree.State(l.m.pid) == "T" {
		l.log.Warn("child was stopped (SIGSTOP): sending CONT so it can act on the rung", "pid", l.m.pid)
		l.signalChild(unix.SIGCONT)
	}
	l.log.Log(context.Background(), a.level, a.msg, a.attrs...)
}

// killTree sends sig to every process below supervise (proctree.KillTree),
// tree being the leftovers just listed, or nil. It returns how many
// processes were signalled, or -1 for kill(-1) as PID 1.
func (l *loop) killTree(sig syscall.Signal, tree []proctree.Proc) int {
	n, err := proctree.KillTree(sig, os.Getpid(), l.m.pid, tree, reaper.IsPID1())
	if err != nil {
		l.log.Warn("kill failed", "syscall", "kill(-1)", "signal", signals.Name(sig), "error", err)
	}
	return n
}

// askGrace asks the GraceSource, in its own goroutine bounded by
// GraceLookupTimeout, for the grace period of stop id, which began at
// stopAt. The answer comes back to the loop through l.graces as an
// event; the stop never waits for it.
func (l *loop) askGrace(id int, stopAt time.Time) {
	src := l.cfg.GraceSource
	if src == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), GraceLookupTimeout)
		defer cancel()
		t0 := time.Now()
		g, err := src.StopGrace(ctx, stopAt)
		// The channel holds one answer, and there is one stop per Run.
		l.graces <- graceAnswer{stop: id, Grace: g, err: err, took: time.Since(t0)}
	}()
}

// oomKilled reports whether a SIGKILL death came with a rise in the
// cgroup's OOM-kill count since the child started, and the memory limit
// in words.
func (l *loop) oomKilled(ws unix.WaitStatus) (bool, string) {
	if l.cfg.Memory == nil || !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		return false, ""
	}
	if n, ok := l.cfg.Memory.OOMKills(); !ok || n <= l.oomAtStart {
		return false, ""
	}
	limit := "none"
	if n, ok := l.cfg.Memory.Limit(); ok {
		limit = fmt.Sprintf("%d bytes (%.1f MiB)", n, float64(n)/(1<<20))
	}
	return true, limit
}

// systemFacts answers the machine's questions from the kernel and /proc.
type systemFacts struct{ l *loop }

func (f systemFacts) childrenLeft() bool { return reaper.HasChildren() }

func (f systemFacts) leftovers() []proctree.Proc {
	left, err := proctree.Leftovers(os.Getpid())
	if err != nil {
		f.l.log.Warn("cannot list processes", "path", "/proc", "error", err)
	}
	return left
}

func (f systemFacts) planAtStop(pid int) (plan.Plan, bool) {
	argv := proctree.Cmdline(pid)
	if len(argv) == 0 {
		return plan.Plan{}, false
	}
	return plan.Make(f.l.cfg.PlanOptions(), argv, func() ladder.Files { return plan.ChildScriptFiles(pid) }), true
}
