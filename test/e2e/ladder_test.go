package e2e

import (
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// tolerance is how far a rung may land from its plan.
const tolerance = 100 * time.Millisecond

// A Huey worker gets INT on SIGTERM, finishes its 3 s task and exits 0:
// nothing is aborted, and the stop is logged as graceful. The grace period
// plans a 9.5 s drain (12s - 1.5s fast stop - 1s margin).
func TestHueyDrainFinishesTask(t *testing.T) {
	p := startHuey(t, "3s", nil, "--grace-period", "12s")
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`^signal INT$`, 2*time.Second)
	within(t, "first rung (INT)", got.at.Sub(sent), 0, tolerance)
	p.waitFor(`^task done$`, 5*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if n := p.count(`^task aborted|^signal TERM`); n != 0 {
		t.Errorf("the worker saw TERM or aborted its task (%d lines)", n)
	}
	p.waitFor(`outcome=graceful`, time.Second)
}

// A task longer than the drain is cut by the second INT at the planned
// deadline (grace 10s less the fast stop and the margin).
func TestHueyDeadlineSendsSecondINT(t *testing.T) {
	p := startHuey(t, "60s", nil, "--grace-period", "10s")
	sent := p.signal(syscall.SIGTERM)
	p.waitFor(`^draining$`, 2*time.Second)
	got := p.waitFor(`^task interrupted$`, 9*time.Second)
	within(t, "second rung (INT)", got.at.Sub(sent), drain(t, "huey", 10*time.Second), tolerance)
	if code := p.exit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	p.waitFor(`outcome=escalated`, time.Second)
	p.waitFor(`drain deadline hit`, time.Second)
}

// A second stop signal advances the ladder at once, but never sooner than
// ladder.MinSpacing after the previous rung.
func TestSecondStopAdvancesLadder(t *testing.T) {
	p := startHuey(t, "60s", nil, "--grace-period", "60s")
	sent := p.signal(syscall.SIGTERM)
	p.waitFor(`^draining$`, 2*time.Second)
	p.signal(syscall.SIGTERM)
	got := p.waitFor(`^task interrupted$`, 5*time.Second)
	within(t, "second INT after a second TERM", got.at.Sub(sent), ladder.MinSpacing, tolerance)
	if code := p.exit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// A child that ignores INT gets TERM at the drain deadline.
func TestIgnoredINTGetsTERMOnTime(t *testing.T) {
	p := start(t, options{env: signalsChild{ignore: "INT", exitOn: "TERM"}.env()},
		"--stop", "INT,2s,TERM,2s,KILL", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`^child signal TERM$`, 4*time.Second)
	within(t, "TERM rung", got.at.Sub(sent), 2*time.Second, tolerance)
	if code := p.exit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if p.count(`^child signal INT`) != 0 {
		t.Error("the child reported an INT it ignores")
	}
}

// A child that ignores every catchable signal is killed on time, and
// supervise reports 128+9.
func TestIgnoreEverythingGetsKILLOnTime(t *testing.T) {
	p := start(t, options{env: signalsChild{ignore: "all"}.env()},
		"--stop", "INT,1500ms,TERM,1500ms,KILL", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`outcome=killed`, 5*time.Second)
	within(t, "KILL rung", got.at.Sub(sent), 3*time.Second, tolerance)
	if code := p.exit(5 * time.Second); code != 137 {
		t.Errorf("exit status %d, want 137", code)
	}
}

// A short grace period: at 6s the Huey ladder still fits, its KILL landing
// where the plan puts it (inside the margin), no earlier. At 3s it cannot
// (two waits of ladder.MinSpacing are the least): both warnings say so at
// start.
func TestShortGracePlansInside(t *testing.T) {
	p := start(t, options{env: signalsChild{ignore: "all"}.env()},
		"--listen", "off", "--preset", "huey", "--grace-period", "6s", "--", self)
	six := ladder.Budget{Grace: 6 * time.Second}
	at6 := planned(t, "huey", six)
	l := p.waitFor(`stop protocol`, 10*time.Second)
	if !strings.Contains(l.text, "ladder="+at6.String()) || !strings.Contains(l.text, "kill_at="+at6.KillAt(six).String()) {
		t.Fatalf("6s plan: %q, want %s, KILL at %s", l.text, at6, at6.KillAt(six))
	}
	p.waitFor(`^child ready`, 10*time.Second)
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`outcome=killed`, 8*time.Second)
	within(t, "KILL at a 6s grace", got.at.Sub(sent), at6.KillAt(six), tolerance)
	p.exit(5 * time.Second)

	p = start(t, options{env: signalsChild{ignore: "all"}.env()},
		"--listen", "off", "--preset", "huey", "--grace-period", "3s", "--", self)
	floor := ladder.MinSpacing.String()
	p.waitFor(`level=WARN msg="grace period 3s is short for the huey ladder: its other waits are cut to `+floor+` and the drain gets `+floor+`"`, 10*time.Second)
	p.waitFor(`level=WARN msg="stop ladder INT,`+floor+`,INT,`+floor+`,KILL with stop delay 0s ends 3s after the stop`, time.Second)
}

// auto recognises a worker that an entrypoint script exec'd, by reading
// the child's command line again at the stop.
func TestAutoDetectsAtStop(t *testing.T) {
	dir := t.TempDir()
	link := dir + "/huey_consumer"
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	p := start(t, options{env: hueyChild{task: "2s"}.env()},
		"--", "sh", "-c", `exec "$0" app.huey -w 4`, link)
	p.waitFor(`preset=generic reason="auto: no known worker in a shell's -c string"`, 10*time.Second)
	p.waitFor(`^task started`, 10*time.Second)
	p.signal(syscall.SIGTERM)
	p.waitFor(`preset changed at stop.*from=generic to=huey`, 2*time.Second)
	p.waitFor(`^signal INT$`, 2*time.Second)
	p.waitFor(`^task done$`, 5*time.Second)
	if code := p.exit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// --drain-timeout sets the drain wait whatever the grace: without a grace
// period the ladder is timed by it, the second rung at the drain timeout.
func TestDrainTimeout(t *testing.T) {
	p := startHuey(t, "60s", nil, "--drain-timeout", "2s")
	p.waitFor(`stop protocol: KILL lands 3.5s after the stop signal \(--drain-timeout\)`, time.Second)
	sent := p.signal(syscall.SIGTERM)
	p.waitFor(`^signal INT$`, 2*time.Second)
	second := p.waitFor(`stop rung: escalating.* rung=2/3 signal=INT.*cause="drain deadline hit`, 5*time.Second)
	within(t, "second rung at the drain timeout", second.at.Sub(sent), 2*time.Second, tolerance)
	p.exit(10 * time.Second)
}

// --stop-delay holds the first rung back.
func TestStopDelay(t *testing.T) {
	// The delay is planned inside the grace: the first rung after it, the
	// drain cut short by it, KILL a margin before the grace ends.
	b := ladder.Budget{Grace: 5 * time.Second, StopDelay: time.Second}
	huey, _ := ladder.Lookup("huey")
	l, _ := ladder.Size(huey, b)
	p := startHuey(t, "60s", nil, "--stop-delay", b.StopDelay.String(), "--grace-period", b.Grace.String())
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`^signal INT$`, 3*time.Second)
	within(t, "first rung after the stop delay", got.at.Sub(sent), b.StopDelay, tolerance)
	second := p.waitFor(`stop rung: escalating.* rung=2/3 signal=INT`, b.Grace)
	within(t, "second rung after the delay and the drain", second.at.Sub(sent), b.StopDelay+l.Rungs[0].Wait, tolerance)
	p.waitFor(`stop requested.* kill_in=`+regexp.QuoteMeta(l.KillAt(b).String())+`$`, time.Second)
	if k := l.KillAt(b); k > b.Grace-ladder.Margin(b.Grace) {
		t.Errorf("KILL planned at %s, past the margin before the grace period's end", k)
	}
	p.exit(5 * time.Second)
}

// As PID 1, the KILL rung reaches a grandchild in a session of its own
// (as RQ's work-horse is) at once: nothing is left for the cleanup after
// the main child, and the report says so.
func TestKillRungReachesOtherSessionAsPID1(t *testing.T) {
	p := start(t, options{env: signalsChild{ignore: "all", grandchild: true, setsid: true}.env()},
		"--listen", "off", "--stop", "TERM,1500ms,KILL", "--cleanup-grace", "5s", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	g := p.waitFor(`^grandchild ready pid=\d+ pgid=\d+`, 10*time.Second)
	if strings.Contains(g.text, "pgid=2 ") {
		t.Fatalf("grandchild still in the child's group: %s", g.text)
	}
	sent := p.signal(syscall.SIGTERM)
	if code := p.exit(5 * time.Second); code != 137 {
		t.Errorf("exit status %d, want 137", code)
	}
	if d := time.Since(sent); d > 3*time.Second {
		t.Errorf("supervise exited %s after the stop: the grandchild outlived the KILL rung until the cleanup", d)
	}
	p.waitFor(`msg="stop report" outcome=killed.* leftovers=0 leftovers_killed=0`, time.Second)
	if p.count(`processes left after the main child exited`) != 0 {
		t.Error("the grandchild in its own session survived the KILL rung")
	}
}

// Preset none never starts a timer, even with a grace period set: a child
// that ignores TERM is still alive well after any ladder would have
// killed it; the orchestrator's SIGKILL is the only deadline.
func TestNoneStartsNoTimer(t *testing.T) {
	p := start(t, options{env: signalsChild{ignore: "TERM"}.env()},
		"--listen", "off", "--preset", "none", "--grace-period", "2s", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop requested: forwarding.*forwarded=TERM`, time.Second)
	if _, ok := p.find(`child stopped|stop rung|KILL`, 4*time.Second); ok {
		t.Fatal("preset none escalated")
	}
	select {
	case <-p.done:
		t.Fatal("supervise exited although the child ignores TERM")
	default:
	}
}

// The margin before the orchestrator's SIGKILL, pinned through the
// binary: the generic ladder at a 5 s grace KILLs a child that ignores
// TERM at 4.5 s (a tenth of a grace under 10 s).
func TestGenericKillAMarginBeforeGrace(t *testing.T) {
	p := start(t, options{env: signalsChild{ignore: "all"}.env()}, "--listen", "off", "--grace-period", "5s", "--", self)
	p.waitFor(`preset=generic`, 10*time.Second)
	p.waitFor(`^child ready`, 10*time.Second)
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`the child ignored TERM for 4\.5\d*s; KILL to the whole process tree`, 8*time.Second)
	within(t, "KILL at a 5 s grace", got.at.Sub(sent), 4500*time.Millisecond, tolerance)
	if code := p.exit(5 * time.Second); code != 137 {
		t.Errorf("exit status %d, want 137", code)
	}
}

// A child that is stopped (SIGSTOP) gets CONT after every rung, not only
// the first: stopped again during the drain, it still acts on the second
// INT instead of dying at KILL.
func TestStoppedChildContinuedAfterEveryRung(t *testing.T) {
	p := startHuey(t, "60s", nil, "--listen", "off", "--grace-period", "6s")
	child := firstChild(t, p.pid)
	// SIGSTOP takes effect when the child next runs: wait until it is
	// stopped, which is what the rung must find.
	syscall.Kill(child, syscall.SIGSTOP)
	waitState(t, child, "T")
	p.signal(syscall.SIGTERM)
	p.waitFor(`^draining`, 3*time.Second) // woken by CONT after the first INT
	syscall.Kill(child, syscall.SIGSTOP)  // stopped again, mid-drain
	waitState(t, child, "T")
	p.waitFor(`rung=2/3 .*msg=|msg="stop rung: escalating" rung=2/3`, 8*time.Second)
	p.waitFor(`^task interrupted$`, 3*time.Second)
	if code := p.exit(5 * time.Second); code == 137 {
		t.Errorf("exit status 137: the second rung waited for KILL")
	}
	if n := p.count(`sending CONT so it can act on the rung`); n != 2 {
		t.Errorf("%d CONTs, want one after each of the two rungs", n)
	}
}

// planned is preset's ladder in budget b, as supervise plans it: tests
// take every expected rung time from here, never from a literal, so a
// change of the margin or a preset's waits touches internal/ladder only.
func planned(t testing.TB, preset string, b ladder.Budget) ladder.Ladder {
	t.Helper()
	p, ok := ladder.Lookup(preset)
	if !ok {
		t.Fatalf("no preset %s", preset)
	}
	if err := ladder.Fit(p, b); err != nil {
		t.Fatal(err)
	}
	l, warns := ladder.Size(p, b)
	if len(warns) > 0 {
		t.Fatalf("%s in %+v: %v", preset, b, warns)
	}
	return l
}

// drain is when preset's second rung comes after the first at grace.
func drain(t testing.TB, preset string, grace time.Duration) time.Duration {
	t.Helper()
	return planned(t, preset, ladder.Budget{Grace: grace}).Rungs[0].Wait
}

// ladderAttr is the ladder=... a log line gives for preset at grace, as a
// regular expression.
func ladderAttr(t testing.TB, preset string, grace time.Duration) string {
	t.Helper()
	return regexp.QuoteMeta("ladder=" + planned(t, preset, ladder.Budget{Grace: grace}).String())
}
