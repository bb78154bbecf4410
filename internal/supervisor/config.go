package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/signals"
)

// RestartMode says when a child that exited on its own is started again.
type RestartMode string

// The restart modes of --restart.
const (
	RestartNo        RestartMode = "no"
	RestartOnFailure RestartMode = "on-failure"
	RestartAlways    RestartMode = "always"
)

// Config is everything Run needs. The command line builds it; tests may too.
type Config struct {
	// Argv is the child's command line; Argv[0] is looked up in PATH.
	Argv []string
	// Env is the child's environment.
	Env []string
	// Credential, when set, runs the child as another user; Home is then
	// set as the child's HOME.
	Credential *syscall.Credential
	Home       string

	// Preset names the stop protocol: "auto", "none" or a preset's name.
	Preset string
	// Stop, when it has steps, replaces the preset's ladder (--stop).
	Stop ladder.Ladder
	// Timing is the grace period, how the ladder spends it, and where
	// each part came from.
	plan.Timing
	// StartPlan, when set, is the plan of a stop made at start from Argv
	// (the command line makes it, to refuse waits that do not fit); Run
	// makes it when it is nil.
	StartPlan *plan.Plan
	// GraceSource, when set, is asked at each stop for that stop's grace
	// period (the Kubernetes API). Its answer replaces Budget.Grace for the
	// stop; until it comes, and when it fails, Budget.Grace holds.
	GraceSource GraceSource

	// Rewrite maps received signals before they are acted on (--rewrite).
	Rewrite signals.Rewrite
	// StopSignals are signals that start a stop besides TERM and INT: the
	// orchestrator's stop signal when it is another (a pod's
	// lifecycle.stopSignal).
	StopSignals []syscall.Signal
	// Group sends forwarded signals and rungs to the child's process group (-g).
	Group bool
	// Subreaper makes supervise a child subreaper when not PID 1 (-s).
	Subreaper bool
	// WarnOnReap logs a warning for every orphan reaped (-w).
	WarnOnReap bool
	// CloseFiles gives the child no descriptor supervise inherited beyond
	// 0, 1 and 2 (--close-fds); by default it gets every one, as under
	// tini and catatonit.
	CloseFiles bool
	// Defaults, when set, says which defaults applied and why (supervise
	// run as an engine's injected init); the start-up line carries it.
	Defaults string
	// ExitZero lists exit statuses reported as 0 (-e).
	ExitZero map[int]bool

	// Restart, RestartMax: the restart policy. RestartMax 0 is unlimited.
	Restart    RestartMode
	RestartMax int

	// CleanupGrace is the time leftover processes get between TERM and KILL
	// after the main child has exited; 0 sends KILL at once.
	// DefaultCleanupGrace is the usual value.
	CleanupGrace time.Duration

	// TerminationLog, when set, is the file the stop report is written to
	// at the end (Kubernetes' /dev/termination-log).
	TerminationLog string

	// Log receives supervise's own events.
	Log *slog.Logger
	// Status, when set, is kept up to date for the health server.
	Status *Status
	// Hooks, when set, is told about events for metrics.
	Hooks Hooks
	// Spawner, when set, lets other goroutines run helper commands.
	Spawner *Spawner
	// Memory, when set, explains SIGKILL deaths by the cgroup's OOM kills.
	Memory MemoryInfo
}

// GraceSource tells the grace period of a stop while it happens.
type GraceSource interface {
	// Name says where the grace is read, for logs: "the Kubernetes API".
	Name() string
	// StopGrace returns the grace period the orchestrator gives the stop
	// that began at stopAt: the time from then to its SIGKILL. It must
	// return when ctx ends.
	StopGrace(ctx context.Context, stopAt time.Time) (Grace, error)
}

// Grace is one stop's grace period as a GraceSource tells it.
type Grace struct {
	// Period is the time from the stop signal to the orchestrator's SIGKILL.
	Period time.Duration
	// From says where Period came from and how, for logs and the report.
	From string
	// Warning, when set, is one line about a fallback or a disagreement.
	Warning string
}

// GraceLookupTimeout bounds a GraceSource's answer. The stop does not wait
// for it: the first rung is sent at once, and the answer, when it comes,
// times the rest of the ladder from the stop signal.
const GraceLookupTimeout = time.Second

// PlanOptions are the options of cfg that decide a stop's plan.
func (cfg *Config) PlanOptions() plan.Options {
	return plan.Options{Preset: cfg.Preset, Stop: cfg.Stop, Timing: cfg.Timing, Defaults: cfg.Defaults}
}

// ParseRestart reads a restart policy: no, on-failure or always.
func ParseRestart(text string) (RestartMode, error) {
	switch m := RestartMode(strings.ToLower(strings.TrimSpace(text))); m {
	case RestartNo, RestartOnFailure, RestartAlways:
		return m, nil
	}
	return "", fmt.Errorf("%q: want no, on-failure or always", text)
}

// ParseExitStatus reads an exit status for ExitZero: 0 to 255.
func ParseExitStatus(text string) (int, error) {
	return wholeNumber(text, 255, "want an exit status from 0 to 255")
}

// MaxRestarts bounds RestartMax.
const MaxRestarts = 1_000_000

// ParseRestartMax reads RestartMax: 0 (no limit) to MaxRestarts.
func ParseRestartMax(text string) (int, error) {
	return wholeNumber(text, MaxRestarts, fmt.Sprintf("want a whole number from 0 (no limit) to %d", MaxRestarts))
}

// wholeNumber reads a whole number from 0 to most; want is the error's
// text otherwise.
func wholeNumber(text string, most int, want string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 0 || n > most {
		return 0, errors.New(want)
	}
	return n, nil
}

// MemoryInfo reads the memory accounting of supervise's cgroup.
type MemoryInfo interface {
	// OOMKills is the cgroup's count of OOM kills so far.
	OOMKills() (uint64, bool)
	// LimitText says the memory limit that applies and the cgroup that
	// sets it, or that none is (visible), for the OOM diagnosis.
	LimitText() string
}

// Hooks receives events as they happen, for metrics. Every method must
// return at once: it runs on the loop.
type Hooks interface {
	SignalReceived(sig syscall.Signal)
	SignalForwarded(sig syscall.Signal)
	Reaped(n int)
	ChildStarted()
	ChildExited(code int)
	Draining()
	// StopPlanned tells when the stop began and when its KILL is planned
	// (zero when it has no deadline); it is told again when the plan
	// changes during the stop.
	StopPlanned(stopAt, killAt time.Time)
	Rung(index int, sig syscall.Signal)
	Stopped(outcome string, drain time.Duration)
}

type noHooks struct{}

func (noHooks) SignalReceived(syscall.Signal)    {}
func (noHooks) SignalForwarded(syscall.Signal)   {}
func (noHooks) Reaped(int)                       {}
func (noHooks) ChildStarted()                    {}
func (noHooks) ChildExited(int)                  {}
func (noHooks) Draining()                        {}
func (noHooks) StopPlanned(time.Time, time.Time) {}
func (noHooks) Rung(int, syscall.Signal)         {}
func (noHooks) Stopped(string, time.Duration)    {}
