package supervisor

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/proctree"
	"github.com/supervise/supervise/internal/reaper"
	"github.com/supervise/supervise/internal/signals"
)

// stopRun is a stop in progress.
type stopRun struct {
	requestedAt time.Time
	by          syscall.Signal // the signal as received, before --rewrite
	preset      string
	ladder      ladder.Ladder
	forwardOnly bool      // no ladder: stop signals are forwarded as they come
	next        int       // index of the next rung to send
	nextAt      time.Time // when to send it; zero when none is due
	lastSentAt  time.Time
}

// Outcomes of a stop, as logs and metrics name them.
const (
	OutcomeGraceful  = "graceful"  // the child exited after the first rung
	OutcomeEscalated = "escalated" // it needed a later rung, short of KILL
	OutcomeKilled    = "killed"    // it took SIGKILL
)

// announcePreset says at start which stop protocol applies and why.
func (l *loop) announcePreset() {
	name, reason := l.choosePreset(l.cfg.Argv)
	lad, warns := l.plan(name)
	attrs := []any{"preset", name, "reason", reason, "grace_period", l.cfg.Budget.Grace.String()}
	if len(lad.Steps) > 0 {
		attrs = append(attrs, "ladder", lad.String())
	} else {
		attrs = append(attrs, "ladder", "forward stop signals as received")
	}
	l.log.Info("stop protocol", attrs...)
	for _, w := range warns {
		l.log.Warn(w)
	}
}

// choosePreset resolves "auto" from a command line.
func (l *loop) choosePreset(argv []string) (string, string) {
	if len(l.cfg.Stop.Steps) > 0 {
		return "custom", "--stop given"
	}
	if l.cfg.Preset != "" && l.cfg.Preset != "auto" {
		return l.cfg.Preset, "--preset given"
	}
	d := ladder.Detect(argv)
	return d.Preset, "auto: " + d.Reason
}

// plan returns the ladder for a preset inside the budget.
func (l *loop) plan(name string) (ladder.Ladder, []string) {
	if len(l.cfg.Stop.Steps) > 0 {
		return l.cfg.Stop, ladder.Check(l.cfg.Stop, l.cfg.Budget)
	}
	p, ok := ladder.Lookup(name)
	if !ok {
		return ladder.Ladder{}, []string{fmt.Sprintf("unknown preset %q: forwarding stop signals", name)}
	}
	return ladder.Plan(p, l.cfg.Budget)
}

// requestStop handles a stop signal: the first starts the ladder, later
// ones advance it.
func (l *loop) requestStop(received, sig syscall.Signal) {
	now := time.Now()
	if l.pid == 0 {
		l.log.Info("stop requested while no child runs: exiting", "signal", signals.Name(received))
		l.stop = &stopRun{requestedAt: now, by: received, forwardOnly: true}
		l.restartAt = time.Time{}
		l.beginCleanup(now)
		return
	}
	if l.stop == nil {
		l.startStop(now, received, sig)
		return
	}
	st := l.stop
	if st.forwardOnly {
		l.forward(sig)
		return
	}
	if st.next >= len(st.ladder.Steps) {
		l.log.Info("stop signal received; the last rung was already sent", "signal", signals.Name(received))
		return
	}
	at := now
	if st.next > 0 {
		if earliest := st.lastSentAt.Add(ladder.MinSpacing); earliest.After(at) {
			at = earliest
		}
	}
	if at.Before(st.nextAt) {
		st.nextAt = at
	}
	l.log.Info("stop signal received again: advancing the ladder",
		"signal", signals.Name(received), "rung", st.next+1, "rung_signal", signals.Name(st.ladder.Steps[st.next].Signal),
		"in", st.nextAt.Sub(now).Round(time.Millisecond).String())
	if !now.Before(st.nextAt) {
		l.sendRung(now)
	}
}

// startStop begins the stop: readiness turns 503 at once, the ladder's
// first rung goes out after the stop delay.
func (l *loop) startStop(now time.Time, received, sig syscall.Signal) {
	l.status.update(func(s *Snapshot) { s.Draining = true })
	l.hooks.Draining()
	name, reason := l.choosePreset(l.cfg.Argv)
	if l.cfg.Preset == "auto" && len(l.cfg.Stop.Steps) == 0 {
		// Look again: an entrypoint script may have exec'd the worker.
		if argv := cmdline(l.pid); len(argv) > 0 {
			n2, r2 := l.choosePreset(argv)
			if n2 != name {
				l.log.Info("preset changed at stop: the child's command line is now different", "from", name, "to", n2, "reason", r2)
			}
			name, reason = n2, r2
		}
	}
	lad, warns := l.plan(name)
	for _, w := range warns {
		l.log.Warn(w)
	}
	l.stop = &stopRun{requestedAt: now, by: received, preset: name, ladder: lad}
	if len(lad.Steps) == 0 {
		l.stop.forwardOnly = true
		l.log.Info("stop requested: forwarding", "signal", signals.Name(received), "forwarded", signals.Name(sig), "preset", name, "reason", reason)
		l.forward(sig)
		return
	}
	l.stop.nextAt = now.Add(l.cfg.Budget.StopDelay)
	l.log.Info("stop requested: starting the stop ladder", "signal", signals.Name(received), "preset", name, "reason", reason,
		"ladder", lad.String(), "stop_delay", l.cfg.Budget.StopDelay.String(), "kill_in", (l.cfg.Budget.StopDelay + lad.Total()).String())
	if l.cfg.Budget.StopDelay == 0 {
		l.sendRung(now)
	}
}

