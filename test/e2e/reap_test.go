package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// 10,000 orphans, in bursts of at most 2,500 outstanding, are all reaped
// by supervise as PID 1, and the main child's exit status survives the
// storm.
func TestZombieStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: zombie storm is not run with -short")
	}
	p := start(t, options{env: zombiesChild{total: 10000, burst: 2500}.env()}, "--", self)
	p.waitFor(`^ready`, 10*time.Second)
	p.waitFor(`^storm done$`, 120*time.Second)
	waitNoZombies(t, p.pid, 10*time.Second)
	p.signal(syscall.SIGTERM)
	if code := p.exit(10 * time.Second); code != 7 {
		t.Errorf("exit status %d after the storm, want 7", code)
	}
}

// With -s and not PID 1, supervise is a subreaper: the orphans come to it
// (each one's reaping is logged with -w, 200 in all), and none is left a
// zombie.
func TestSubreaperReapsOrphans(t *testing.T) {
	p := start(t, options{host: true, env: zombiesChild{total: 200, burst: 100}.env()}, "-s", "-w", "--listen", "off", "--", self)
	p.waitFor(`^storm done$`, 30*time.Second)
	waitNoZombies(t, p.pid, 10*time.Second)
	p.signal(syscall.SIGTERM)
	if code := p.exit(10 * time.Second); code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
	if n := p.count(`msg="reaped zombie process"`); n < 200 {
		t.Errorf("supervise reaped %d orphans, want all 200: they did not reach it", n)
	}
	if p.count(`not running as PID 1`) != 0 {
		t.Error("warned about reaping although -s was given")
	}
}

// When leftovers outlive even KILL (here a grandchild held in a frozen
// cgroup, where a KILL waits for the thaw), supervise gives up 1 s after
// sending KILL and exits with the child's status: it never hangs.
func TestExitOneSecondAfterKillAtTheLatest(t *testing.T) {
	freezer := "/sys/fs/cgroup/freezer"
	if _, err := os.Stat(filepath.Join(freezer, "freezer.state")); err != nil {
		if _, err := os.Stat(filepath.Join(freezer, "tasks")); err != nil {
			t.Skip("SKIP: no cgroup v1 freezer mounted at /sys/fs/cgroup/freezer")
		}
	}
	dir := filepath.Join(freezer, fmt.Sprintf("supervise-e2e-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("SKIP: cannot create a freezer cgroup: %v", err)
	}
	thaw := func() { os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0o644) }
	t.Cleanup(func() {
		thaw()
		for deadline := time.Now().Add(5 * time.Second); os.Remove(dir) != nil && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	})
	p := start(t, options{host: true, env: treeChild{after: "1s", code: 6}.env()}, "-s", "--listen", "off", "--cleanup-grace", "500ms", "--", self)
	l := p.waitFor(`^grandchild pid=\d+`, 10*time.Second)
	gpid := strings.TrimPrefix(l.text, "grandchild pid=")
	if err := os.WriteFile(filepath.Join(dir, "tasks"), []byte(gpid), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("FROZEN"), 0o644); err != nil {
		t.Fatal(err)
	}
	exited := p.waitFor(`msg="child exited"`, 5*time.Second)
	gaveUp := p.waitFor(`processes still left after KILL: exiting anyway`, 5*time.Second)
	// TERM at once, KILL after the 500 ms cleanup grace, exit 1 s later.
	took := gaveUp.at.Sub(exited.at)
	if took < 1400*time.Millisecond || took > 2*time.Second {
		t.Errorf("supervise gave up %s after the child exited, want about 1.5 s (KILL at 0.5 s, then 1 s at the latest)", took)
	}
	select {
	case <-p.done:
	case <-time.After(time.Second):
		t.Error("supervise still runs after giving up")
	}
	// The KILL it sent takes effect at the thaw: nothing is left behind.
	thaw()
	if code := p.exit(5 * time.Second); code != 6 {
		t.Errorf("exit status %d, want 6", code)
	}
	t.Logf("supervise gave up on the frozen grandchild %s after the child exited", took.Round(time.Millisecond))
}

// TINI_SUBREAPER means -s; without either, supervise warns once.
func TestSubreaperEnvAndWarning(t *testing.T) {
	p := start(t, options{host: true, env: append(exitChild{}.env(), "TINI_SUBREAPER=")}, "--", self)
	p.exit(10 * time.Second)
	if p.count(`not running as PID 1`) != 0 {
		t.Error("warned although TINI_SUBREAPER was set")
	}
	p = start(t, options{host: true, env: exitChild{}.env()}, "--", self)
	p.exit(10 * time.Second)
	if n := p.count(`not running as PID 1 and not a subreaper`); n != 1 {
		t.Errorf("%d warnings about reaping, want 1", n)
	}
}

