package detect

import (
	"regexp"
	"sync"
)

// title is the process title a worker gives itself once it runs: it
// writes it over its argv, so /proc/PID/cmdline no longer shows the
// command it was started with.
type title struct {
	preset string
	// pattern matches the title, from its start; compiled when first
	// needed (most command lines are no title).
	pattern string
	// shown is the title's shape, for Recognised.
	shown string
	// source says which code sets it.
	source string
}

// titles are the titles of the programs supervise has presets for, as
// the tested releases set them. A title is written over argv[0] (the
// rest of the argv area is padded with NULs or spaces), so it is matched
// against the first argument only.
var titles = []title{
	// ngx_setproctitle: "nginx: master process " + the original argv
	// (src/os/unix/ngx_process_cycle.c ngx_master_process_cycle), always
	// on Linux.
	{"nginx", `^nginx: (master|worker|single) process\b`, `"nginx: master process ..."`,
		"nginx src/os/unix/ngx_process_cycle.c ngx_master_process_cycle"},
	// fpm_env_init_main: "php-fpm: master process (CONFIG)", always.
	{"php-fpm", `^php-fpm: (master process|pool) `, `"php-fpm: master process (...)"`,
		"php-src sapi/fpm/fpm/fpm_env.c fpm_env_init_main"},
	// Sidekiq's launcher sets $0 at every heartbeat: "sidekiq 6.4.1 TAG
	// [0 of 5 busy]", with "stopping" once quiet (lib/sidekiq/launcher.rb
	// PROCTITLES).
	{"sidekiq", `^sidekiq \d+\.\d+(\.\d+)?[^ ]* .*\[\d+ of \d+ busy\]`, `"sidekiq X.Y.Z TAG [N of M busy]"`,
		"sidekiq lib/sidekiq/launcher.rb PROCTITLES"},
	// Resque's worker: "resque: Starting", then procline's
	// "resque-3.0.0: Waiting for QUEUES" (lib/resque/worker.rb startup,
	// procline). RESQUE_PROCLINE_PREFIX may come first.
	{"resque", `^\S*resque(-\d+\.\d+[^:\s]*)?: `, `"resque-X.Y.Z: ..."`,
		"resque lib/resque/worker.rb startup, procline"},
	// With setproctitle importable, Celery's worker main process is
	// "[celeryd: NAME:MainProcess] -active- (ARGS)" (celery/platforms.py
	// set_mp_process_title).
	{"celery", `^\[celeryd: `, `"[celeryd: ...]"`, "celery/platforms.py set_mp_process_title"},
	// RQ's setprocname: "rq:worker:NAME: Listening on ..." in 2.x
	// (rq/worker/base.py), "rq: Listening on ..." in 1.x (rq/worker.py).
	{"rq", `^rq:(worker:| )`, `"rq:worker:NAME: ..."`, "rq/worker/base.py setprocname"},
	// gunicorn's _setproctitle: "gunicorn: master [APP]" (gunicorn/util.py,
	// arbiter.py).
	{"gunicorn", `^gunicorn: master \[`, `"gunicorn: master [...]"`, "gunicorn/util.py _setproctitle"},
}

var titlePatterns = sync.OnceValue(func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(titles))
	for i, t := range titles {
		out[i] = regexp.MustCompile(t.pattern)
	}
	return out
})

// Title recognises a worker by the process title it gave itself, which
// /proc/PID/cmdline shows in place of the command it was started with.
// It returns false for a command line that is no known title.
func Title(argv []string) (Detection, bool) {
	if len(argv) == 0 {
		return Detection{}, false
	}
	for i, re := range titlePatterns() {
		if re.MatchString(argv[0]) {
			return Detection{Preset: titles[i].preset, Reason: "process title " + titles[i].shown}, true
		}
	}
	return Detection{}, false
}

// Titles lists the shapes of the process titles Title maps to preset.
func Titles(preset string) []string {
	var out []string
	for _, t := range titles {
		if t.preset == preset {
			out = append(out, t.shown)
		}
	}
	return out
}
