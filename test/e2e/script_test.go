package e2e

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A real RQ worker started as `python3 -m worker` (the application's own
// module, found on PYTHONPATH): auto reads worker.py, finds "import rq",
// and a stop is RQ's warm shutdown: the running job finishes.
func TestAutoDetectsRQWorkerModule(t *testing.T) {
	url := redisServer(t)
	dir, _ := filepath.Abs("testdata/rq")
	id := rqTool(t, url, "enqueue", "3")[0]
	p := start(t, options{env: []string{"PYTHONPATH=" + dir}},
		"--listen", "off", "--grace-period", "30s", "--", python, "-m", "worker", url)
	p.waitFor(`stop protocol.*preset=rq reason="auto: worker.py imports rq"`, 10*time.Second)
	waitStarted(t, url, id)
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop requested.*preset=rq reason="auto: worker.py imports rq"`, 2*time.Second)
	p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if s := rqState(t, url, id); s.status != "finished" {
		t.Errorf("job after the stop: %+v, want finished", s)
	}
	p.waitFor(`child stopped.*outcome=graceful`, time.Second)
}

// A real Huey consumer started from the application's own script, which
// imports a local module that imports huey: auto follows the import, and
// a stop is Huey's INT drain, never TERM.
func TestAutoDetectsHueyScript(t *testing.T) {
	h := newHueyApp(t)
	h.enqueue("scripted", "3")
	script, _ := filepath.Abs("testdata/huey/run_consumer.py")
	p := start(t, options{env: h.env}, "--listen", "off", "--grace-period", "10s", "--", python, script)
	p.waitFor(`preset=huey reason="auto: run_consumer.py imports app.py, which imports huey"`, 10*time.Second)
	p.waitFor(`^started scripted`, 20*time.Second)
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop rung: draining.*signal=INT`, 2*time.Second)
	p.waitFor(`^finished scripted`, 5*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	p.waitFor(`child stopped.*outcome=graceful`, time.Second)
}
