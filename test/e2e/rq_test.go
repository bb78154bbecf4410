package e2e

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// A real RQ worker under supervise (PID 1, preset picked by auto) gets a
// SIGTERM while a 5 s job runs: the job finishes, its result is in Redis,
// and the stop is graceful.
func TestRQJobFinishesOnStop(t *testing.T) {
	url := redisServer(t)
	id := rqTool(t, url, "enqueue", "5")[0]
	p := start(t, options{}, append([]string{"--grace-period", "30s", "--"}, rqWorker(url)...)...)
	p.waitFor(`stop protocol.*preset=rq reason="auto: program rq with argument worker"`, 10*time.Second)
	waitStarted(t, url, id)
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
	if code := p.exit(30 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	s := rqState(t, url, id)
	if s.status != "finished" || s.where != "finished" || s.result != "'done_5.0'" {
		t.Errorf("job after the stop: %+v, want finished with result 'done 5.0'", s)
	}
	p.waitFor(`child stopped.*outcome=graceful`, time.Second)
}

// A drain shorter than the job: RQ's cold shutdown (the preset's second
// TERM) kills the horse; the job is still accounted for in RQ's registries,
// never silently gone.
func TestRQShortDrainAccountsForJob(t *testing.T) {
	url := redisServer(t)
	id := rqTool(t, url, "enqueue", "60")[0]
	p := start(t, options{}, append([]string{"--preset", "rq", "--drain-timeout", "2s", "--grace-period", "10s", "--"}, rqWorker(url)...)...)
	waitStarted(t, url, id)
	sent := p.signal(syscall.SIGTERM)
	l := p.waitFor(`stop rung: escalating.*rung=2/3 signal=TERM`, 5*time.Second)
	within(t, "second TERM", l.at.Sub(sent), 2*time.Second, tolerance)
	p.exit(15 * time.Second)
	s := rqState(t, url, id)
	if s.status == "missing" || s.where == "nowhere" || s.status == "finished" {
		t.Errorf("job after a cut drain: %+v, want it in the started, failed or queued registry", s)
	}
	t.Logf("job after a cut drain: status=%s registries=%s", s.status, s.where)
}

// The KILL rung reaches RQ's work-horse, which runs in its own session
// outside the worker's process group, and supervise reaps it. Run as a
// subreaper (not PID 1), where nothing else would end the horse.
func TestRQKillReachesHorse(t *testing.T) {
	url := redisServer(t)
	id := rqTool(t, url, "enqueue", "60")[0]
	p := start(t, options{host: true}, append([]string{"-s", "-w", "--stop", "TERM,2s,KILL", "--"}, rqWorker(url)...)...)
	s := waitStarted(t, url, id)
	horse, _ := strconv.Atoi(s.horse)
	if !alive(horse) {
		t.Fatalf("horse %d not running", horse)
	}
	p.signal(syscall.SIGTERM)
	p.waitFor(`KILL to the whole process tree.*processes=2`, 5*time.Second) // the worker and its horse
	p.exit(10 * time.Second)
	// Gone, not even a zombie: killed, and reaped by supervise or, when it
	// dies first, by the dying worker itself.
	if _, err := os.Stat("/proc/" + s.horse); err == nil {
		t.Errorf("horse %d still exists after supervise exited (alive: %v)", horse, alive(horse))
	}
	if s := rqState(t, url, id); s.status == "finished" || s.where == "nowhere" {
		t.Errorf("job after KILL: %+v, want it unfinished and in a registry", s)
	}
}
