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

	"github.com/supervise/supervise/test/testenv"
)

// hueyApp is one real Huey deployment for a test: a SqliteHuey database,
// a results folder where the app records each task's start, finish and
// interruption, and the environment both the consumer and hueytool need.
type hueyApp struct {
	t       *testing.T
	results string
	env     []string
}

func newHueyApp(t *testing.T) *hueyApp {
	t.Helper()
	src := testenv.Huey(t)
	app, _ := filepath.Abs("testdata/huey")
	dir := t.TempDir()
	results := filepath.Join(dir, "results")
	if err := os.Mkdir(results, 0o755); err != nil {
		t.Fatal(err)
	}
	return &hueyApp{t: t, results: results, env: []string{
		"PYTHONPATH=" + src + ":" + app,
		"HUEY_DB=" + filepath.Join(dir, "huey.db"),
		"HUEY_RESULTS=" + results,
		"PYTHONUNBUFFERED=1",
	}}
}

// tool runs testdata/huey/hueytool.py and returns its output.
func (h *hueyApp) tool(args ...string) string {
	h.t.Helper()
	cmd := exec.Command(python, append([]string{"-m", "hueytool"}, args...)...)
	cmd.Env = append(os.Environ(), h.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.t.Fatalf("hueytool %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// enqueue queues tasks: tag, seconds, tag, seconds, ...
func (h *hueyApp) enqueue(pairs ...string) { h.tool(append([]string{"enqueue"}, pairs...)...) }

// has reports whether the app recorded kind ("started", "finished",
// "interrupted") for tag.
func (h *hueyApp) has(kind, tag string) bool {
	_, err := os.Stat(filepath.Join(h.results, kind+"-"+tag))
	return err == nil
}

// consumer starts supervise as PID 1 over a real huey_consumer with
// worker type kind (thread or process) and the given supervise options;
// auto picks the huey preset from the command line.
func (h *hueyApp) consumer(kind string, workers int, args ...string) *proc {
	h.t.Helper()
	argv := append(append([]string{"--listen", "off"}, args...), "--",
		python, "-m", "huey.bin.huey_consumer", "app.huey", "-w", fmt.Sprint(workers), "-k", kind,
		"-d", "0.1", "-m", "0.5", "-b", "1.05", "-C")
	p := start(h.t, options{env: h.env}, argv...)
	p.waitFor(`preset=huey reason="auto: python module huey.bin.huey_consumer"`, 10*time.Second)
	h.waitCatchesTERM(p, 20*time.Second)
	return p
}

// waitCatchesTERM waits until the consumer (supervise's child) catches
// SIGTERM. Huey installs its stop handlers only after it has started all
// its workers (Consumer.start in huey/consumer.py), and a worker may
// already run a task by then: a stop before that meets Python's default
// SIGINT handler, a KeyboardInterrupt in the middle of Huey's start-up,
// which no init can turn into a graceful stop. These tests stop a
// consumer that is ready for it; Python catches no TERM of its own, so a
// caught TERM is Huey's handler.
func (h *hueyApp) waitCatchesTERM(p *proc, timeout time.Duration) {
	h.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, c := range children(p.pid) {
			if catches(c, syscall.SIGTERM) {
				return
			}
		}
	}
	h.t.Fatalf("the Huey consumer did not catch SIGTERM within %s", timeout)
}

// bothKinds runs f for thread and process workers, in parallel.
func bothKinds(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range []string{"thread", "process"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, kind)
		})
	}
}

// At Docker's default grace (10s), a task with 6 s left when the stop
// comes finishes: the drain is 7.5 s. (Before the drain was sized to the
// workers' real fast-stop time, it was 4 s and this task was cut.)
func TestHueyRealTaskWithSixSecondsLeftFinishes(t *testing.T) {
	bothKinds(t, func(t *testing.T, kind string) {
		h := newHueyApp(t)
		h.enqueue("six", "7")
		p := h.consumer(kind, 2, "--grace-period", "10s")
		started := p.waitFor(`^started six`, 20*time.Second)
		time.Sleep(time.Until(started.at.Add(time.Second)))
		sent := p.signal(syscall.SIGTERM)
		done := p.waitFor(`^finished six`, 8*time.Second)
		t.Logf("task finished %s after the stop", done.at.Sub(sent).Round(time.Millisecond))
		if code := p.exit(10 * time.Second); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if h.has("interrupted", "six") || p.count(`stop rung: escalating`) != 0 {
			t.Error("the task was interrupted or the ladder escalated")
		}
	})
}

