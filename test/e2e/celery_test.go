package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/test/testenv"
)

// celeryEnv is one Celery release against one Redis (broker and result
// backend): what the Celery tests need to run a worker of that release
// and to send tasks and find them afterwards.
type celeryEnv struct {
	t   *testing.T
	rel testenv.Release
	url string
	// env is the environment of the worker and of celerytool.
	env []string
}

// celeryReleases lists the Celery releases the tests run on, Debian's first.
func celeryReleases() []testenv.Release {
	rels := testenv.CeleryReleases()
	if exec.Command(python, "-c", "import celery").Run() != nil {
		rels[0].Missing = "python3-celery not installed (apt-get install python3-celery)"
	}
	return rels
}

// eachCelery runs f as a subtest for each Celery release, each against
// its own Redis; a release that cannot run here says SKIP with the reason.
func eachCelery(t *testing.T, f func(t *testing.T, c *celeryEnv)) {
	for _, rel := range celeryReleases() {
		t.Run(rel.Name, func(t *testing.T) {
			rel.Skip(t)
			f(t, newCelery(t, rel, redisServer(t)))
		})
	}
}

func newCelery(t *testing.T, rel testenv.Release, url string) *celeryEnv {
	dir, _ := filepath.Abs("testdata/celery")
	path := strings.Join(append(append([]string{}, rel.Path...), dir), ":")
	return &celeryEnv{t: t, rel: rel, url: url, env: []string{"BROKER_URL=" + url, "PYTHONPATH=" + path}}
}

// worker is the argv of a real Celery worker with a prefork pool of two.
// Debian's python3-celery ships no celery script: run the module.
func (c *celeryEnv) worker() []string {
	dir, _ := filepath.Abs("testdata/celery")
	return []string{python, "-m", "celery", "--workdir", dir, "-A", "tasks", "worker", "--loglevel", "INFO", "-c", "2",
		"--without-heartbeat", "--without-mingle", "--without-gossip"}
}

