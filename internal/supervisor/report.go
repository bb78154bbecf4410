package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/signals"
)

// DefaultTerminationLog is where Kubernetes reads a container's
// termination message.
const DefaultTerminationLog = "/dev/termination-log"

// TerminationLogPath resolves --termination-log: "off" is none, a path is
// that path, and unset is /dev/termination-log when it exists and is
// writable (in every Kubernetes container), else none.
func TerminationLogPath(v string) string {
	switch v = strings.TrimSpace(v); v {
	case "off":
		return ""
	case "":
		if unix.Access(DefaultTerminationLog, unix.W_OK) == nil {
			return DefaultTerminationLog
		}
		return ""
	}
	return v
}

// MaxReport is the most a stop report may hold: the size Kubernetes reads
// of a container's termination log.
const MaxReport = 4096

// Report is what supervise says when it ends: how the child ended, and,
// after a stop, how the stop went. One log line carries it, and the
// termination log (Config.TerminationLog) gets it as a few lines, which
// `kubectl describe pod` shows as the last state's message.
type Report struct {
	// Outcome is graceful, escalated or killed after a stop; "exited" when
	// the child ended on its own.
	Outcome string
	Preset  string
	// Signal is the stop signal as received; empty without a stop.
	Signal string
	// Timing is the stop's: its grace period and where that came from.
	plan.Timing
	Rungs []ladder.Sent
	// Drain is the time from the stop signal to the child's exit.
	Drain    time.Duration
	Exit     string // "exited 0", "killed by KILL"
	ExitCode int
	// OOM is true when the kernel's OOM killer ended the child.
	OOM         bool
	MemoryLimit string
	// Leftovers counts the processes still running after the main child
	// exited, and Killed those of them that needed KILL.
	Leftovers, Killed int
}

// Lines renders the report as the termination log's lines.
func (r Report) Lines() []string {
	var out []string
	if r.Signal == "" {
		out = append(out, fmt.Sprintf("supervise: the child ended on its own (%s), no stop signal; exit status %d", r.Exit, r.ExitCode))
	} else {
		out = append(out, fmt.Sprintf("supervise: stop %s (preset %s, grace %s)", r.Outcome, r.Preset, plan.GraceText(r.Budget.Grace, r.GraceFrom)))
		out = append(out, "stop signal "+r.Signal+" at 0s")
		for _, g := range r.Rungs {
			out = append(out, fmt.Sprintf("rung %d %s at %s (%s)", g.Index+1, signals.Name(g.Signal), g.At.Round(time.Millisecond), rungCause(g)))
		}
		out = append(out, fmt.Sprintf("child %s after %s of draining; exit status %d", r.Exit, r.Drain.Round(time.Millisecond), r.ExitCode))
	}
	if r.OOM {
		out = append(out, "the kernel's OOM killer ended the child; memory limit "+r.MemoryLimit)
	}
	if r.Leftovers > 0 {
		out = append(out, fmt.Sprintf("%d processes left after the child: TERM, %d needed KILL", r.Leftovers, r.Killed))
	}
	return out
}

// Text is the termination log's content, cut to MaxReport bytes.
func (r Report) Text() string {
	s := strings.Join(r.Lines(), "\n") + "\n"
	if len(s) > MaxReport {
		s = s[:MaxReport-4] + "...\n"
	}
	return s
}

// attrs is the report as one log line's attributes.
func (r Report) attrs() []any {
	a := []any{"outcome", r.Outcome, "exit", r.Exit, "exit_code", r.ExitCode}
	if r.Signal != "" {
		var rungs []string
		for _, g := range r.Rungs {
			rungs = append(rungs, fmt.Sprintf("%s@%s(%s)", signals.Name(g.Signal), g.At.Round(time.Millisecond), g.Cause))
		}
		grace, from := "unset", "unset"
		if r.Budget.Grace > 0 {
			grace, from = r.Budget.Grace.String(), plan.OrUnset(r.GraceFrom)
		}
		a = append(a, "preset", r.Preset, "signal", r.Signal, "grace", grace, "grace_from", from,
			"rungs", strings.Join(rungs, " "), "drain", r.Drain.Round(time.Millisecond).String())
	}
	if r.OOM {
		a = append(a, "oom_killed", true, "memory_limit", r.MemoryLimit)
	}
	return append(a, "leftovers", r.Leftovers, "leftovers_killed", r.Killed)
}

// report builds the report of this Run's end.
func (m *machine) report() Report {
	e := &m.end
	r := Report{Outcome: "exited", Exit: e.child.exit, ExitCode: m.lastCode, OOM: e.child.oom, MemoryLimit: e.child.limit,
		Leftovers: e.clean.leftovers, Killed: e.clean.killedCount}
	if e.stopped() {
		r.Outcome, r.Preset, r.Signal = e.outcome(), e.plan.Preset, signalName(e.by)
		r.Timing = e.plan.Timing
		if e.progress != nil {
			r.Rungs = e.progress.Sent()
		}
		// A stop while a restart was pending finds the child already gone.
		r.Drain = max(e.child.at.Sub(e.requestedAt), 0)
	}
	return r
}

// writeReport logs the report and writes the termination log. Neither can
// block or fail the exit: the file is opened non-blocking (a FIFO without
// a reader is refused at once) and every error is only logged.
func (x *executor) writeReport(r Report) {
	x.log.Info("stop report", r.attrs()...)
	path := x.cfg.TerminationLog
	if path == "" {
		return
	}
	if err := writeFileNonBlock(path, r.Text()); err != nil {
		x.log.Warn("cannot write the termination log", "path", path, "error", err)
	}
}

func writeFileNonBlock(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