// A 60 s task cannot finish in a 10 s grace: the second INT cuts it at the
// drain deadline (the plan's, at 10 s), Huey's SIGNAL_INTERRUPTED handler records it, and
// everything is over before the orchestrator's SIGKILL would come.
func TestHueyRealLongTaskCutBeforeGrace(t *testing.T) {
	bothKinds(t, func(t *testing.T, kind string) {
		h := newHueyApp(t)
		h.enqueue("long", "60")
		p := h.consumer(kind, 2, "--grace-period", "10s")
		p.waitFor(`^started long`, 20*time.Second)
		sent := p.signal(syscall.SIGTERM)
		rung := p.waitFor(`stop rung: escalating.*signal=INT.*cause="drain deadline hit`, 9*time.Second)
		within(t, "second INT", rung.at.Sub(sent), drain(t, "huey", 10*time.Second), tolerance)
		rec := p.waitFor(`^interrupted long`, 3*time.Second)
		t.Logf("interruption recorded %s after the stop", rec.at.Sub(sent).Round(time.Millisecond))
		if code := p.exit(5 * time.Second); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		if end := time.Since(sent); end > 9*time.Second {
			t.Errorf("supervise exited %s after the stop, not before its own KILL at 9s", end)
		}
		p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		if !h.has("interrupted", "long") || h.has("finished", "long") {
			t.Error("the interruption was not recorded by the app")
		}
	})
}

// Without a grace period supervise keeps no deadline: a 20 s task
// finishes however long it takes.
func TestHueyRealNoGraceTaskFinishes(t *testing.T) {
	bothKinds(t, func(t *testing.T, kind string) {
		h := newHueyApp(t)
		h.enqueue("twenty", "20")
		p := h.consumer(kind, 2)
		p.waitFor(`stop protocol: no grace period is set, so supervise keeps no deadline of its own`, time.Second)
		p.waitFor(`^started twenty`, 20*time.Second)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`deadline="none: no grace period set"`, 2*time.Second)
		done := p.waitFor(`^finished twenty`, 25*time.Second)
		if d := done.at.Sub(sent); d < 15*time.Second {
			t.Errorf("task finished %s after the stop: it did not run its 20 s", d)
		}
		if code := p.exit(10 * time.Second); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if p.count(`msg="stop rung: (escalating|KILL)`) != 0 || h.has("interrupted", "twenty") {
			t.Error("supervise escalated without a grace period")
		}
	})
}

// 30 tasks of 1-12 s on 4 workers, and a stop at 10 s grace while they
// run: none vanishes. Each finished, was interrupted and recorded, or is
// still in the queue for the next consumer.
func TestHueyRealNoTaskVanishes(t *testing.T) {
	bothKinds(t, func(t *testing.T, kind string) {
		h := newHueyApp(t)
		var pairs []string
		for i := 0; i < 30; i++ {
			pairs = append(pairs, fmt.Sprintf("t%02d", i), fmt.Sprint(1+(i*7)%12))
		}
		h.enqueue(pairs...)
		p := h.consumer(kind, 4, "--grace-period", "10s")
		deadline := time.Now().Add(30 * time.Second)
		for p.count(`^started t`) < 6 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		p.signal(syscall.SIGTERM)
		p.exit(15 * time.Second)
		pending := map[string]bool{}
		for _, tag := range strings.Fields(h.tool("pending")) {
			pending[tag] = true
		}
		var finished, interrupted, queued, vanished []string
		for i := 0; i < 30; i++ {
			tag := fmt.Sprintf("t%02d", i)
			switch {
			case h.has("finished", tag):
				finished = append(finished, tag)
			case h.has("interrupted", tag):
				interrupted = append(interrupted, tag)
			case pending[tag] && !h.has("started", tag):
				queued = append(queued, tag)
			default:
				vanished = append(vanished, tag)
			}
		}
		t.Logf("%s: %d finished, %d interrupted and recorded, %d still queued, %d vanished",
			kind, len(finished), len(interrupted), len(queued), len(vanished))
		if len(vanished) > 0 {
			t.Errorf("tasks vanished: %v", vanished)
		}
		if len(finished) == 0 || len(queued) == 0 {
			t.Errorf("the stop did not come while tasks ran and others waited")
		}
	})
}
