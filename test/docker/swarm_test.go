//go:build docker && swarm

package docker

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// swarmStack is examples/swarm/rq-stack.yaml deployed on a one-node swarm.
type swarmStack struct {
	*stack
	name, worker string
}

// requireSwarm makes the engine a swarm manager if it is not one, and
// leaves the swarm again when the test ends.
func requireSwarm(t *testing.T) {
	t.Helper()
	testenv.RequireDocker(t)
	state := strings.TrimSpace(run(t, "", nil, true, "docker", "info", "--format", "{{.Swarm.LocalNodeState}}"))
	if state == "active" {
		return
	}
	run(t, "", nil, false, "docker", "swarm", "init", "--advertise-addr", "127.0.0.1")
	t.Cleanup(func() { run(t, "", nil, true, "docker", "swarm", "leave", "--force") })
}

// deploySwarm builds the RQ worker image locally and deploys the stack
// with the grace period given to both Swarm and supervise.
func deploySwarm(t *testing.T, name, grace string) *swarmStack {
	t.Helper()
	requireSwarm(t)
	testenv.EnsureBaseImage(t)
	dir := exampleDir(t, "rq")
	image := "supervise-swarm-rq-worker:test"
	run(t, dir, nil, false, "docker", "build", "-q", "-t", image, "--build-arg", "BASE_IMAGE="+baseImage, "--build-arg", "INSTALL=true",
		"--build-arg", "SUPERVISE_IMAGE="+superviseImage(t), ".")
	root, _ := filepath.Abs("../..")
	port := freePort(t)
	s := &swarmStack{stack: &stack{t: t, redis: fmt.Sprintf("redis://127.0.0.1:%d", port)}, name: name, worker: name + "_worker"}
	env := []string{"GRACE_PERIOD=" + grace, "WORKERS=4", "WORKER_IMAGE=" + image, "REDIS_IMAGE=" + baseImage, fmt.Sprintf("REDIS_PORT=%d", port)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker logs:\n%s", tail(run(t, "", nil, true, "docker", "service", "logs", "--raw", s.worker), 80))
		}
		run(t, "", nil, true, "docker", "stack", "rm", name)
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if strings.TrimSpace(run(t, "", nil, true, "docker", "ps", "-aq", "--filter", "label=com.docker.stack.namespace="+name)) == "" {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		run(t, "", nil, true, "docker", "network", "rm", name+"_default")
	})
	// Service virtual IPs need the kernel's IPVS, which machines like the
	// test machine lack ("No route to host"); DNS round robin reaches the
	// one Redis task directly.
	override := filepath.Join(t.TempDir(), "dnsrr.yaml")
	os.WriteFile(override, []byte("version: \"3.8\"\nservices:\n  redis:\n    deploy:\n      endpoint_mode: dnsrr\n"), 0o644)
	start := time.Now()
	// Swarm cannot resolve a digest for a local image; it warns and runs it.
	run(t, "", env, false, "docker", "stack", "deploy", "--resolve-image", "never",
		"-c", filepath.Join(root, "examples/swarm/rq-stack.yaml"), "-c", override, name)
	s.waitTasks(4, 120*time.Second)
	t.Logf("stack %s: 4 worker tasks running in %s", name, time.Since(start).Round(100*time.Millisecond))
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command("redis-cli", "-p", fmt.Sprint(port), "ping").CombinedOutput()
		if err == nil && strings.Contains(string(out), "PONG") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis on port %d does not answer: %s", port, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitTasks waits until n worker tasks run.
