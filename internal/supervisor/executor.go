package supervisor

import (
	"context"
	"errors"
	"log/slog"
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

// executor carries out the machine's actions: signals, starts, the
// published Status and metrics hooks, logs and the stop report. Each
// action says everything needed to carry it out (which pid, which stop),
// so the executor never reads the machine. It runs on the loop's
// goroutine.
type executor struct {
	cfg    *Config
	log    *slog.Logger
	hooks  Hooks
	status *Status
	// graces receives the GraceSource's answers (askGrace).
	graces chan graceAnswer
	// oomAtStart is the cgroup's OOM-kill count when the child started.
	oomAtStart uint64
	// cmdline is the child's /proc/PID/cmdline, opened at its start so
	// the stop reads it in one pread (proctree.CmdlineFile); childPID is
	// whose it is.
	cmdline  *proctree.CmdlineFile
	childPID int
	// exe is the program the child ran at its start, to tell at the stop
	// an exec (another program) from a retitle (proctree.Exe).
	exe   proctree.FileID
	exeOK bool
}

// do carries out one action. A start returns its result as the event the
// loop gives the machine next; every other action returns false.
func (x *executor) do(a action) (event, bool) {
	switch a := a.(type) {
	case logLine:
		x.log.Log(context.Background(), a.level, a.msg, a.attrs...)
	case forwardSignal:
		x.deliver(a.pid, a.sig)
	case sendRung:
		x.signalRung(a)
	case killLeftovers:
		x.killTree(a.sig, 0, a.tree)
	case startChild:
		return x.spawnChild(), true
	case askGrace:
		x.askGrace(a.stopAt)
	case publishDraining:
		x.status.update(func(s *Snapshot) { s.Draining = true })
		x.hooks.Draining()
	case publishPlanned:
		x.hooks.StopPlanned(a.stopAt, a.killAt)
	case publishExited:
		x.hooks.ChildExited(a.code)
		x.status.update(func(s *Snapshot) { s.ChildRunning, s.ChildPID, s.LastExitCode = false, 0, a.code })
	case publishRestarting:
		x.status.update(func(s *Snapshot) { s.Restarting = true })
	case publishStopped:
		x.hooks.Stopped(a.outcome, a.drain)
	case finish:
		x.status.update(func(s *Snapshot) { s.ChildRunning = false; s.Restarting = false })
		if a.report != nil {
			x.writeReport(*a.report)
		}
	case announce:
		return event{kind: evAnnounce, at: time.Now()}, true
	}
	return event{}, false
}

// spawnChild starts the main child, publishes it, and returns the result
// as an evStarted event.
func (x *executor) spawnChild() event {
	pid, err := forkExec(x.cfg)
	now := time.Now()
	if err == nil {
		x.cmdline.Close()
		x.cmdline, x.childPID = proctree.OpenCmdline(pid), pid
		x.exe, x.exeOK = proctree.Exe(pid)
		if x.cfg.Memory != nil {
			x.oomAtStart, _ = x.cfg.Memory.OOMKills()
		}
		x.hooks.ChildStarted()
		x.status.update(func(s *Snapshot) {
			s.ChildRunning, s.Restarting, s.ChildPID, s.StartedAt = true, false, pid, now
			s.Starts++
		})
		x.log.Info("started child", "pid", pid, "command", x.cfg.Argv[0], "args", len(x.cfg.Argv)-1)
	}
	return event{kind: evStarted, at: now, pid: pid, err: err}
}

// deliver passes sig on to the child pid, or to its process group with -g.
func (x *executor) deliver(pid int, sig syscall.Signal) {
	if err := x.signalChild(pid, sig); err != nil {
		x.log.Warn("forwarding failed", "signal", signals.Name(sig), "pid", pid, "syscall", "kill", "error", err)
		return
	}
	x.hooks.SignalForwarded(sig)
	x.log.Debug("forwarded signal", "signal", signals.Name(sig), "pid", pid, "group", x.cfg.Group)
}

// signalChild sends sig to the child pid, or its group with -g.
func (x *executor) signalChild(pid int, sig syscall.Signal) error {
	return signalTo(pid, sig, x.cfg.Group)
}

// signalTo sends sig to pid, or to its process group: the child leads
// its own, so the group id is its pid.
func signalTo(pid int, sig syscall.Signal, group bool) error {
	target := pid
	if group {
		target = -pid
	}
	err := unix.Kill(target, sig)
	if errors.Is(err, unix.ESRCH) && group {
		// The leader may be gone while its group lives on, or the reverse.
		err = unix.Kill(pid, sig)
	}
	return err
}

// rungGroup says whether a rung goes to the child's process group: where
// the rung says (ladder.Target), with -g deciding for ToChild.
func (x *executor) rungGroup(to ladder.Target) bool {
	switch to {
	case ladder.ToMain:
		return false
	case ladder.ToGroup:
		return true
	}
	return x.cfg.Group
}

// signalRung sends one rung. KILL goes to the whole tree and is logged
// with the count of processes it reached; any other rung goes to the
// child, which is woken with CONT if it was stopped.
func (x *executor) signalRung(a sendRung) {
	r := a.rung
	x.hooks.Rung(r.Index, r.Signal)
	if r.Signal == unix.SIGKILL {
		n := x.killTree(unix.SIGKILL, a.pid, nil)
		x.log.Log(context.Background(), a.line.level, a.line.msg, append(a.line.attrs, "processes", n)...)
		return
	}
	group := x.rungGroup(r.To)
	if err := signalTo(a.pid, r.Signal, group); err != nil {
		x.log.Warn("stop rung failed", "rung", r.Index+1, "signal", signals.Name(r.Signal), "pid", a.pid, "syscall", "kill", "error", err)
		return
	}
	// A stopped process keeps the rung pending until it runs again: wake
	// it, or a SIGSTOPped worker could not drain and would only die at KILL.
	if proctree.State(a.pid) == "T" {
		x.log.Warn("child was stopped (SIGSTOP): sending CONT so it can act on the rung", "pid", a.pid)
		signalTo(a.pid, unix.SIGCONT, group)
	}
}

// killTree sends sig to every process below supervise (proctree.KillTree)
// but for nothing else, tree being the leftovers just listed, or nil; pid
// is the main child, 0 when it is gone. It returns how many processes
// were signalled, or -1 for kill(-1) as PID 1.
func (x *executor) killTree(sig syscall.Signal, pid int, tree []proctree.Proc) int {
	n, err := proctree.KillTree(sig, os.Getpid(), pid, tree, reaper.IsPID1())
	if err != nil {
		x.log.Warn("kill failed", "syscall", "kill(-1)", "signal", signals.Name(sig), "error", err)
	}
	return n
}

// askGrace asks the GraceSource, in its own goroutine bounded by
// GraceLookupTimeout, for the grace period of the stop that began at
// stopAt. The answer comes back to the loop through x.graces as an
// event; the stop never waits for it.
func (x *executor) askGrace(stopAt time.Time) {
	src := x.cfg.GraceSource
	if src == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), GraceLookupTimeout)
		defer cancel()
		t0 := time.Now()
		g, err := src.StopGrace(ctx, stopAt)
		// The channel holds one answer, and there is one stop per Run.
		x.graces <- graceAnswer{Grace: g, err: err, took: time.Since(t0)}
	}()
}

