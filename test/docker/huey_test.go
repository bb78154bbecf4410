//go:build docker

package docker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// hueyStack is one running compose project of the Huey example.
type hueyStack struct {
	*stack
	api string // http://127.0.0.1:PORT
}

// upHuey builds and starts examples/compose/huey with Huey copied into
// the image from the vendored source (no package index is reachable).
func upHuey(t *testing.T, grace string, replicas int) *hueyStack {
	t.Helper()
	testenv.RequireDocker(t)
	cmd := compose(t)
	src := testenv.Huey(t)
	testenv.EnsureBaseImage(t)
	dir := exampleDir(t, "huey")
	run(t, "", nil, false, "cp", "-r", filepath.Join(src, "huey"), filepath.Join(dir, "pylib", "huey"))
	port := freePort(t)
	s := &hueyStack{stack: &stack{
		t: t, dir: dir, cmd: cmd,
		project: fmt.Sprintf("supervise-e2e-huey-%d", os.Getpid()),
		env: []string{
			"GRACE_PERIOD=" + grace, "BASE_IMAGE=" + baseImage, "INSTALL=true", "SUPERVISE_IMAGE=" + superviseImage(t),
			fmt.Sprintf("API_PORT=%d", port), fmt.Sprintf("WORKER_REPLICAS=%d", replicas),
			"HUEY_WORKERS=2", "SHM_SIZE=64m",
		},
	}, api: fmt.Sprintf("http://127.0.0.1:%d", port)}
	// The example checks health every 30 s; the test needs no such wait.
	os.WriteFile(filepath.Join(dir, "compose.test.yaml"), []byte("services:\n  worker:\n    healthcheck:\n      interval: 2s\n      start_period: 2s\n"), 0o644)
	start := s.up(replicas)
	s.status(30 * time.Second)
	t.Logf("huey stack up with %d healthy workers in %s", replicas, time.Since(start).Round(100*time.Millisecond))
	return s
}

// status asks the example's API what is queued and what has a result.
func (s *hueyStack) status(wait time.Duration) (pending, results int) {
	s.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get(s.api + "/status")
		if err == nil {
			var st struct{ Pending, Results int }
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil {
				return st.Pending, st.Results
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the API does not answer /status: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compute enqueues one task through the API.
func (s *hueyStack) compute(seconds int) {
	s.t.Helper()
	resp, err := http.Post(fmt.Sprintf("%s/compute?seconds=%d", s.api, seconds), "text/plain", nil)
	if err != nil || resp.StatusCode != 202 {
		s.t.Fatalf("enqueue: %v %v", err, resp)
	}
	resp.Body.Close()
}

// waitExecuting waits until the workers' logs show n tasks executing.
func (s *hueyStack) waitExecuting(n int) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(s.compose(true, "logs", "--no-color", "worker"), "Executing tasks.compute") < n {
		if time.Now().After(deadline) {
			s.t.Fatalf("fewer than %d tasks started", n)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// docker compose stop in the middle of tasks, at Docker's default grace
// of 10s: tasks with less than the 7.5 s drain left finish, longer ones
// are cut by the second INT before Docker's SIGKILL and queued again by
// the example's SIGNAL_INTERRUPTED handler, and nothing vanishes.
func TestHueyComposeStopMidTask(t *testing.T) {
	s := upHuey(t, "10s", 2)
	for i := 0; i < 2; i++ {
		s.compute(60) // cannot finish in the grace period
	}
	for i := 0; i < 6; i++ {
		s.compute(4)
	}
	s.waitExecuting(4)
	start := time.Now()
	s.compose(false, "stop", "worker")
	took := time.Since(start)
	logs := s.compose(true, "logs", "--no-color", "worker")
	pending, results := s.status(10 * time.Second)
	t.Logf("docker compose stop (grace 10s) took %s; %d tasks with a result, %d queued", took.Round(100*time.Millisecond), results, pending)
	if took > 10*time.Second {
		t.Errorf("the stop took %s: Docker's SIGKILL came before supervise finished", took)
	}
	for _, id := range s.workers() {
		code := strings.TrimSpace(run(t, "", nil, false, "docker", "inspect", "--format", "{{.State.ExitCode}}", id))
		if code != "0" {
			t.Errorf("worker %s exited %s, want 0 (Huey exits 0 after a drain or a fast stop)", id, code)
		}
	}
	if n := strings.Count(logs, "child stopped"); n != 2 {
		t.Errorf("%d workers reported their stop, want 2", n)
	}
	if !strings.Contains(logs, "outcome=escalated") || !strings.Contains(logs, "interrupted by the stop: queued again") {
		t.Errorf("the 60 s tasks were not cut and requeued:\n%s", logs)
	}
	if results+pending != 8 || results < 2 {
		t.Errorf("%d results + %d queued, want 8 tasks accounted for and the running short ones finished", results, pending)
	}
}
