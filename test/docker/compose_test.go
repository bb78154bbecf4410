//go:build docker

package docker

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// baseImage is the cached Debian image with python3-rq and redis-server.
const baseImage = testenv.BaseImage

// run runs a command and returns its combined output; it fails the test
// on error unless allowFail.
func run(t *testing.T, dir string, env []string, allowFail bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// compose returns the compose command: the plugin, else docker-compose.
func compose(t *testing.T) []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	t.Skip("SKIP: neither docker compose nor docker-compose is installed")
	return nil
}

// exampleDir copies examples/compose/NAME to a temporary folder, and makes
// sure the supervise image its Dockerfile copies the binary from exists.
func exampleDir(t *testing.T, name string) string {
	t.Helper()
	superviseImage(t)
	root, _ := filepath.Abs("../..")
	dir := t.TempDir()
	run(t, "", nil, false, "cp", "-rT", filepath.Join(root, "examples/compose", name), dir)
	return dir
}

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  string
)

// superviseImage builds the release binary for this machine and the
// scratch image from it, as make image does, once per test run; it
// returns the image's version tag.
func superviseImage(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() {
		root, _ := filepath.Abs("../..")
		dist, err := os.MkdirTemp("", "supervise-dist-")
		if err != nil {
			imageErr = err.Error()
			return
		}
		defer os.RemoveAll(dist)
		rel := exec.Command("scripts/release", dist)
		rel.Dir, rel.Env = root, append(os.Environ(), "TARGETS=amd64:amd64:")
		if out, err := rel.CombinedOutput(); err != nil {
			imageErr = fmt.Sprintf("scripts/release: %v\n%s", err, out)
			return
		}
		img := exec.Command("scripts/image", dist)
		img.Dir = root
		out, err := img.Output()
		if err != nil {
			imageErr = fmt.Sprintf("scripts/image: %v\n%s", err, out)
			return
		}
		imageTag = strings.Fields(string(out))[0]
	})
	if imageErr != "" {
		t.Fatal(imageErr)
	}
	return imageTag
}

// stack is one running compose project of the RQ example.
type stack struct {
	t       *testing.T
	dir     string
	project string
	env     []string
	cmd     []string
	redis   string // redis URL from the host
	// files are the compose files, in order; compose.yaml and
	// compose.test.yaml when empty.
	files []string
}

// upRQ builds and starts the RQ example with grace period grace.
func upRQ(t *testing.T, grace string) *stack {
	t.Helper()
	testenv.RequireDocker(t)
	cmd := compose(t)
	testenv.EnsureBaseImage(t)
	dir := exampleDir(t, "rq")
	port := freePort(t)
	override := fmt.Sprintf(`services:
  redis:
    image: %s
    ports: ["127.0.0.1:%d:6379"]
`, baseImage, port)
	os.WriteFile(filepath.Join(dir, "compose.test.yaml"), []byte(override), 0o644)
	s := &stack{
		t: t, dir: dir, cmd: cmd,
		project: fmt.Sprintf("supervise-e2e-%d", os.Getpid()),
		env: []string{
			"GRACE_PERIOD=" + grace, "WORKERS=3", "WORKER_BASE_IMAGE=" + baseImage, "SUPERVISE_IMAGE=" + superviseImage(t),
			"WORKER_INSTALL=true", "REDIS_IMAGE=" + baseImage,
		},
		redis: fmt.Sprintf("redis://127.0.0.1:%d", port),
	}
	start := s.up(3)
	t.Logf("stack up with 3 healthy workers in %s", time.Since(start).Round(100*time.Millisecond))
	return s
}

// up builds and starts the stack and waits for n healthy workers. The
// containers are removed when the test ends, whatever happened; the
// workers' logs are shown when it failed.
func (s *stack) up(n int) time.Time {
	s.t.Helper()
	s.t.Cleanup(func() {
		if s.t.Failed() {
			s.t.Logf("worker logs:\n%s", s.compose(true, "logs", "--no-color", "worker"))
		}
		s.compose(true, "down", "-v", "--remove-orphans", "-t", "1")
	})
	start := time.Now()
	s.compose(false, "up", "-d", "--build")
	s.waitHealthy(n, 90*time.Second)
	return start
}