// sendRung sends the next rung and schedules the one after it.
func (l *loop) sendRung(now time.Time) {
	st := l.stop
	i := st.next
	step := st.ladder.Steps[i]
	st.next++
	st.lastSentAt = now
	st.nextAt = time.Time{}
	if st.next < len(st.ladder.Steps) {
		st.nextAt = now.Add(step.Wait)
	}
	elapsed := now.Sub(st.requestedAt).Round(time.Millisecond)
	attrs := []any{"rung", fmt.Sprintf("%d/%d", i+1, len(st.ladder.Steps)), "signal", signals.Name(step.Signal),
		"pid", l.pid, "since_stop", elapsed.String()}
	if st.next < len(st.ladder.Steps) {
		attrs = append(attrs, "next", signals.Name(st.ladder.Steps[st.next].Signal), "next_in", step.Wait.String())
	}
	if g := l.cfg.Budget.Grace; g > 0 {
		// Time left before the orchestrator's own SIGKILL, if it sent the stop.
		attrs = append(attrs, "grace_left", (g - now.Sub(st.requestedAt)).Round(time.Millisecond).String())
	}
	if i > 0 {
		attrs = append(attrs, "reason", fmt.Sprintf("drain deadline hit after %s", elapsed))
	}
	l.hooks.Rung(i, step.Signal)
	if step.Signal == unix.SIGKILL {
		n := l.killTree(unix.SIGKILL)
		l.log.Warn("stop rung: KILL to the whole process tree", append(attrs, "processes", n)...)
		return
	}
	if err := l.signalChild(step.Signal); err != nil {
		l.log.Warn("stop rung failed", append(attrs, "syscall", "kill", "error", err)...)
		return
	}
	// A stopped process keeps the rung pending until it runs again: wake
	// it, or a SIGSTOPped worker could not drain and would only die at KILL.
	if processState(l.pid) == "T" {
		l.log.Warn("child was stopped (SIGSTOP): sending CONT so it can act on the rung", "pid", l.pid)
		l.signalChild(unix.SIGCONT)
	}
	if i == 0 {
		l.log.Info("stop rung: draining", attrs...)
	} else {
		l.log.Warn("stop rung: escalating", attrs...)
	}
}

// stopFinished logs how a stop ended, once the main child has exited.
func (l *loop) stopFinished(now time.Time, attrs []any) {
	st := l.stop
	drain := now.Sub(st.requestedAt)
	outcome := OutcomeGraceful
	switch {
	case st.forwardOnly:
	case st.next > 0 && st.ladder.Steps[st.next-1].Signal == unix.SIGKILL:
		outcome = OutcomeKilled
	case st.next > 1:
		outcome = OutcomeEscalated
	}
	last := "none"
	if st.next > 0 {
		last = fmt.Sprintf("%d/%d %s", st.next, len(st.ladder.Steps), signals.Name(st.ladder.Steps[st.next-1].Signal))
	}
	if st.forwardOnly {
		last = "forwarded"
	}
	st.nextAt = time.Time{}
	l.hooks.Stopped(outcome, drain)
	l.log.Info("child stopped", append(attrs, "outcome", outcome, "drain", drain.Round(time.Millisecond).String(), "last_rung", last, "preset", st.preset)...)
}

// killTree sends sig to every process below supervise, including those
// that left the child's process group or session (RQ's work-horse). As
// PID 1 that is kill(-1), which reaches every process in the namespace but
// supervise itself. It returns how many processes were signalled, or -1
// for kill(-1).
func (l *loop) killTree(sig syscall.Signal) int {
	if reaper.IsPID1() {
		if err := unix.Kill(-1, sig); err != nil && err != unix.ESRCH {
			l.log.Warn("kill failed", "syscall", "kill(-1)", "signal", signals.Name(sig), "error", err)
		}
		return -1
	}
	// List the tree before the first kill: once a parent dies its children
	// are re-parented, and a list taken in that moment can miss them. Then
	// look again, for processes forked or re-parented meanwhile.
	sent := map[int]bool{}
	tree := l.leftovers()
	if l.pid != 0 && unix.Kill(-l.pid, sig) == nil {
		sent[l.pid] = true
	}
	for pass := 0; pass < 3 && len(tree) > 0; pass++ {
		for _, p := range tree {
			if !sent[p.PID] && unix.Kill(p.PID, sig) == nil {
				sent[p.PID] = true
			}
		}
		var fresh []proctree.Proc
		for _, p := range l.leftovers() {
			if !sent[p.PID] {
				fresh = append(fresh, p)
			}
		}
		tree = fresh
	}
	return len(sent)
}

// leftovers lists the processes below supervise that are still alive.
func (l *loop) leftovers() []proctree.Proc {
	all, err := proctree.Snapshot()
	if err != nil {
		l.log.Warn("cannot list processes", "path", "/proc", "error", err)
		return nil
	}
	var out []proctree.Proc
	for _, p := range proctree.Descendants(all, os.Getpid()) {
		if p.State != "Z" && p.State != "X" {
			out = append(out, p)
		}
	}
	return out
}

// processState reads a process's state letter (R, S, T, Z, ...) from
// /proc/PID/stat; "" if it cannot.
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name may hold spaces and parentheses: the state follows
	// the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return ""
	}
	return string(b[i+2])
}

// cmdline reads a process's argv from /proc, nil if it cannot.
func cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}