func (s *swarmStack) waitTasks(n int, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := run(s.t, "", nil, true, "docker", "service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", s.worker)
		if strings.Count(out, "Running") >= n {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("fewer than %d worker tasks running after %s:\n%s", n, timeout, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// taskExits lists the exit codes of the worker tasks that have ended.
func (s *swarmStack) taskExits() []string {
	ids := strings.Fields(run(s.t, "", nil, false, "docker", "service", "ps", "-q", "--filter", "desired-state=shutdown", s.worker))
	var out []string
	for _, id := range ids {
		code := strings.TrimSpace(run(s.t, "", nil, true, "docker", "inspect", "--format", "{{.Status.ContainerStatus.ExitCode}}", id))
		out = append(out, code)
		if code != "0" {
			// What the task said last: the worker's own reason to exit so.
			c := strings.TrimSpace(run(s.t, "", nil, true, "docker", "inspect", "--format", "{{.Status.ContainerStatus.ContainerID}}", id))
			s.t.Logf("task %s exited %s; its last lines:\n%s", id, code, run(s.t, "", nil, true, "docker", "logs", "--tail", "12", c))
		}
	}
	return out
}

// rollingRestart forces a rolling update and waits for it to complete.
func (s *swarmStack) rollingRestart() time.Duration {
	s.t.Helper()
	start := time.Now()
	run(s.t, "", nil, false, "docker", "service", "update", "--detach", "--force", s.worker)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st := strings.TrimSpace(run(s.t, "", nil, true, "docker", "service", "inspect", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", s.worker))
		if st == "completed" {
			return time.Since(start)
		}
		if st == "paused" || st == "rollback_completed" || time.Now().After(deadline) {
			s.t.Fatalf("rolling update ended %q", st)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// followLogs follows the logs of every running worker container until it
// ends; the function it returns waits for them and returns them joined.
// Swarm deletes the containers of a scale-down with their logs, so they
// are read while the containers still exist.
func (s *swarmStack) followLogs() func() string {
	ids := strings.Fields(run(s.t, "", nil, true, "docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+s.worker))
	outs := make([]chan string, len(ids))
	for i, id := range ids {
		outs[i] = make(chan string, 1)
		go func(id string, out chan<- string) {
			b, _ := exec.Command("docker", "logs", "-f", id).CombinedOutput()
			out <- string(b)
		}(id, outs[i])
	}
	return func() string {
		var all strings.Builder
		for _, out := range outs {
			select {
			case l := <-out:
				all.WriteString(l)
			case <-time.After(30 * time.Second):
			}
		}
		return all.String()
	}
}

// scaleTo scales the workers and waits until only n run.
func (s *swarmStack) scaleTo(n int) time.Duration {
	s.t.Helper()
	start := time.Now()
	run(s.t, "", nil, false, "docker", "service", "scale", "--detach", fmt.Sprintf("%s=%d", s.worker, n))
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out := run(s.t, "", nil, true, "docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+s.worker)
		if len(strings.Fields(out)) <= n {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("still %d worker containers", len(strings.Fields(out)))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitSettled waits until no job runs and none waits in the queue: the
// worker left after a scale-down works through what the others gave back,
// so "none running" at one moment is only the gap between two of its
// jobs. A job a stop lost stays started (or vanishes) and never settles.
func (s *swarmStack) waitSettled(ids []string, timeout time.Duration) map[string]int {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		counts := map[string]int{}
		for _, st := range s.states(ids) {
			counts[st[0]]++
		}
		if counts["started"] == 0 && counts["queued"] == 0 || time.Now().After(deadline) {
			return counts
		}
		time.Sleep(time.Second)
	}
}

// A rolling restart and a scale-down of 4 RQ workers while 60 jobs of
// 2-8 s run, with a 15 s grace: every job ends finished or back in the
// queue, no task is killed by Swarm's SIGKILL, and every replaced task's
// supervise reports its stop. Then jobs longer than a 6 s grace: each
// escalation lands before Swarm's SIGKILL, and every cut job is in RQ's
// registries.
func TestSwarmRollingUpdateLosesNoJob(t *testing.T) {
	s := deploySwarm(t, fmt.Sprintf("sv%d", os.Getpid()%100000), "15s")
	var secs []string
	for i := 0; i < 60; i++ {
		secs = append(secs, fmt.Sprint(2+i%7))
	}
	ids := s.rq(append([]string{"enqueue"}, secs...)...)
	s.waitRunning(ids, 4)
	rolled := s.rollingRestart()
	s.waitRunning(ids, 1)
	scaleLogs := s.followLogs()
	scaled := s.scaleTo(1)
	removed := scaleLogs()
	counts := s.waitSettled(ids, 3*time.Minute)
	all := s.account(ids)
	t.Logf("round 1 (grace 15s, jobs 2-8 s): rolling restart of 4 tasks %s, scale 4 -> 1 %s; jobs at the end: %v",
		rolled.Round(100*time.Millisecond), scaled.Round(100*time.Millisecond), all)
	if counts["failed"] > 0 || counts["started"] > 0 || all["finished"] != 60 {
		t.Errorf("want every job finished: %v", all)
	}
	exits := s.taskExits()
	for _, code := range exits {
		if code == "137" {
			t.Errorf("a task exited 137: Swarm's SIGKILL (or supervise's KILL rung) ended it: %v", exits)
			break
		}
	}
	logs := run(t, "", nil, true, "docker", "service", "logs", "--raw", s.worker)
	if n := strings.Count(logs, `msg="stop report"`); n < len(exits) || n < 4 {
		t.Errorf("%d stop reports for %d tasks the rolling restart replaced", n, len(exits))
	}
	if n := strings.Count(removed, `msg="stop report" outcome=graceful`); n != 3 {
		t.Errorf("%d graceful stop reports from the 3 tasks the scale-down removed", n)
	}
	if strings.Contains(logs+removed, "outcome=escalated") || strings.Contains(logs+removed, "outcome=killed") {
		t.Errorf("a drain was cut although every job fits the grace")
	}
	t.Logf("round 1: %d tasks replaced (exit codes %v) and 3 removed, %d stop reports, all graceful",
		len(exits), exits, strings.Count(logs+removed, `msg="stop report"`))

	// Round 2: a 6 s grace and 20 s jobs.
	s2 := deploySwarm(t, fmt.Sprintf("sw%d", os.Getpid()%100000), "6s")
	// Enough 20 s jobs that every worker is mid-job when its turn comes.
	secs = nil
	for i := 0; i < 16; i++ {
		secs = append(secs, "20")
	}
	ids = s2.rq(append([]string{"enqueue"}, secs...)...)
	s2.waitRunning(ids, 4)
	rolled = s2.rollingRestart()
	logs = run(t, "", nil, true, "docker", "service", "logs", "--raw", s2.worker)
	escalated := strings.Count(logs, "stop rung: escalating")
	exits = s2.taskExits()
	for _, code := range exits {
		if code == "137" {
			t.Errorf("a task exited 137 at a 6 s grace: exit codes %v", exits)
			break
		}
	}
	all = s2.account(ids)
	t.Logf("round 2 (grace 6s, jobs 20 s): rolling restart %s; %d escalations, exit codes %v; jobs: %v",
		rolled.Round(100*time.Millisecond), escalated, exits, all)
	// A worker replaced while it waits between jobs has nothing to cut, so
	// not every replacement escalates; those that do must do it in time.
	if escalated < 1 {
		t.Errorf("no escalation in the logs, though every job outlasts the grace")
	}
	if n := strings.Count(logs, `msg="stop report"`); n < len(exits) {
		t.Errorf("%d stop reports for %d replaced tasks: Swarm's SIGKILL came before supervise finished", n, len(exits))
	}
	if all["vanished"] > 0 {
		t.Errorf("jobs vanished: %v", all)
	}
}
