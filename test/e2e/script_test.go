package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A real RQ worker started as `python3 -m worker` (the application's own
// module, found on PYTHONPATH): auto reads worker.py, finds "import rq",
// and a stop is RQ's warm shutdown: the running job finishes.
func TestAutoDetectsRQWorkerModule(t *testing.T) {
	eachRQ(t, testAutoDetectsRQWorkerModule)
}

func testAutoDetectsRQWorkerModule(t *testing.T, r *rqEnv) {
	id := r.enqueue("3")[0]
	p := start(t, options{env: r.env()},
		"--listen", "off", "--grace-period", "30s", "--", python, "-m", "worker", r.url)
	p.waitFor(`stop protocol.*preset=rq reason="auto: worker.py imports rq"`, 10*time.Second)
	r.waitStarted(id)
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop requested.*preset=rq reason="auto: worker.py imports rq"`, 2*time.Second)
	p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if s := r.state(id); s.status != "finished" {
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

// post sends an empty POST to a producer's port and returns the body.
func post(t *testing.T, port int, path string) string {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "text/plain", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
	return string(b)
}

// A web API that imports huey (through its tasks module) to enqueue tasks
// is a producer, not a worker: auto picks generic and says why, so a stop
// passes TERM on as it came and the server ends by it, not by Huey's INT
// (which made the API print a KeyboardInterrupt and exit 130).
func TestAutoProducerHueyAPI(t *testing.T) {
	h := newHueyApp(t)
	script, _ := filepath.Abs("testdata/huey/api.py")
	port := freePort(t)
	p := start(t, options{env: h.env}, "--listen", "off", "--grace-period", "10s", "--", python, script, fmt.Sprint(port))
	l := p.waitFor(`stop protocol.*preset=generic reason="auto: api.py imports app.py, which imports huey, but starts no Huey consumer`, 10*time.Second)
	t.Logf("start-up line: %s", l.text)
	p.waitFor(`^api listening`, 10*time.Second)
	post(t, port, "/from-api")
	if pending := h.tool("pending"); pending != "from-api" {
		t.Errorf("queued %q, want the task the API enqueued", pending)
	}
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop requested.*preset=generic`, 2*time.Second)
	if code := p.exit(10 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d: the API ended by the TERM it was passed", code, 128+int(syscall.SIGTERM))
	}
	if strings.Contains(p.output(), "KeyboardInterrupt") {
		t.Errorf("the API got INT, as a Huey worker would:\n%s", p.output())
	}
}

// A web app that imports rq for its Queue is a producer too; the real RQ
// worker script beside it (TestAutoDetectsRQWorkerModule) still gets rq.
func TestAutoProducerRQWeb(t *testing.T) {
	r := debianRQ(t, redisServer(t))
	port := freePort(t)
	p := start(t, options{env: r.env()}, "--listen", "off", "--", python, "-m", "web", r.url, fmt.Sprint(port))
	l := p.waitFor(`stop protocol.*preset=generic reason="auto: web.py imports rq, but starts no RQ worker`, 10*time.Second)
	t.Logf("start-up line: %s", l.text)
	p.waitFor(`^web listening`, 10*time.Second)
	id := post(t, port, "/")
	if s := r.state(id); s.status != "queued" {
		t.Errorf("job %s: %+v, want queued", id, s)
	}
	p.signal(syscall.SIGTERM)
	if code := p.exit(10 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}
