package ladder

import "time"

// WorkerTimeout is a worker's own shutdown timeout: once it runs out, the
// worker gives up by itself the wait it bounds, and then does some work
// of its own before it exits (Sidekiq pushes its running jobs back to
// Redis). supervise's ladder must leave room for both, or its next rung
// cuts what the worker still does.
type WorkerTimeout struct {
	// Setting names the timeout as the worker's documentation does: its
	// command-line option ("-t"), or the configuration setting
	// ("process_control_timeout") when no option sets it.
	Setting string
	// Options are the command-line spellings supervise reads; none when
	// only a configuration file or code sets it.
	Options []string
	// Env names an environment variable that holds more of the worker's
	// options, read when the command line has none (GUNICORN_CMD_ARGS).
	Env string
	// Var names an environment variable that holds the timeout itself,
	// a number in Unit (Resque's RESQUE_TERM_TIMEOUT).
	Var string
	// OnlyWith names an environment variable whose presence, with any
	// value, makes the worker wait at all (Resque's TERM_CHILD: unset,
	// its "stop now" kills the job at once and the timeout binds nothing).
	OnlyWith string
	// Unit is what the setting's number counts; Integer says it takes
	// whole numbers only (Sidekiq's -t 7.5 stops Sidekiq from starting).
	Unit    time.Duration
	Integer bool
	// Suffix is written after the number in advice ("s" for php-fpm's
	// "7s"); "" for a bare number.
	Suffix string
	// Default is the worker's own value when nothing sets it; zero when
	// the worker then waits without a limit (or, for NoneWaits, not at all).
	Default time.Duration
	// NoneWaits says that an unset timeout means no wait at all: the
	// worker cuts its work at once (arq's job_completion_wait 0, php-fpm's
	// process_control_timeout 0).
	NoneWaits bool
	// After is the worker's own work once the timeout runs out, before
	// it exits.
	After time.Duration
	// Bounds says which of supervise's waits must hold the timeout and
	// After: the drain, or the wait after the "stop now" rung.
	Bounds Bound
	// Elsewhere names where else the timeout can be set, where supervise
	// cannot read it (a configuration file, Python code).
	Elsewhere string
}

// Bound is which wait of a ladder a worker's own timeout must fit in.
type Bound int

const (
	// BoundDrain: the timeout bounds the drain (gunicorn's
	// graceful_timeout); the rung after the drain must not come first.
	BoundDrain Bound = iota
	// BoundStop: the timeout starts at the "stop now" rung (Sidekiq's
	// TERM); the KILL must not come first, so that rung's wait is the
	// timeout plus After.
	BoundStop
)

// Readable reports whether supervise can read the timeout from the
// worker's command line or environment.
func (t WorkerTimeout) Readable() bool { return len(t.Options) > 0 || t.Var != "" }
