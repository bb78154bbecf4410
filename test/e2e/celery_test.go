package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// celeryTool runs testdata/celery/celerytool.py against the broker.
func celeryTool(t *testing.T, url string, args ...string) string {
	t.Helper()
	dir, _ := filepath.Abs("testdata/celery")
	cmd := exec.Command(python, append([]string{filepath.Join(dir, "celerytool.py")}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "BROKER_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("celerytool %v: %v\n%s", args, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// A real Celery worker (Debian's 5.2) under supervise: auto picks the
// celery preset; SIGTERM becomes a warm shutdown and the running task
// finishes with its result stored. A short drain escalates with QUIT
// (cold shutdown), never a second TERM, which on 5.2 kills the task.
func TestCeleryWarmShutdown(t *testing.T) {
	if exec.Command(python, "-c", "import celery").Run() != nil {
		t.Skip("SKIP: python3-celery not installed (apt-get install python3-celery)")
	}
	url := redisServer(t)
	dir, _ := filepath.Abs("testdata/celery")
	// Debian's python3-celery ships no celery script: run the module.
	worker := []string{python, "-m", "celery", "--workdir", dir, "-A", "tasks", "worker", "--loglevel", "INFO", "-c", "1", "--without-heartbeat", "--without-mingle", "--without-gossip"}
	env := []string{"BROKER_URL=" + url, "PYTHONPATH=" + dir}

	id := celeryTool(t, url, "send", "4")
	p := start(t, options{env: env}, append([]string{"--listen", "off", "--grace-period", "30s", "--"}, worker...)...)
	p.waitFor(`stop protocol.*preset=celery reason="auto: python module celery with argument worker"`, 10*time.Second)
	p.waitFor(`Task tasks.slow\[`+id+`\] received`, 30*time.Second)
	p.waitFor(`slow started 4`, 30*time.Second) // the stop comes while the task runs
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	p.waitFor(`outcome=graceful`, time.Second)
	if got := celeryTool(t, url, "result", id); got != "SUCCESS 'done_4.0'" {
		t.Errorf("task after the stop: %s, want SUCCESS 'done 4.0'", got)
	}

	id = celeryTool(t, url, "send", "60")
	p = start(t, options{env: env}, append([]string{"--listen", "off", "--preset", "celery", "--drain-timeout", "2s", "--grace-period", "10s", "--"}, worker...)...)
	p.waitFor(`slow started 60`, 30*time.Second)
	sent := p.signal(syscall.SIGTERM)
	l := p.waitFor(`stop rung: escalating.*rung=2/3 signal=QUIT`, 5*time.Second)
	within(t, "QUIT rung", l.at.Sub(sent), 2*time.Second, tolerance)
	p.exit(15 * time.Second)
	if n := p.count(`stop rung.*signal=TERM`); n != 1 {
		t.Errorf("TERM sent %d times, want exactly once", n)
	}
}