// After the main child exits, what is left of its tree (here a grandchild
// in its own session that ignores TERM) is killed and reaped, and
// supervise still exits with the child's status.
func TestLeftoversKilledAfterExit(t *testing.T) {
	p := start(t, options{host: true, env: treeChild{after: "200ms", code: 5}.env()},
		"-s", "--cleanup-grace", "1s", "--", self)
	l := p.waitFor(`^grandchild pid=\d+`, 10*time.Second)
	gpid, _ := strconv.Atoi(strings.TrimPrefix(l.text, "grandchild pid="))
	if code := p.exit(10 * time.Second); code != 5 {
		t.Errorf("exit status %d, want 5", code)
	}
	p.waitFor(`processes left ignored TERM: sending KILL`, time.Second)
	if alive(gpid) {
		t.Errorf("grandchild %d outlived supervise", gpid)
	}
}

// A grandchild that obeys TERM is gone before the cleanup grace ends:
// supervise does not wait for nothing.
func TestLeftoversTERMFirst(t *testing.T) {
	p := start(t, options{host: true, env: treeChild{after: "200ms", code: 0, sleeperTerm: true}.env()},
		"-s", "--cleanup-grace", "20s", "--", self)
	l := p.waitFor(`^grandchild pid=\d+`, 10*time.Second)
	gpid, _ := strconv.Atoi(strings.TrimPrefix(l.text, "grandchild pid="))
	p.exit(5 * time.Second)
	if alive(gpid) {
		t.Errorf("grandchild %d outlived supervise", gpid)
	}
	if p.count(`sending KILL`) != 0 {
		t.Error("KILL was needed although the grandchild obeys TERM")
	}
}

// -w logs each orphan reaped (tini's -w); without it, nothing is logged.
func TestWarnOnReap(t *testing.T) {
	p := start(t, options{env: zombiesChild{total: 20, burst: 20}.env()}, "-w", "--listen", "off", "--", self)
	p.waitFor(`^storm done$`, 30*time.Second)
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
	if n := p.count(`level=WARN msg="reaped zombie process" pid=\d+ status="exited 0"`); n < 20 {
		t.Errorf("%d reap warnings with -w, want at least 20", n)
	}
	p = start(t, options{env: zombiesChild{total: 20, burst: 20}.env()}, "--listen", "off", "--", self)
	p.waitFor(`^storm done$`, 30*time.Second)
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
	if n := p.count(`reaped zombie process`); n != 0 {
		t.Errorf("%d reap warnings without -w", n)
	}
}

// Stop signals that arrive after the main child exited never send TERM
// again and never move the leftovers' KILL later: with a TERM every
// 0.3 s, the second one brings the KILL forward, and supervise is gone
// long before a cleanup grace that each signal would otherwise restart.
func TestStopsDuringCleanupNeverPostponeKill(t *testing.T) {
	p := start(t, options{env: treeChild{after: "200ms", code: 3}.env()},
		"--listen", "off", "--cleanup-grace", "3s", "--", self)
	p.waitFor(`^grandchild pid=\d+`, 10*time.Second)
	exited := p.waitFor(`processes left after the main child exited: sending TERM`, 10*time.Second)
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				syscall.Kill(p.pid, syscall.SIGTERM)
			}
		}
	}()
	code := p.exit(10 * time.Second)
	close(stop)
	if code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	took := time.Since(exited.at)
	if took > 2*time.Second {
		t.Errorf("supervise stayed %s after the child exited; repeated stops must bring the KILL forward", took)
	}
	if n := p.count(`sending TERM`); n != 1 {
		t.Errorf("TERM sent to leftovers %d times, want once", n)
	}
	p.waitFor(`stop signal received again: sending KILL to the leftovers now`, time.Second)
	t.Logf("supervise exited %s after the child", took.Round(time.Millisecond))
}

// --cleanup-grace D is honoured, with no freezer needed: the leftover that
// ignores TERM gets its KILL D after the child's exit, not before, not
// much after (as PID 1 here, so kill(-1) delivers it).
func TestCleanupGraceHonoured(t *testing.T) {
	for _, grace := range []time.Duration{1500 * time.Millisecond, 3 * time.Second} {
		p := start(t, options{env: treeChild{after: "200ms", code: 4}.env()},
			"--listen", "off", "--cleanup-grace", grace.String(), "--", self)
		p.waitFor(`^grandchild pid=\d+`, 10*time.Second)
		exited := p.waitFor(`processes left after the main child exited: sending TERM`, 10*time.Second)
		kill := p.waitFor(`processes left ignored TERM: sending KILL`, grace+5*time.Second)
		within(t, fmt.Sprintf("leftover KILL at --cleanup-grace %s", grace), kill.at.Sub(exited.at), grace, tolerance)
		if code := p.exit(5 * time.Second); code != 4 {
			t.Errorf("exit status %d, want 4", code)
		}
	}
}