// tool runs testdata/celery/celerytool.py and returns its output lines.
func (c *celeryEnv) tool(args ...string) []string {
	c.t.Helper()
	dir, _ := filepath.Abs("testdata/celery")
	cmd := exec.Command(python, append([]string{filepath.Join(dir, "celerytool.py")}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("celerytool %v (%s): %v\n%s", args, c.rel.Version, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// send queues one slow task per duration (seconds) and returns the ids.
func (c *celeryEnv) send(seconds ...string) []string {
	return c.tool(append([]string{"send"}, seconds...)...)
}

// taskPlace is one line of celerytool's where report.
type taskPlace struct{ id, place, state, result string }

// where reports where task id is: queued, unacked, done or nowhere.
func (c *celeryEnv) where(id string) taskPlace {
	c.t.Helper()
	f := strings.Fields(c.tool("where", id)[0])
	return taskPlace{f[0], f[1], f[2], f[3]}
}

// start runs supervise as PID 1 over a worker of this release, with
// extra environment and supervise's options, and waits until the task
// called seconds runs.
func (c *celeryEnv) start(seconds string, env []string, args ...string) *proc {
	c.t.Helper()
	p := start(c.t, options{env: append(append([]string{}, c.env...), env...)},
		append(append([]string{"--listen", "off"}, args...), append([]string{"--"}, c.worker()...)...)...)
	p.waitFor(`slow started `+seconds+`\.0`, 30*time.Second) // the stop comes while the task runs
	return p
}

// On each Celery release, a real worker under supervise: auto picks the
// celery preset; SIGTERM becomes a warm shutdown and the running task
// finishes with its result stored, TERM sent once. The worker exits about
// 2 s after its last task ends (its pool's shutdown: 1.9 s on 5.2.6, 2.2 s
// on 5.6.3 on an idle machine, near 3 s beside other work), hence a 30 s
// grace for a 3 s task; TestCeleryCutRestoresTask holds Docker's 10 s.
func TestCeleryWarmShutdown(t *testing.T) {
	eachCelery(t, func(t *testing.T, c *celeryEnv) {
		id := c.send("3")[0]
		p := c.start("3", nil, "--grace-period", "30s")
		p.waitFor(`stop protocol.*preset=celery reason="auto: python module celery with argument worker"`, time.Second)
		p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
		if code := p.exit(35 * time.Second); code != 0 {
			t.Errorf("exit status %d", code)
		}
		p.waitFor(`outcome=graceful`, time.Second)
		if got := c.where(id); got.place != "done" || got.state != "SUCCESS" || got.result != "'done_3.0'" {
			t.Errorf("task after the stop: %+v, want SUCCESS 'done 3.0'", got)
		}
	})
}

// A task longer than the drain at Docker's 10 s grace: the preset's QUIT
// (cold shutdown, never a second TERM, which on 5.2 kills the task) comes
// at the planned drain deadline, and the worker restores the task's
// message to the queue and exits by itself before supervise's KILL: the
// planned fast stop is long enough for each release.
func TestCeleryCutRestoresTask(t *testing.T) {
	eachCelery(t, func(t *testing.T, c *celeryEnv) {
		b := ladder.Budget{Grace: 10 * time.Second}
		l := planned(t, "celery", b)
		drain := l.Rungs[l.DrainIndex()].Wait
		id := c.send("60")[0]
		p := c.start("60", nil, "--grace-period", b.Grace.String())
		sent := p.signal(syscall.SIGTERM)
		quit := p.waitFor(`stop rung: escalating.*rung=2/3 signal=QUIT.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "QUIT rung", quit.at.Sub(sent), drain, tolerance)
		code := p.exit(b.Grace + 5*time.Second)
		end := p.waitFor(`child stopped`, time.Second)
		if !strings.Contains(end.text, "outcome=escalated") || code == 128+int(syscall.SIGKILL) {
			t.Errorf("the worker did not exit by itself after QUIT (exit %d): %s", code, end.text)
		}
		t.Logf("%s: QUIT to exit %s (fast stop planned %s), exit status %d", c.rel.Version,
			end.at.Sub(quit.at).Round(time.Millisecond), l.Rungs[l.DrainIndex()+1].Wait, code)
		if n := p.count(`stop rung.*signal=TERM`); n != 1 {
			t.Errorf("TERM sent %d times, want exactly once", n)
		}
		if got := c.where(id); got.place != "queued" {
			t.Errorf("task after the cut: %+v, want its message back in the queue", got)
		}
	})
}

// Celery 5.5+'s soft shutdown (worker_soft_shutdown_timeout = 4): after
// QUIT the worker waits that long for running tasks before it restores
// their messages. With --fast-stop 7s (the soft timeout plus the preset's
// 3 s) at a 10 s grace, the plan keeps the drain at 2 s, QUIT comes then,
// and the cut task is back in the queue with no KILL. Without it, the
// preset's 3 s wait sends KILL in the middle of the soft shutdown: exit
// 137, and the task is left unacknowledged in Redis, where it waits for
// kombu's visibility timeout (an hour) before it runs again; the test
// holds that too, since the README says it.
func TestCelerySoftShutdown(t *testing.T) {
	rel := celeryReleases()[1]
	rel.Skip(t)
	soft := []string{"CELERY_SOFT_SHUTDOWN=4"}
	t.Run("with --fast-stop", func(t *testing.T) {
		c := newCelery(t, rel, redisServer(t))
		b := ladder.Budget{Grace: 10 * time.Second, FastStop: 7 * time.Second}
		l := planned(t, "celery", b)
		id := c.send("60")[0]
		p := c.start("60", soft, "--grace-period", b.Grace.String(), "--fast-stop", b.FastStop.String())
		p.waitFor(`stop protocol.*ladder=`+regexp.QuoteMeta(l.String())+` `, time.Second)
		sent := p.signal(syscall.SIGTERM)
		drain := l.Rungs[l.DrainIndex()].Wait
		quit := p.waitFor(`stop rung: escalating.*rung=2/3 signal=QUIT`, drain+5*time.Second)
		within(t, "QUIT rung", quit.at.Sub(sent), drain, tolerance)
		p.waitFor(`Initiating Soft Shutdown`, 2*time.Second)
		if code := p.exit(b.Grace + 5*time.Second); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		if k := l.KillAt(b); end.at.Sub(sent) >= k || p.count(`signal=KILL`) != 0 {
			t.Errorf("the worker ended %s after the stop; want it before supervise's KILL at %s, with no KILL", end.at.Sub(sent), k)
		}
		if got := c.where(id); got.place != "queued" {
			t.Errorf("task after the soft shutdown: %+v, want its message back in the queue", got)
		}
		t.Logf("QUIT to exit %s with a 4 s soft shutdown", end.at.Sub(quit.at).Round(time.Millisecond))
	})
	t.Run("without --fast-stop", func(t *testing.T) {
		c := newCelery(t, rel, redisServer(t))
		id := c.send("60")[0]
		p := c.start("60", soft, "--grace-period", "10s")
		p.signal(syscall.SIGTERM)
		p.waitFor(`Initiating Soft Shutdown`, 10*time.Second)
		p.waitFor(`stop rung: KILL`, 5*time.Second)
		if code := p.exit(10 * time.Second); code != 128+int(syscall.SIGKILL) {
			t.Errorf("exit status %d, want 137: KILL during the soft shutdown", code)
		}
		if got := c.where(id); got.place != "unacked" {
			t.Errorf("task: %+v, want it left unacknowledged", got)
		}
	})
}

// With -g (tini's "signal the process group") the preset's TERM still
// goes to the worker's main process only: the prefork pool's children
// reset TERM to its default action, and a group TERM would kill the
// running task (WorkerLostError).
func TestCeleryGroupFlag(t *testing.T) {
	rel := celeryReleases()[0]
	rel.Skip(t)
	c := newCelery(t, rel, redisServer(t))
	id := c.send("3")[0]
	p := c.start("3", nil, "-g", "--grace-period", "30s")
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
	if code := p.exit(35 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if got := c.where(id); got.place != "done" || got.state != "SUCCESS" {
		t.Errorf("task after a stop under -g: %+v, want SUCCESS", got)
	}
}