// oomKilled reports whether a SIGKILL death came with a rise in the
// cgroup's OOM-kill count since the child started, and the memory limit
// in words.
func (x *executor) oomKilled(ws unix.WaitStatus) (bool, string) {
	if x.cfg.Memory == nil || !ws.Signaled() || ws.Signal() != unix.SIGKILL {
		return false, ""
	}
	if n, ok := x.cfg.Memory.OOMKills(); !ok || n <= x.oomAtStart {
		return false, ""
	}
	return true, x.cfg.Memory.LimitText()
}

// systemFacts answers the machine's questions from the kernel and /proc.
type systemFacts struct {
	cfg *Config
	log *slog.Logger
	x   *executor // for the child's command line, held open since its start
}

func (f systemFacts) childrenLeft() bool { return reaper.HasChildren() }

func (f systemFacts) leftovers() []proctree.Proc {
	left, err := proctree.Leftovers(os.Getpid())
	if err != nil {
		f.log.Warn("cannot list processes", "path", "/proc", "error", err)
	}
	return left
}

func (f systemFacts) planAtStop(start plan.Plan, pid int) (plan.Plan, bool) {
	var argv []string
	if f.x != nil && f.x.childPID == pid {
		argv = f.x.cmdline.Argv()
	} else {
		argv = proctree.Cmdline(pid)
	}
	return start.AtStop(f.cfg.PlanOptions(), argv, plan.ChildEnv(pid), func() bool { return f.x.execd(pid) })
}

// execd reports whether the child pid runs another program than at its
// start: false when either cannot be told.
func (x *executor) execd(pid int) bool {
	if x == nil || x.childPID != pid || !x.exeOK {
		return false
	}
	now, ok := proctree.Exe(pid)
	return ok && now != x.exe
}
