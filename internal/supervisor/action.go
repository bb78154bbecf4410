package supervisor

import (
	"log/slog"
	"syscall"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/proctree"
)

// action is one thing for the executor to do. Each kind is a type of its
// own that carries exactly what carrying it out needs, so no action holds
// a field its executor ignores, and the executor never reads the machine.
type action interface {
	// kind names the action, for tests and logs.
	kind() actionKind
}

// actionKind names an action's type.
type actionKind int

const (
	doLog actionKind = iota
	doForward
	doRung
	doKillTree
	doStart
	doAskGrace
	doDraining
	doPlanned
	doExited
	doRestarting
	doStopped
	doFinish
	doAnnounce
)

func (k actionKind) String() string {
	return [...]string{"log", "forward", "rung", "kill tree", "start", "ask grace", "draining", "planned", "exited", "restarting",
		"stopped", "finish", "announce"}[k]
}

// The actions.
type (
	// logLine: log msg at level with attrs.
	logLine struct {
		level slog.Level
		msg   string
		attrs []any
	}
	// forwardSignal: pass sig on to the child pid (its group with -g).
	forwardSignal struct {
		pid int
		sig syscall.Signal
	}
	// sendRung: send rung to the child pid (where the rung says; KILL to
	// the whole tree), wake the child if it was stopped; a KILL rung is
	// logged as line, with the count of processes it reached.
	sendRung struct {
		pid  int
		rung ladder.Sent
		line logLine
	}
	// killLeftovers: send sig to the leftovers in tree, the main child
	// being gone.
	killLeftovers struct {
		sig  syscall.Signal
		tree []proctree.Proc
	}
	// startChild: start the child; the result comes back as evStarted.
	startChild struct{}
	// askGrace: ask the GraceSource about the stop begun at stopAt; the
	// answer comes back as evGrace.
	askGrace struct{ stopAt time.Time }
	// publishDraining: a stop began (readiness 503, metrics).
	publishDraining struct{}
	// publishPlanned: the stop began at stopAt and its KILL is planned at
	// killAt (zero when untimed).
	publishPlanned struct{ stopAt, killAt time.Time }
	// publishExited: the child exited with code.
	publishExited struct{ code int }
	// publishRestarting: a restart is pending.
	publishRestarting struct{}
	// publishStopped: how the stop went.
	publishStopped struct {
		outcome string
		drain   time.Duration
	}
	// finish: publish the end and, when the child ran, write report; Run
	// returns.
	finish struct{ report *Report }
	// announce: come back with evAnnounce once the actions before it are
	// carried out.
	announce struct{}
)

func (logLine) kind() actionKind           { return doLog }
func (forwardSignal) kind() actionKind     { return doForward }
func (sendRung) kind() actionKind          { return doRung }
func (killLeftovers) kind() actionKind     { return doKillTree }
func (startChild) kind() actionKind        { return doStart }
func (askGrace) kind() actionKind          { return doAskGrace }
func (publishDraining) kind() actionKind   { return doDraining }
func (publishPlanned) kind() actionKind    { return doPlanned }
func (publishExited) kind() actionKind     { return doExited }
func (publishRestarting) kind() actionKind { return doRestarting }
func (publishStopped) kind() actionKind    { return doStopped }
func (finish) kind() actionKind            { return doFinish }
func (announce) kind() actionKind          { return doAnnounce }
