//go:build dist

package release

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// docker runs the docker command; it fails the test when it fails.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "", nil, "docker", args...))
}

// poll calls cond until it holds or timeout passes, then fails the test
// saying what it waited for. The timeouts are generous: the conditions are
// a worker starting and a job starting on a loaded machine.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", timeout, what)
		}
	}
}

// stopRQ runs a real RQ worker from image, whose entrypoint is supervise
// followed by "--", with Redis from the same image on a network of its
// own, and proves the stop users rely on: supervise is PID 1, a job is
// running when `docker stop` sends TERM, the job still finishes, the
// container exits 0 and supervise's stop report says graceful. image must
// hold examples/compose/rq/jobs.py in /app.
func stopRQ(t *testing.T, image string) {
	t.Helper()
	name := fmt.Sprintf("supervise-release-%08x", rand.Uint32())
	docker(t, "network", "create", name)
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", name+"-worker", name+"-redis").Run()
		exec.Command("docker", "network", "rm", name).Run()
	})
	docker(t, "run", "-d", "--name", name+"-redis", "--network", name, "--entrypoint", "redis-server", image,
		"--protected-mode", "no", "--save", "")
	docker(t, "run", "-d", "--name", name+"-worker", "--network", name, image,
		"rq", "worker", "--url", "redis://"+name+"-redis:6379/0", "--path", "/app", "default")
	redis := func(args ...string) string {
		out, _ := exec.Command("docker", append([]string{"exec", name + "-redis", "redis-cli"}, args...)...).Output()
		return strings.TrimSpace(string(out))
	}
	poll(t, 90*time.Second, "the worker registered in Redis", func() bool { return redis("scard", "rq:workers") == "1" })
	if pid1 := docker(t, "exec", name+"-worker", "cat", "/proc/1/cmdline"); !strings.Contains(pid1, "supervise") {
		t.Fatalf("PID 1 is %q, not supervise", pid1)
	}
	id := docker(t, "exec", name+"-worker", "python3", "-c", `import sys; sys.path.insert(0, "/app")
from redis import Redis
from rq import Queue
import jobs
print(Queue(connection=Redis("`+name+`-redis")).enqueue(jobs.slow, 4).id)`)
	poll(t, 60*time.Second, "job "+id+" started", func() bool { return redis("hget", "rq:job:"+id, "status") == "started" })
	start := time.Now()
	docker(t, "stop", "-t", "60", name+"-worker")
	took := time.Since(start)
	code := docker(t, "inspect", "-f", "{{.State.ExitCode}}", name+"-worker")
	status := redis("hget", "rq:job:"+id, "status")
	logs := run(t, "", nil, "sh", "-c", `docker logs "$0" 2>&1`, name+"-worker")
	if code != "0" || status != "finished" || !strings.Contains(logs, `msg="stop report" outcome=graceful`) {
		t.Fatalf("after docker stop: exit %s, job %s, want 0 and finished and a graceful stop report; logs:\n%s", code, status, logs)
	}
	t.Logf("%s: a real RQ worker under supervise (PID 1) stopped mid-job by docker stop in %s: the job finished, exit 0, graceful",
		image, took.Round(10*time.Millisecond))
}
