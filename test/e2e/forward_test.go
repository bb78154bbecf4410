package e2e

import (
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/signals"
)

// Every catchable signal that is not a stop reaches the main child, and
// only the main child: a grandchild in the same process group hears
// nothing (the default, so Celery's pool children are not hit mid-task).
func TestForwardToChildOnly(t *testing.T) {
	p := start(t, options{env: signalsChild{grandchild: true, exitOn: "USR2"}.env()},
		"--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.waitFor(`^grandchild ready`, 10*time.Second)
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGWINCH,
		syscall.SIGALRM, syscall.SIGCONT, syscall.SIGPWR, syscall.SIGTSTP, 34 + 3} {
		p.signal(s)
		p.waitFor(`^child signal `+regexp.QuoteMeta(name(s))+`$`, 3*time.Second)
	}
	p.signal(syscall.SIGUSR2)
	p.waitFor(`^child exiting on USR2`, 3*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	// After the child exits, the cleanup's TERM reaches the grandchild: that one is expected.
	if n := p.count(`^grandchild signal (HUP|QUIT|USR1|WINCH|ALRM|CONT|PWR|TSTP|RTMIN\+3|USR2)$`); n != 0 {
		t.Errorf("the grandchild got %d signals meant for the child", n)
	}
}

// With -g (tini's kill-process-group) signals go to the child's whole group.
func TestForwardToGroup(t *testing.T) {
	p := start(t, options{env: signalsChild{grandchild: true, exitOn: "USR2"}.env()},
		"-g", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.waitFor(`^grandchild ready`, 10*time.Second)
	p.signal(syscall.SIGUSR1)
	p.waitFor(`^child signal USR1$`, 3*time.Second)
	p.waitFor(`^grandchild signal USR1$`, 3*time.Second)
	p.signal(syscall.SIGUSR2)
	p.exit(10 * time.Second)
}

// TINI_KILL_PROCESS_GROUP means -g, as it does for tini.
func TestTiniGroupEnv(t *testing.T) {
	p := start(t, options{env: append(signalsChild{grandchild: true, exitOn: "USR2"}.env(), "TINI_KILL_PROCESS_GROUP=1")},
		"--", self)
	p.waitFor(`^grandchild ready`, 10*time.Second)
	p.signal(syscall.SIGHUP)
	p.waitFor(`^grandchild signal HUP$`, 3*time.Second)
	p.signal(syscall.SIGUSR2)
	p.exit(10 * time.Second)
}

// --rewrite maps names or numbers, and TO=0 drops the signal (dumb-init).
func TestRewrite(t *testing.T) {
	p := start(t, options{env: signalsChild{exitOn: "QUIT"}.env()},
		"-r", "USR1:USR2", "--rewrite", "1:0", "-r", "TERM:QUIT", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.signal(syscall.SIGUSR1)
	p.waitFor(`^child signal USR2$`, 3*time.Second)
	p.signal(syscall.SIGHUP) // dropped
	p.signal(syscall.SIGWINCH)
	p.waitFor(`^child signal WINCH$`, 3*time.Second)
	p.signal(syscall.SIGTERM) // rewritten to QUIT: forwarded, no ladder
	p.waitFor(`^child exiting on QUIT$`, 3*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if n := p.count(`^child signal (HUP|USR1|TERM)$`); n != 0 {
		t.Errorf("%d signals reached the child unrewritten", n)
	}
}

// Preset none forwards stop signals as they come, as tini does.
func TestPresetNoneForwardsStop(t *testing.T) {
	p := start(t, options{env: signalsChild{exitOn: "INT"}.env()},
		"--preset", "none", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.signal(syscall.SIGTERM)
	p.waitFor(`^child signal TERM$`, 3*time.Second)
	p.signal(syscall.SIGINT)
	p.waitFor(`^child exiting on INT$`, 3*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// A burst of signals loses no class: a stop sent after 2,000 forwarded
// signals still starts the ladder, and the child hears both kinds. (Across
// classes, order is not kept: the kernel itself delivers pending standard
// signals lowest number first.)
func TestBurstKeepsStop(t *testing.T) {
	p := start(t, options{env: signalsChild{}.env()},
		"--stop", "INT,1500ms,KILL", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	for i := 0; i < 1000; i++ {
		p.signal(syscall.SIGUSR1)
		p.signal(syscall.SIGUSR2)
	}
	p.signal(syscall.SIGTERM)
	p.waitFor(`^child signal INT$`, 5*time.Second)
	if code := p.exit(10 * time.Second); code != 137 {
		t.Errorf("exit status %d, want 137 (the ladder's KILL)", code)
	}
	if p.count(`^child signal USR1$`) == 0 || p.count(`^child signal USR2$`) == 0 {
		t.Error("forwarded signals never reached the child")
	}
}

func name(s syscall.Signal) string {
	return signals.Name(s)
}

// -p SIG: supervise gets SIG when its parent dies (tini's -p), and acts on
// it like any received signal: here TERM, forwarded under preset none.
func TestParentDeathSignal(t *testing.T) {
	// The shell starts supervise in the background and exits.
	wrap := []string{"sh", "-c", `"$@" & sleep 0.5`, "sh"}
	p := start(t, options{host: true, wrap: wrap, env: signalsChild{exitOn: "TERM"}.env()},
		"-s", "-p", "TERM", "--preset", "none", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.waitFor(`^child exiting on TERM$`, 5*time.Second)
	p.waitFor(`child stopped.*outcome=graceful`, 5*time.Second)
}

// dumb-init's rewriting, end to end: -r HUP:TERM makes HUP a stop (the
// huey ladder starts: INT to the child), and -r TERM:0 makes docker stop's
// TERM do nothing, while Ctrl-C's INT still stops.
func TestRewriteStopSignals(t *testing.T) {
	p := startHuey(t, "1m", nil, "--listen", "off", "-r", "HUP:TERM")
	p.signal(syscall.SIGHUP)
	p.waitFor(`stop requested: starting the stop ladder" signal=HUP`, 2*time.Second)
	p.waitFor(`^signal INT$`, 2*time.Second)
	if p.count(`^signal HUP`) != 0 {
		t.Error("HUP reached the child although it was rewritten to a stop")
	}

	p = startHuey(t, "1m", nil, "--listen", "off", "-r", "TERM:0")
	p.signal(syscall.SIGTERM)
	if _, ok := p.find(`^signal |stop requested`, time.Second); ok {
		t.Fatal("a TERM rewritten to 0 reached the child or started a stop")
	}
	p.signal(syscall.SIGINT)
	p.waitFor(`stop requested.*signal=INT`, 2*time.Second)
	p.waitFor(`^signal INT$`, 2*time.Second)
}
