package e2e

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// On each RQ release, a real worker under supervise (PID 1, preset picked
// by auto) gets SIGTERM at Docker's 10 s grace while a 6 s job runs: the
// drain is kept, the job finishes with its result in Redis, the stop is
// graceful and no second rung is sent.
func TestRQJobFinishesOnStop(t *testing.T) {
	eachRQ(t, func(t *testing.T, r *rqEnv) {
		id := r.enqueue("6")[0]
		p := start(t, options{env: r.env()}, append([]string{"--grace-period", "10s", "--"}, r.worker()...)...)
		p.waitFor(`stop protocol.*preset=rq reason="auto: program rq with argument worker"`, 10*time.Second)
		r.waitStarted(id)
		p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
		if code := p.exit(30 * time.Second); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		s := r.state(id)
		if s.status != "finished" || s.where != "finished" || s.result != "'done_6.0'" {
			t.Errorf("job after the stop: %+v, want finished with result 'done 6.0'", s)
		}
		p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if n := p.count(`stop rung: escalating`); n != 0 {
			t.Errorf("%d rungs after the first, want none:\n%s", n, p.output())
		}
	})
}

// A job longer than the drain at an 8 s grace: the preset's second TERM
// comes at the planned drain deadline and is RQ's cold shutdown, which
// kills the work-horse and exits 0 before supervise's KILL; the cut job is
// still accounted for in RQ's registries, never silently gone.
func TestRQDeadlineCutAccountsForJob(t *testing.T) {
	eachRQ(t, func(t *testing.T, r *rqEnv) {
		b := ladder.Budget{Grace: 8 * time.Second}
		l := planned(t, "rq", b)
		drain := l.Rungs[l.DrainIndex()].Wait
		id := r.enqueue("60")[0]
		p := start(t, options{env: r.env()}, append([]string{"--grace-period", b.Grace.String(), "--"}, r.worker()...)...)
		r.waitStarted(id)
		sent := p.signal(syscall.SIGTERM)
		cut := p.waitFor(`stop rung: escalating.*rung=2/3 signal=TERM.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "second TERM", cut.at.Sub(sent), drain, tolerance)
		if code := p.exit(b.Grace + 5*time.Second); code != 0 {
			t.Errorf("exit status %d, want 0 (RQ's cold shutdown)", code)
		}
		end := p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		if k := l.KillAt(b); end.at.Sub(sent) >= k {
			t.Errorf("the worker ended %s after the stop, not before supervise's KILL at %s", end.at.Sub(sent), k)
		}
		s := r.state(id)
		if s.status == "missing" || s.where == "nowhere" || s.status == "finished" {
			t.Errorf("job after a cut drain: %+v, want it unfinished in the started or failed registry", s)
		}
		t.Logf("%s: job after a cut drain: status=%s registries=%s", r.rel.Version, s.status, s.where)
	})
}

// The KILL rung reaches RQ's work-horse, which leaves the worker's process
// group (its own session on 1.13, its own group on 2.x), and supervise
// reaps it. Run as a subreaper (not PID 1), where nothing else would end
// the horse.
func TestRQKillReachesHorse(t *testing.T) {
	eachRQ(t, func(t *testing.T, r *rqEnv) {
		id := r.enqueue("60")[0]
		p := start(t, options{host: true, env: r.env()}, append([]string{"-s", "-w", "--stop", "TERM,2s,KILL", "--"}, r.worker()...)...)
		s := r.waitStarted(id)
		horse, _ := strconv.Atoi(s.horse)
		if !alive(horse) {
			t.Fatalf("horse %d not running", horse)
		}
		p.signal(syscall.SIGTERM)
		p.waitFor(`KILL to the whole process tree.*processes=2`, 5*time.Second) // the worker and its horse
		p.exit(10 * time.Second)
		// Gone, not even a zombie: killed, and reaped by supervise or, when
		// it dies first, by the dying worker itself.
		if _, err := os.Stat("/proc/" + s.horse); err == nil {
			t.Errorf("horse %d still exists after supervise exited (alive: %v)", horse, alive(horse))
		}
		if s := r.state(id); s.status == "finished" || s.where == "nowhere" {
			t.Errorf("job after KILL: %+v, want it unfinished and in a registry", s)
		}
	})
}

// rqIdleStopRace reports whether an RQ worker's exit status 1 is RQ's own
// race, which holds no job: a warm shutdown that lands while the idle
// worker is between `while True:` and the inner `try:` of Worker.work
// raises StopRequested (from _shutdown, called by the signal handler when
// the worker is not busy) outside the try that catches it, and the worker
// exits 1 with that traceback (rq/worker.py in 1.13, rq/worker/base.py in
// 2.10: the same loop). supervise reports the stop as graceful, exit 1.
func rqIdleStopRace(p *proc, code int) bool {
	return code == 1 && p.count(`^rq\.(worker|exceptions)\.StopRequested$`) == 1 &&
		p.count(`msg="child stopped".*status="exited 1".*outcome=graceful`) == 1
}
