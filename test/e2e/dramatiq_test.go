package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/test/testenv"
)

// dramatiqEnv is a Dramatiq 2.2.0 application (testdata/dramatiq) with a
// Redis broker (Debian's redis-py 4.3, which Dramatiq accepts).
type dramatiqEnv struct {
	t   *testing.T
	env []string
}

func newDramatiq(t *testing.T) *dramatiqEnv {
	t.Helper()
	src := testenv.Dramatiq(t)
	needPython(t, "redis", "python3-redis")
	app, _ := filepath.Abs("testdata/dramatiq")
	return &dramatiqEnv{t: t, env: []string{"REDIS_URL=" + redisServer(t), pythonPath(src, app)}}
}

// argv is the dramatiq command (pip's console script) with one worker
// process of two threads.
func (d *dramatiqEnv) argv(opts ...string) []string {
	return append([]string{consoleScript(d.t, "dramatiq", "dramatiq.cli", "main"), "tasks", "--processes", "1", "--threads", "2"}, opts...)
}

// tool runs testdata/dramatiq/dramatiqtool.py.
func (d *dramatiqEnv) tool(args ...string) []string {
	d.t.Helper()
	cmd := exec.Command(python, append([]string{"testdata/dramatiq/dramatiqtool.py"}, args...)...)
	cmd.Env = append(os.Environ(), d.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("dramatiqtool %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func (d *dramatiqEnv) send(seconds string) string { return d.tool("send", seconds)[0] }

func (d *dramatiqEnv) where(job string) string {
	return strings.Fields(d.tool("where", job)[0])[1]
}

// Dramatiq 2.2.0 under supervise as PID 1 at Docker's 10 s grace. TERM
// to the main process is passed on once to each worker process, which
// lets its running messages finish for --worker-shutdown-timeout (600000
// ms by default, which supervise says cannot fit, naming the value in
// milliseconds that does; the tests set it so).
func TestDramatiq(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "dramatiq", grace)
	dq, _ := ladder.Lookup("dramatiq")
	advised := fmt.Sprint(int64((drain - dq.Timeout.After) / time.Millisecond))
	// With -g (tini's "signal the process group"), each worker process
	// would get the group's TERM and the main process's forwarded one,
	// and a second TERM is Dramatiq's "exit now": the preset's rungs go to
	// the main process only, whatever -g says, and the message finishes.
	t.Run("drain kept, -g", func(t *testing.T) {
		d := newDramatiq(t)
		job := d.send("3")
		p := start(t, options{env: d.env}, append([]string{"--listen", "off", "-g", "--grace-period", grace.String(), "--"},
			d.argv("--worker-shutdown-timeout", advised)...)...)
		p.waitFor(`slow started 3 id=`+job, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
		noPresetChange(t, p, "dramatiq")
		p.waitFor(`slow done 3 id=`+job, 5*time.Second)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if n := p.count(`Killing worker process`); n != 0 {
			t.Errorf("a worker process was told to exit at once: it got TERM twice")
		}
		if got := d.where(job); got != "done" {
			t.Errorf("job after the stop: %s, want done", got)
		}
		t.Logf("Dramatiq exited %s after the stop", end.at.Sub(sent).Round(time.Millisecond))
	})
	// A message longer than --worker-shutdown-timeout: Dramatiq stops
	// waiting for it (a second after the TERM: the worker process polls
	// for it each second), and exits before supervise's second TERM; the
	// message stays unacknowledged in Redis (dramatiq's __acks__ set of
	// the worker), where another worker takes it back once this one's
	// heartbeat expires.
	t.Run("cut", func(t *testing.T) {
		d := newDramatiq(t)
		job := d.send("60")
		p := start(t, options{env: d.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"},
			d.argv("--worker-shutdown-timeout", advised)...)...)
		p.waitFor(`slow started 60 id=`+job, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		code := p.exit(grace)
		end := p.waitFor(`child stopped`, time.Second)
		if end.at.Sub(sent) >= drain || p.count(`stop rung: escalating`) != 0 {
			t.Errorf("Dramatiq ended %s after the stop (status %d); want it to stop waiting by itself at %s ms, before the drain's end %s",
				end.at.Sub(sent), code, advised, drain)
		}
		if got := d.where(job); got != "unacked" {
			t.Errorf("job after the cut: %s, want it unacknowledged", got)
		}
		t.Logf("Dramatiq ended %s after the stop, status %d; the message: %s", end.at.Sub(sent).Round(time.Millisecond), code, d.where(job))
	})
	// At Dramatiq's default timeout the preset's second TERM at the
	// deadline is its "exit now": the worker process exits at once.
	t.Run("second TERM at the deadline", func(t *testing.T) {
		d := newDramatiq(t)
		job := d.send("60")
		p := start(t, options{env: d.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, d.argv()...)...)
		p.waitFor(`level=WARN msg="dramatiq's --worker-shutdown-timeout 10m0s \(its default\).*set --worker-shutdown-timeout `+advised+` or less`, 5*time.Second)
		p.waitFor(`slow started 60 id=`+job, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		cut := p.waitFor(`stop rung: escalating.*signal=TERM.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "second TERM", cut.at.Sub(sent), drain, tolerance)
		code := p.exit(grace)
		end := p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		p.waitFor(`Killing worker process`, 0)
		if got := d.where(job); got != "unacked" {
			t.Errorf("job after the cut: %s, want it unacknowledged", got)
		}
		t.Logf("second TERM to exit %s, status %d", end.at.Sub(cut.at).Round(time.Millisecond), code)
	})
}
