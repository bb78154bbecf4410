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

// arqEnv is an arq 0.26.1 application (testdata/arq) on Debian's
// redis-py 4.3 (arq 0.26 asks for redis-py 4.2 to 5).
type arqEnv struct {
	t   *testing.T
	env []string
}

func newArq(t *testing.T, completionWait string) *arqEnv {
	t.Helper()
	src := testenv.Arq(t)
	needPython(t, "redis.asyncio", "python3-redis")
	app, _ := filepath.Abs("testdata/arq")
	return &arqEnv{t: t, env: []string{"REDIS_URL=" + redisServer(t), pythonPath(src, app), "JOB_COMPLETION_WAIT=" + completionWait}}
}

// argv is the arq command (pip's console script) for the settings class.
func (a *arqEnv) argv() []string {
	return []string{consoleScript(a.t, "arq", "arq.cli", "cli"), "tasks.WorkerSettings"}
}

func (a *arqEnv) tool(args ...string) []string {
	a.t.Helper()
	cmd := exec.Command(python, append([]string{"testdata/arq/arqtool.py"}, args...)...)
	cmd.Env = append(os.Environ(), a.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		a.t.Fatalf("arqtool %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func (a *arqEnv) send(seconds string) string { return a.tool("send", seconds)[0] }

func (a *arqEnv) where(job string) string {
	return strings.Join(strings.Fields(a.tool("where", job)[0])[1:], " ")
}

// arq 0.26.1 under supervise as PID 1 at Docker's 10 s grace. arq's TERM
// cancels running jobs at once (to run them again later) unless its
// WorkerSettings.job_completion_wait, which supervise cannot read, gives
// them time; supervise names the value to set, and the tests set it so.
func TestArq(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "arq", grace)
	arq, _ := ladder.Lookup("arq")
	advised := fmt.Sprint(int((drain - arq.Timeout.After) / time.Second))
	t.Run("drain kept", func(t *testing.T) {
		a := newArq(t, advised)
		job := a.send("3")
		p := start(t, options{env: a.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, a.argv()...)...)
		p.waitFor(`msg="arq's job_completion_wait .* set job_completion_wait = `+advised+` or less"`, 5*time.Second)
		p.waitFor(`slow started 3 id=`+job, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
		noPresetChange(t, p, "arq")
		p.waitFor(`slow done 3 id=`+job, 5*time.Second)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if got := a.where(job); got != "done" {
			t.Errorf("job after the stop: %s, want done", got)
		}
		t.Logf("arq exited %s after the stop", end.at.Sub(sent).Round(time.Millisecond))
	})
	// A job longer than job_completion_wait: arq cancels it when the wait
	// runs out, keeps it in its queue to run again (its try counted), and
	// exits before supervise's KILL.
	t.Run("cut", func(t *testing.T) {
		a := newArq(t, advised)
		job := a.send("60")
		p := start(t, options{env: a.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, a.argv()...)...)
		p.waitFor(`slow started 60 id=`+job, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		rec := p.waitFor(`cancelled, will be run again`, drain+2*time.Second)
		code := p.exit(grace)
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if code != 0 || p.count(`signal=KILL`) != 0 {
			t.Errorf("exit %d, %d KILL: want arq to end by itself", code, p.count(`signal=KILL`))
		}
		if got := a.where(job); !strings.HasPrefix(got, "queued tries=1 in-progress=0") {
			t.Errorf("job after the cut: %s, want it queued to run again", got)
		}
		t.Logf("arq ended %s after the stop; %s; job %s", end.at.Sub(sent).Round(time.Millisecond), strings.TrimSpace(rec.text), a.where(job))
	})
}
