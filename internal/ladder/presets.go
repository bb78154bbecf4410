package ladder

import (
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Preset is a worker's stop protocol. Rungs is its ladder with the drain
// wait left at zero for Size to set; every other wait is the least the
// worker needs for that rung (for a fast-stop rung: how long it takes to
// act on "stop now", never under MinSpacing). A preset without steps
// (none) plainly forwards stop signals, as tini does.
type Preset struct {
	Name    string
	Summary string
	Rungs   []Rung
	// Source cites where the worker's stop semantics are documented.
	Source string
	// FastStopNote, when set, says when the worker's own "stop now" takes
	// longer than the preset's wait, and what --fast-stop to set then.
	FastStopNote string
	// Timeout, when set, is the worker's own shutdown timeout, which
	// the plan reads from its command line (or takes at its default) and
	// checks against the ladder.
	Timeout *WorkerTimeout
	// Tested names the releases whose stop this preset was run against
	// end to end (the worker under supervise as PID 1); empty when none
	// was.
	Tested string
}

// Ladder returns a copy of the preset's ladder, timed, its drain wait
// still to be planned (Size sizes it).
func (p Preset) Ladder() Ladder {
	steps := make([]Rung, len(p.Rungs))
	copy(steps, p.Rungs)
	return Ladder{Rungs: steps, Timed: true}
}

// WithStopWait is the preset with the wait after its "stop now" rung (the
// rung after the drain) at least d: the worker's own timeout and what it
// does after it, for a timeout that starts at that rung (BoundStop).
func (p Preset) WithStopWait(d time.Duration) Preset {
	steps := make([]Rung, len(p.Rungs))
	copy(steps, p.Rungs)
	if i := p.Ladder().DrainIndex() + 1; i > 0 && i < len(steps)-1 {
		steps[i].Wait = d
	}
	p.Rungs = steps
	return p
}

// A preset's rungs go to the main process (ToMain): each of these workers
// passes the stop on to its own processes, and a group signal on top
// would reach them twice (dramatiq's second TERM is "exit now"; Celery's
// prefork children die on TERM; Resque's job child dies on QUIT).
func drain(s unix.Signal) Rung                 { return Rung{Signal: s, Drain: true, To: ToMain} }
func then(s unix.Signal, w time.Duration) Rung { return Rung{Signal: s, Wait: w, To: ToMain} }
func kill() Rung                               { return Rung{Signal: unix.SIGKILL} }

// quiet is a drain rung that only readies the worker for the next one:
// Size leaves it out when there is no room for it (Rung.Quiet).
func quiet(s unix.Signal) Rung { return Rung{Signal: s, Drain: true, Quiet: true, To: ToMain} }

// Fast-stop waits, measured on Debian 12 with the worker under supervise:
// time from the "stop now" signal, sent during a drain with tasks running,
// to the worker's exit. Huey 3.3.0 second INT: 0.08 s (threads), 0.16 s
// (processes). RQ 1.13 second TERM: 0.14 s; RQ 2.10.0: 0.15 s. Celery
// QUIT (the prefork pool's cold shutdown, a task_acks_late task restored
// to the queue before the exit): 5.2.6 1.66-1.82 s; 5.6.3 2.1-2.35 s, with
// the message restored 1.9-2.0 s after QUIT, idle and beside two CPU hogs
// alike: 5.6's prefork on_stop joins a timer thread that sleeps 0.5 s,
// billiard's pool supervisor thread sleeps 0.8 s between checks
// (celery/concurrency/prefork.py TaskPool.on_stop, billiard/pool.py
// Supervisor.body). Celery gets 3 s: KILL at 2 s cut 5.6's restore.
// gunicorn 25 and later give their workers 2.0 s after a QUIT during the
// drain, polling every 0.1 s (arbiter.py stop): 3 s. Workers not measured
// here get 2 s when their own documented fast stop involves a timer of
// about 1.5 s.
const (
	fastQuick    = MinSpacing
	fastSlow     = 2 * time.Second
	fastCelery   = 3 * time.Second
	fastGunicorn = 3 * time.Second
)

// Sidekiq's own shutdown: TERM quiets, waits -t (25 s by default), then
// pushes the running jobs back to Redis and gives its threads up to 3 s
// more (lib/sidekiq/launcher.rb stop, manager.rb stop and hard_shutdown).
var sidekiqTimeout = WorkerTimeout{
	Setting: "-t", Options: []string{"-t", "--timeout"}, Unit: time.Second, Integer: true,
	Default: 25 * time.Second, After: 3 * time.Second, Bounds: BoundStop,
	Elsewhere: ":timeout: in config/sidekiq.yml",
}

// Resque's "stop now" (INT, and TERM without GRACEFUL_TERM) kills the
// job's child at once, unless TERM_CHILD is set: then the job gets TERM
// (Resque::TermException, its chance to save its work and queue itself
// again) and RESQUE_TERM_TIMEOUT (a float, 4 s by default) before the
// KILL; the worker then records the job failed and exits, and its wait
// polls every 0.1 s (lib/resque/worker.rb shutdown!, new_kill_child,
// wait_for_child_exit).
var resqueTimeout = WorkerTimeout{
	Setting: "RESQUE_TERM_TIMEOUT", Var: "RESQUE_TERM_TIMEOUT", OnlyWith: "TERM_CHILD", Unit: time.Second,
	Default: 4 * time.Second, After: 2 * time.Second, Bounds: BoundStop,
}

// Generic is the ladder auto gives a program it does not recognise: the
// stop signal as received, the drain, then KILL.
const Generic = "generic"

// presets is the table of built-in stop protocols. Each row follows the
// worker's own documentation or code, cited in Source; docs/workers.md
// explains each one.
var presets = map[string]Preset{
	"none": {
		Name:    "none",
		Summary: "forward stop signals as they come, never a timer (tini behaviour)",
		Source:  "tini and dumb-init: plain signal forwarding",
		Tested:  "supervise's own test programs under a real PID 1 (any program, as tini)",
	},
	Generic: {
		Name: Generic,
		Summary: "any other program: the stop signal as received, then KILL before the grace period ends; " +
			"without a grace period, plain forwarding as tini does",
		// To the child, or its group with -g, as tini would.
		Rungs:  []Rung{{Signal: AsReceived, Drain: true}, kill()},
		Source: "docker stop and the kubelet: the stop signal, then SIGKILL when the grace period ends",
		Tested: "supervise's own test programs under a real PID 1 (any program, as tini)",
	},
	"huey": {
		Name: "huey",
		Summary: "INT drains running tasks; TERM is ignored during an INT drain and a 2nd INT stops at once; " +
			"TERM first would abort tasks",
		Rungs:  []Rung{drain(unix.SIGINT), then(unix.SIGINT, fastQuick), kill()},
		Source: "huey docs, consumer 'Signal handling'; huey/consumer.py Consumer._set_signal_handlers, stop, loop @3.3.0",
		Tested: "Huey 3.3.0 (thread and process workers)",
	},
	"rq": {
		Name: "rq",
		Summary: "TERM is a warm shutdown (current job finishes); a 2nd TERM is a cold shutdown that kills the " +
			"work-horse; the horse leaves the worker's group, so KILL goes to the whole tree",
		Rungs: []Rung{drain(unix.SIGTERM), then(unix.SIGTERM, fastQuick), kill()},
		Source: "rq docs 'Workers: Taking down workers'; rq/worker.py request_stop/request_force_stop @v1.13.0; " +
			"rq/worker/base.py request_stop/request_force_stop @v2.10.0",
		Tested: "RQ 1.13 with redis-py 4.3 (Debian 12), RQ 2.10.0 with redis-py 7.4.1; each also renamed by setproctitle 1.3",
	},
	"celery": {
		Name: "celery",
		Summary: "TERM is a warm shutdown; QUIT is a cold shutdown that restores unacknowledged messages; " +
			"a 2nd TERM kills running tasks on 5.2, so TERM is never sent twice; with worker_soft_shutdown_timeout " +
			"(5.5+) set --fast-stop to it plus 3s",
		Rungs: []Rung{drain(unix.SIGTERM), then(unix.SIGQUIT, fastCelery), kill()},
		Source: "celery docs 'Workers Guide: Stopping the worker'; celery/apps/worker.py install_worker_term_handler, " +
			"on_cold_shutdown @v5.6.3",
		Tested: "Celery 5.2.6 (Debian 12), Celery 5.6.3 (kombu 5.6.2, billiard 4.2.4); each also renamed by setproctitle 1.3",
		FastStopNote: "Celery 5.5+ with worker_soft_shutdown_timeout set: after QUIT the worker first waits that long " +
			"for running tasks, then restores their messages (about 2 s more); set --fast-stop to " +
			"worker_soft_shutdown_timeout plus 3s",
	},
	"dramatiq": {
		Name:    "dramatiq",
		Summary: "TERM lets worker processes finish in-flight messages; a 2nd TERM makes them exit at once",
		Rungs:   []Rung{drain(unix.SIGTERM), then(unix.SIGTERM, fastQuick), kill()},
		Source:  "dramatiq docs 'Signals'; dramatiq/cli.py main sighandler, worker_process termhandler @v2.2.0",
		// A worker process notices the TERM within a second (cli.py
		// worker_process polls `running` each second) before its timeout
		// starts; after it, it joins its consumers, closes the broker and
		// exits, and the main process notices (its join polls each
		// second): 3 s. Measured with a 60 s message in flight and a 2 s
		// timeout: exit 3.96 s after TERM.
		Timeout: &WorkerTimeout{Setting: "--worker-shutdown-timeout", Options: []string{"--worker-shutdown-timeout"},
			Unit: time.Millisecond, Integer: true, Default: 600 * time.Second, After: 3 * time.Second, Bounds: BoundDrain},
		Tested: "Dramatiq 2.2.0 (Redis broker, redis-py 4.3), with and without -g",
	},
	"gunicorn": {
		Name: "gunicorn",
		Summary: "TERM is graceful up to graceful_timeout (30s), after which gunicorn kills its workers; QUIT is " +
			"a quick shutdown (2s on 25.0 and later)",
		Rungs:  []Rung{drain(unix.SIGTERM), then(unix.SIGQUIT, fastGunicorn), kill()},
		Source: "gunicorn docs 'Signal Handling: Master process'; gunicorn/arbiter.py handle_term, handle_quit, stop @26.1.0",
		Timeout: &WorkerTimeout{Setting: "--graceful-timeout", Options: []string{"--graceful-timeout"}, Env: "GUNICORN_CMD_ARGS",
			Unit: time.Second, Integer: true, Default: 30 * time.Second, After: time.Second, Bounds: BoundDrain,
			Elsewhere: "graceful_timeout in gunicorn.conf.py"},
		Tested: "Gunicorn 20.1.0 (Debian 12), Gunicorn 26.1.0; each also renamed by setproctitle 1.3",
	},
	"uvicorn": {
		Name: "uvicorn",
		Summary: "TERM or INT stop accepting and wait for connections; a 2nd INT forces the exit (sent to the " +
			"process group, which reaches --workers' processes)",
		// With --workers N the parent stops reading signals after the
		// first TERM (supervisors/multiprocess.py run: terminate_all,
		// join_all), so "stop now" must reach each worker process itself.
		Rungs:  []Rung{drain(unix.SIGTERM), {Signal: unix.SIGINT, Wait: fastQuick, To: ToGroup}, kill()},
		Source: "uvicorn docs 'Server behavior: graceful shutdown'; uvicorn/server.py handle_exit, supervisors/multiprocess.py @0.51.0",
		// Uvicorn takes every option from UVICORN_* too (click's
		// auto_envvar_prefix in uvicorn/main.py).
		Timeout: &WorkerTimeout{Setting: "--timeout-graceful-shutdown", Options: []string{"--timeout-graceful-shutdown"},
			Var: "UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN", Unit: time.Second, Integer: true, After: time.Second, Bounds: BoundDrain},
		Tested: "Uvicorn 0.17.6 (Debian 12), Uvicorn 0.51.0; each with one process and with --workers 2",
	},
	"arq": {
		Name:    "arq",
		Summary: "TERM cancels running jobs, which arq re-runs later; graceful only with job_completion_wait",
		Rungs:   []Rung{drain(unix.SIGTERM), kill()},
		Source:  "arq docs 'Worker: health checks and shutdown'; arq/worker.py handle_sig, handle_sig_wait_for_completion @v0.26.1",
		Timeout: &WorkerTimeout{Setting: "job_completion_wait", Unit: time.Second, Integer: true, NoneWaits: true,
			After: time.Second, Bounds: BoundDrain, Elsewhere: "WorkerSettings.job_completion_wait in Python"},
		Tested: "arq 0.26.1 (redis-py 4.3)",
	},
	"sidekiq": {
		Name: "sidekiq",
		Summary: "TSTP quiets (stop fetching), TERM stops within -t (25s) and pushes unfinished jobs back; TSTP first " +
			"only where the grace leaves room for -t after TERM",
		Rungs:   []Rung{quiet(unix.SIGTSTP), then(unix.SIGTERM, sidekiqTimeout.Default+sidekiqTimeout.After), kill()},
		Source:  "sidekiq wiki 'Signals', 'Deployment'; lib/sidekiq/launcher.rb stop, manager.rb hard_shutdown @v6.4.1",
		Timeout: &sidekiqTimeout,
		Tested:  "Sidekiq 6.4.1 (Debian 12, Ruby 3.1)",
	},
	"resque": {
		Name: "resque",
		Summary: "QUIT finishes the current job, then exits; INT kills the job's child at once and records the job " +
			"failed, or with TERM_CHILD first sends the job TERM and waits RESQUE_TERM_TIMEOUT (4s); TERM is INT " +
			"unless GRACEFUL_TERM makes it QUIT",
		Rungs:   []Rung{drain(unix.SIGQUIT), then(unix.SIGINT, fastSlow), kill()},
		Source:  "resque README 'Signals'; lib/resque/worker.rb register_signal_handlers, shutdown, shutdown! @v3.0.0",
		Timeout: &resqueTimeout,
		FastStopNote: "with TERM_CHILD and RESQUE_PRE_SHUTDOWN_TIMEOUT set, Resque waits that long too after INT " +
			"before the job's TERM: set --fast-stop to the two timeouts plus 2s",
		Tested: "Resque 3.0.0 (Ruby 3.1, redis-rb 4.8), started by rake and by a shell's -c string, with and without TERM_CHILD",
	},
	"nginx": {
		Name:    "nginx",
		Summary: "QUIT closes listeners and finishes in-flight requests; TERM is a fast shutdown",
		Rungs:   []Rung{drain(unix.SIGQUIT), then(unix.SIGTERM, fastSlow), kill()},
		Source:  "nginx docs 'Controlling nginx'; src/os/unix/ngx_process_cycle.c ngx_master_process_cycle @1.22.1",
		Tested:  "nginx 1.22.1 (Debian 12), run directly and by an entrypoint script",
	},
	"postgres": {
		Name:    "postgres",
		Summary: "INT is a fast shutdown (abort transactions, checkpoint); QUIT is immediate (recovery on start)",
		Rungs:   []Rung{drain(unix.SIGINT), then(unix.SIGQUIT, fastSlow), kill()},
		Source:  "PostgreSQL docs 'Shutting Down the Server' (server-shutdown.html)",
		Tested:  "PostgreSQL 15 (Debian 12), under --user postgres",
	},
	"php-fpm": {
		Name:    "php-fpm",
		Summary: "QUIT lets children finish their request for process_control_timeout (0 by default: no time); TERM terminates",
		Rungs:   []Rung{drain(unix.SIGQUIT), then(unix.SIGTERM, fastSlow), kill()},
		Source:  "php-fpm man page 'SIGNALS'; sapi/fpm/fpm/fpm_signals.c, fpm_process_ctl.c fpm_pctl_action_next",
		Timeout: &WorkerTimeout{Setting: "process_control_timeout", Unit: time.Second, Integer: true, Suffix: "s",
			NoneWaits: true, After: time.Second, Bounds: BoundDrain, Elsewhere: "php-fpm.conf's [global] section"},
		Tested: "PHP-FPM 8.2 (Debian 12), run directly and by an entrypoint script",
	},
}

// Lookup returns the preset called name.
func Lookup(name string) (Preset, bool) {
	p, ok := presets[name]
	return p, ok
}

// Names lists the presets' names in order, auto first.
func Names() []string {
	out := make([]string, 0, len(presets)+1)
	for n := range presets {
		out = append(out, n)
	}
	sort.Strings(out)
	return append([]string{"auto"}, out...)
}
