package ladder

import (
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Preset is a worker's stop protocol. Steps is its ladder with the drain
// wait left at zero for Plan to size; every other wait is the least the
// worker needs for that rung (for a fast-stop rung: how long it takes to
// act on "stop now", never under MinSpacing). A preset without steps
// (none) plainly forwards stop signals, as tini does.
type Preset struct {
	Name    string
	Summary string
	Steps   []Step
	// Source cites where the worker's stop semantics are documented.
	Source string
	// FastStopNote, when set, says when the worker's own "stop now" takes
	// longer than the preset's wait, and what --fast-stop to set then.
	FastStopNote string
	// Tested names the releases whose stop this preset was run against
	// end to end (the worker under supervise as PID 1); empty when none
	// was.
	Tested string
}

// Ladder returns a copy of the preset's ladder, timed, its drain wait
// still to be planned (Plan sizes it).
func (p Preset) Ladder() Ladder {
	steps := make([]Step, len(p.Steps))
	copy(steps, p.Steps)
	return Ladder{Steps: steps, Timed: true}
}

func drain(s unix.Signal) Step                 { return Step{Signal: s, Drain: true} }
func then(s unix.Signal, w time.Duration) Step { return Step{Signal: s, Wait: w} }
func kill() Step                               { return Step{Signal: unix.SIGKILL} }

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
// Supervisor.body). Celery gets 3 s: KILL at 2 s cut 5.6's restore. Workers
// not measured here get 2 s when their own documented fast stop involves a
// timer of about 1.5 s.
const (
	fastQuick  = MinSpacing
	fastSlow   = 2 * time.Second
	fastCelery = 3 * time.Second
)

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
	},
	Generic: {
		Name: Generic,
		Summary: "any other program: the stop signal as received, then KILL before the grace period ends; " +
			"without a grace period, plain forwarding as tini does",
		Steps:  []Step{drain(AsReceived), kill()},
		Source: "docker stop and the kubelet: the stop signal, then SIGKILL when the grace period ends",
	},
	"huey": {
		Name: "huey",
		Summary: "INT drains running tasks; TERM is ignored during an INT drain and a 2nd INT stops at once; " +
			"TERM first would abort tasks",
		Steps:  []Step{drain(unix.SIGINT), then(unix.SIGINT, fastQuick), kill()},
		Source: "huey docs, consumer 'Signal handling'; huey/consumer.py Consumer._set_signal_handlers, stop, loop @3.3.0",
		Tested: "Huey 3.3.0 (thread and process workers)",
	},
	"rq": {
		Name: "rq",
		Summary: "TERM is a warm shutdown (current job finishes); a 2nd TERM is a cold shutdown that kills the " +
			"work-horse; the horse leaves the worker's group, so KILL goes to the whole tree",
		Steps: []Step{drain(unix.SIGTERM), then(unix.SIGTERM, fastQuick), kill()},
		Source: "rq docs 'Workers: Taking down workers'; rq/worker.py request_stop/request_force_stop @v1.13.0; " +
			"rq/worker/base.py request_stop/request_force_stop @v2.10.0",
		Tested: "RQ 1.13 with redis-py 4.3 (Debian 12), RQ 2.10.0 with redis-py 7.4.1",
	},
	"celery": {
		Name: "celery",
		Summary: "TERM is a warm shutdown; QUIT is a cold shutdown that restores unacknowledged messages; " +
			"a 2nd TERM kills running tasks on 5.2, so TERM is never sent twice; with worker_soft_shutdown_timeout " +
			"(5.5+) set --fast-stop to it plus 3s",
		Steps: []Step{drain(unix.SIGTERM), then(unix.SIGQUIT, fastCelery), kill()},
		Source: "celery docs 'Workers Guide: Stopping the worker'; celery/apps/worker.py install_worker_term_handler, " +
			"on_cold_shutdown @v5.6.3",
		Tested: "Celery 5.2.6 (Debian 12), Celery 5.6.3 (kombu 5.6.2, billiard 4.2.4)",
		FastStopNote: "Celery 5.5+ with worker_soft_shutdown_timeout set: after QUIT the worker first waits that long " +
			"for running tasks, then restores their messages (about 2 s more); set --fast-stop to " +
			"worker_soft_shutdown_timeout plus 3s",
	},
	"dramatiq": {
		Name:    "dramatiq",
		Summary: "TERM lets worker processes finish in-flight messages; a 2nd TERM makes them exit at once",
		Steps:   []Step{drain(unix.SIGTERM), then(unix.SIGTERM, fastQuick), kill()},
		Source:  "dramatiq docs 'Signals'; dramatiq/cli.py main_process termhandler @v2.2.0",
	},
	"gunicorn": {
		Name:    "gunicorn",
		Summary: "TERM is graceful up to graceful_timeout (30s); QUIT is a quick shutdown",
		Steps:   []Step{drain(unix.SIGTERM), then(unix.SIGQUIT, fastSlow), kill()},
		Source:  "gunicorn docs 'Signal Handling: Master process'; gunicorn/arbiter.py handle_term/handle_quit",
	},
	"uvicorn": {
		Name:    "uvicorn",
		Summary: "TERM or INT stop accepting and wait for connections; a 2nd INT forces the exit",
		Steps:   []Step{drain(unix.SIGTERM), then(unix.SIGINT, fastQuick), kill()},
		Source:  "uvicorn docs 'Server behavior: graceful shutdown'; uvicorn/server.py handle_exit @0.35.0",
	},
	"arq": {
		Name:    "arq",
		Summary: "TERM cancels running jobs, which arq re-runs later (graceful only with job_completion_wait)",
		Steps:   []Step{drain(unix.SIGTERM), kill()},
		Source:  "arq docs 'Worker: health checks and shutdown'; arq/worker.py handle_sig",
	},
	"sidekiq": {
		Name:    "sidekiq",
		Summary: "TSTP quiets (stop fetching), TERM stops within -t (25s) and pushes unfinished jobs back",
		Steps:   []Step{then(unix.SIGTSTP, MinSpacing), drain(unix.SIGTERM), kill()},
		Source:  "sidekiq wiki 'Signals'",
	},
	"nginx": {
		Name:    "nginx",
		Summary: "QUIT closes listeners and finishes in-flight requests; TERM is a fast shutdown",
		Steps:   []Step{drain(unix.SIGQUIT), then(unix.SIGTERM, fastSlow), kill()},
		Source:  "nginx docs 'Controlling nginx'",
	},
	"postgres": {
		Name:    "postgres",
		Summary: "INT is a fast shutdown (abort transactions, checkpoint); QUIT is immediate (recovery on start)",
		Steps:   []Step{drain(unix.SIGINT), then(unix.SIGQUIT, fastSlow), kill()},
		Source:  "PostgreSQL docs 'Shutting Down the Server' (server-shutdown.html)",
	},
	"php-fpm": {
		Name:    "php-fpm",
		Summary: "QUIT lets children finish their request (set process_control_timeout); TERM terminates",
		Steps:   []Step{drain(unix.SIGQUIT), then(unix.SIGTERM, fastSlow), kill()},
		Source:  "php-fpm man page 'SIGNALS'; sapi/fpm/fpm/fpm_signals.c",
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