func (s *stack) compose(allowFail bool, args ...string) string {
	s.t.Helper()
	files := s.files
	if len(files) == 0 {
		files = []string{"compose.yaml", "compose.test.yaml"}
	}
	full := append(append([]string{}, s.cmd[1:]...), "-p", s.project)
	for _, f := range files {
		full = append(full, "-f", f)
	}
	full = append(full, args...)
	return run(s.t, s.dir, s.env, allowFail, s.cmd[0], full...)
}

// workers lists the worker containers' ids.
func (s *stack) workers() []string {
	out := run(s.t, "", nil, false, "docker", "ps", "-a", "-q", "--filter", "label=com.docker.compose.project="+s.project,
		"--filter", "label=com.docker.compose.service=worker")
	return strings.Fields(out)
}

// waitHealthy waits until n workers report healthy through supervise check.
func (s *stack) waitHealthy(n int, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		healthy := 0
		ids := s.workers()
		for _, id := range ids {
			st := strings.TrimSpace(run(s.t, "", nil, true, "docker", "inspect", "--format", "{{.State.Health.Status}}", id))
			if st == "healthy" {
				healthy++
			}
		}
		if healthy >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%d of %d workers healthy after %s (%d containers)", healthy, n, timeout, len(ids))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// rq runs the test's rqtool against the stack's Redis.
func (s *stack) rq(args ...string) []string {
	s.t.Helper()
	root, _ := filepath.Abs("../..")
	tool := filepath.Join(root, "test/e2e/testdata/rq")
	cmd := exec.Command("/usr/bin/python3", append([]string{filepath.Join(tool, "rqtool.py"), s.redis}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+tool)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("rqtool %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// states returns job id -> "status registries".
func (s *stack) states(ids []string) map[string][2]string {
	out := map[string][2]string{}
	for _, l := range s.rq(append([]string{"state"}, ids...)...) {
		f := strings.Fields(l)
		if len(f) >= 3 {
			out[f[0]] = [2]string{f[1], f[2]}
		}
	}
	return out
}

// waitRunning waits until n jobs are started, and returns them.
func (s *stack) waitRunning(ids []string, n int) []string {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var running []string
		for id, st := range s.states(ids) {
			if st[0] == "started" {
				running = append(running, id)
			}
		}
		if len(running) >= n {
			return running
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("only %d jobs running", len(running))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// enqueue30 enqueues 30 jobs of min to min+5 seconds.
func (s *stack) enqueue30(min int) []string {
	var secs []string
	for i := 0; i < 30; i++ {
		secs = append(secs, fmt.Sprint(min+i%6))
	}
	return s.rq(append([]string{"enqueue"}, secs...)...)
}

// account checks that every job is somewhere: finished, queued, or in
// the started/failed registries; it returns the counts by status.
func (s *stack) account(ids []string) map[string]int {
	s.t.Helper()
	counts := map[string]int{}
	for _, id := range ids {
		st, ok := s.states(ids)[id]
		switch {
		case !ok || st[0] == "missing" || st[1] == "nowhere":
			s.t.Errorf("job %s vanished: %v", id, st)
			counts["vanished"]++
		default:
			counts[st[0]]++
		}
	}
	return counts
}

// stopReports checks that each worker container's supervise finished its
// stop and reported it: a container Docker had to SIGKILL would have no
// report. (Exit status 137 cannot tell: supervise's own KILL rung ends a
// worker with 137 too, which supervise passes on.)
func (s *stack) stopReports() string {
	s.t.Helper()
	var all strings.Builder
	for _, id := range s.workers() {
		logs := run(s.t, "", nil, true, "docker", "logs", id)
		if !strings.Contains(logs, `msg="stop report"`) {
			s.t.Errorf("worker %s has no stop report: Docker's SIGKILL came first", id)
		}
		all.WriteString(logs)
	}
	return all.String()
}

// docker compose stop with the default stop signal: every job that was
// running finishes, all 30 jobs are accounted for, and the stop took as
// long as the longest running job, far inside the 30 s grace.
func TestRQComposeStopLosesNothing(t *testing.T) {
	s := upRQ(t, "30s")
	ids := s.enqueue30(3)
	running := s.waitRunning(ids, 3)
	start := time.Now()
	s.compose(false, "stop", "worker")
	took := time.Since(start)
	states := s.states(ids)
	for _, id := range running {
		if st := states[id]; st[0] != "finished" {
			t.Errorf("job %s was running at the stop and ended %v", id, st)
		}
	}
	counts := s.account(ids)
	t.Logf("docker compose stop took %s; jobs: %v", took.Round(100*time.Millisecond), counts)
	if total := counts["finished"] + counts["queued"] + counts["started"] + counts["failed"]; total != 30 {
		t.Errorf("accounted for %d of 30 jobs: %v", total, counts)
	}
	if took > 12*time.Second {
		t.Errorf("the stop took %s: the jobs last 3-8 s, so the drains should end by about 8 s", took)
	}
	if logs := s.stopReports(); strings.Count(logs, "outcome=graceful") < 3 {
		t.Errorf("want 3 graceful stops in the worker logs:\n%s", logs)
	}
}

// A grace period shorter than the jobs: supervise escalates before
// Docker's SIGKILL (its report says so, and the stop ends inside the
// grace) and still no job vanishes.
func TestRQShortGraceEscalatesBeforeDocker(t *testing.T) {
	s := upRQ(t, "4s")
	ids := s.enqueue30(8) // every job outlasts the 4s grace period
	s.waitRunning(ids, 3)
	start := time.Now()
	s.compose(false, "stop", "worker")
	took := time.Since(start)
	logs := s.stopReports()
	if strings.Count(logs, "stop rung: escalating") < 3 || strings.Count(logs, "child stopped") < 3 {
		t.Errorf("want each of 3 workers to escalate and report its stop:\n%s", logs)
	}
	if took >= 4*time.Second {
		t.Errorf("the stop took %s, not inside the 4 s grace", took)
	}
	counts := s.account(ids)
	t.Logf("docker compose stop (grace 4s) took %s; jobs: %v", took.Round(100*time.Millisecond), counts)
	if bytes.Contains([]byte(logs), []byte("panic")) {
		t.Error("a panic in the logs")
	}
}

// A Redis outage is a readiness matter, never a liveness one: with Redis
// stopped under the stack, the workers' Docker healthcheck (supervise
// check, liveness) stays healthy, and only readiness reports the broken
// dependency, naming it.
func TestRQRedisOutageOnlyReadiness(t *testing.T) {
	s := upRQ(t, "30s")
	s.compose(false, "stop", "-t", "1", "redis")
	ids := s.workers()
	// Three failed healthchecks, 2 s apart, would turn a worker unhealthy.
	deadline := time.Now().Add(12 * time.Second)
	var ready string
	for time.Now().Before(deadline) {
		for _, id := range ids {
			st := strings.TrimSpace(run(t, "", nil, true, "docker", "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", id))
			if st != "running healthy" {
				t.Fatalf("worker %s is %q during the Redis outage, want running healthy", id, st)
			}
		}
		time.Sleep(time.Second)
	}
	out, err := exec.Command("docker", "exec", ids[0], "/usr/local/bin/supervise", "check", "--ready").CombinedOutput()
	ready = string(out)
	if err == nil || !strings.Contains(ready, "[-]tcp:redis:6379 failed") {
		t.Errorf("readiness during the outage: %v\n%s", err, ready)
	}
	if err := exec.Command("docker", "exec", ids[0], "/usr/local/bin/supervise", "check").Run(); err != nil {
		t.Errorf("liveness during the outage: %v", err)
	}
	t.Logf("12 s of Redis outage: %d workers stayed healthy; readiness said:\n%s", len(ids), ready)
}
