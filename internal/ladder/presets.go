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
}

// Ladder returns a copy of the preset's ladder, timed, its drain wait
// still to be planned (Plan sizes it).
func (p Preset) Ladder() Ladder {
	steps := make([]Step, len(p.Steps))
	copy(steps, p.Steps)
	return Ladder{Steps: steps, Timed: true}
}

// Signals counts the rungs before KILL.
func (p Preset) Signals() int {
	if len(p.Steps) == 0 {
		return 0
	}
	return len(p.Steps) - 1
}

func drain(s unix.Signal) Step                 { return Step{Signal: s, Drain: true} }
func then(s unix.Signal, w time.Duration) Step { return Step{Signal: s, Wait: w} }
func kill() Step                               { return Step{Signal: unix.SIGKILL} }

// Fast-stop waits, measured on Debian 12 with the worker under supervise:
// time from the "stop now" signal, sent during a drain with tasks running,
// to the worker's exit. Huey 3.3.0 second INT: 0.08 s (threads), 0.16 s
// (processes). RQ 1.13 second TERM: 0.14 s. Celery 5.2.6 QUIT: 1.69-1.82 s
// (the prefork pool's cold shutdown). Workers not measured here get 2 s
// when their own documented fast stop involves a timer of about 1.5 s.
const (
	fastQuick = MinSpacing
	fastSlow  = 2 * time.Second
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
	},
	"rq": {
		Name: "rq",
		Summary: "TERM is a warm shutdown (current job finishes); a 2nd TERM is a cold shutdown that kills the " +
			"work-horse; the horse leaves the worker's group, so KILL goes to the whole tree",
		Steps:  []Step{drain(unix.SIGTERM), then(unix.SIGTERM, fastQuick), kill()},
		Source: "rq docs 'Workers: Taking down workers'; rq/worker.py request_stop/request_force_stop @v1.13.0",
	},
	"celery": {
		Name: "celery",
		Summary: "TERM is a warm shutdown; QUIT is a cold shutdown; a 2nd TERM kills running tasks on 5.2, " +
			"so TERM is never sent twice",
		Steps:  []Step{drain(unix.SIGTERM), then(unix.SIGQUIT, fastSlow), kill()},
		Source: "celery docs 'Workers Guide: Stopping the worker'; celery/apps/worker.py install_worker_term_handler",
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
