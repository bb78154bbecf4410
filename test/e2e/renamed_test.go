package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/test/testenv"
)

// RQ with setproctitle importable, as many images have it: the worker
// retitles itself ("rq:worker:NAME: ..." on 2.x, "rq: ..." on 1.x), so at
// the stop /proc/PID/cmdline shows no command auto knows. The stop still
// gets the rq preset: a job past the drain gets RQ's cold shutdown (the
// second TERM), not generic's KILL, and stays accounted for in RQ's
// registries.
func TestRQRenamed(t *testing.T) {
	eachRQ(t, func(t *testing.T, r *rqEnv) {
		r.pythonPath += ":" + testenv.Setproctitle(t)
		b := ladder.Budget{Grace: 8 * time.Second}
		l := planned(t, "rq", b)
		drain := l.Rungs[l.DrainIndex()].Wait
		id := r.enqueue("60")[0]
		p := start(t, options{env: r.env()}, append([]string{"--listen", "off", "--grace-period", b.Grace.String(), "--"}, r.worker()...)...)
		r.waitStarted(id)
		waitTitle(t, "rq:", 10*time.Second)
		sent := p.signal(syscall.SIGTERM)
		noPresetChange(t, p, "rq")
		cut := p.waitFor(`stop rung: escalating.*rung=2/3 signal=TERM.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "second TERM", cut.at.Sub(sent), drain, tolerance)
		if code := p.exit(b.Grace + 5*time.Second); code != 0 {
			t.Errorf("exit status %d, want 0 (RQ's cold shutdown)", code)
		}
		if s := r.state(id); s.status == "finished" || s.where == "nowhere" {
			t.Errorf("job after the cut: %+v, want it unfinished in a registry", s)
		}
	})
}

// Celery with setproctitle importable: the worker is "[celeryd: ...]" at
// the stop. The stop still gets the celery preset: a task past the drain
// gets QUIT, Celery restores its message to the queue and exits by
// itself (generic would KILL it with the message unacknowledged for
// kombu's visibility timeout, an hour).
func TestCeleryRenamed(t *testing.T) {
	eachCelery(t, func(t *testing.T, c *celeryEnv) {
		for i, e := range c.env {
			if strings.HasPrefix(e, "PYTHONPATH=") {
				c.env[i] += ":" + testenv.Setproctitle(t)
			}
		}
		b := ladder.Budget{Grace: 10 * time.Second}
		l := planned(t, "celery", b)
		drain := l.Rungs[l.DrainIndex()].Wait
		id := c.send("60")[0]
		p := c.start("60", nil, "--grace-period", b.Grace.String())
		waitTitle(t, "[celeryd: ", 10*time.Second)
		sent := p.signal(syscall.SIGTERM)
		noPresetChange(t, p, "celery")
		quit := p.waitFor(`stop rung: escalating.*rung=2/3 signal=QUIT.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "QUIT rung", quit.at.Sub(sent), drain, tolerance)
		code := p.exit(b.Grace + 5*time.Second)
		if code == 128+int(syscall.SIGKILL) || p.count(`signal=KILL`) != 0 {
			t.Errorf("exit %d: the worker did not end by itself after QUIT", code)
		}
		if got := c.where(id); got.place != "queued" {
			t.Errorf("task after the cut: %+v, want its message back in the queue", got)
		}
	})
}
