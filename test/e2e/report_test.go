package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readReport returns the termination log's content.
func readReport(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no termination log: %v", err)
	}
	if len(b) > 4096 {
		t.Errorf("termination log is %d bytes, over Kubernetes' 4096", len(b))
	}
	return string(b)
}

func wantLines(t *testing.T, report string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("no %q in the report:\n%s", w, report)
		}
	}
}

// Every stop leaves a report in the log and in --termination-log: the
// outcome, the preset, each rung with its time and cause, the drain, the
// exit status and the leftovers.
func TestStopReportGraceful(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "termination-log")
	p := startHuey(t, "2s", nil, "--listen", "off", "--grace-period", "10s", "--termination-log", tl)
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
	p.waitFor(`msg="stop report" outcome=graceful.*preset=huey signal=TERM grace=10s grace_from=--grace-period rungs="INT@0s\(stop signal\)"`, time.Second)
	wantLines(t, readReport(t, tl),
		"supervise: stop graceful (preset huey, grace 10s from --grace-period)\n",
		"stop signal TERM at 0s\n", "rung 1 INT at 0s (stop signal)\n", "child exited 0 after ", "exit status 0\n")
}

func TestStopReportEscalated(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "termination-log")
	p := startHuey(t, "60s", nil, "--listen", "off", "--grace-period", "4s", "--termination-log", tl)
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
	report := readReport(t, tl)
	wantLines(t, report, "supervise: stop escalated (preset huey, grace 4s from --grace-period)", "rung 2 INT at 2.1",
		"(drain deadline hit after 2.1")
	t.Logf("report:\n%s", report)
}

// KILL, and leftovers: a child that ignores everything, with a grandchild
// in its own session that ignores TERM, as PID 1.
func TestStopReportKilled(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "termination-log")
	p := start(t, options{env: signalsChild{ignore: "all"}.env()},
		"--listen", "off", "--stop", "TERM,1500ms,KILL", "--termination-log", tl, "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.signal(syscall.SIGTERM)
	if code := p.exit(10 * time.Second); code != 137 {
		t.Errorf("exit status %d, want 137", code)
	}
	// No grace period set reads as "unset", never as a zero grace.
	p.waitFor(`msg="stop report" outcome=killed.* grace=unset grace_from=unset `, time.Second)
	wantLines(t, readReport(t, tl), "supervise: stop killed (preset custom, grace unset)", "rung 2 KILL at 1.5",
		"child killed by KILL after", "exit status 137")
}

// The OOM killer: the report names it and the memory limit, as
// `kubectl describe pod` would show.
func TestStopReportOOM(t *testing.T) {
	dir := memoryCgroup(t)
	tl := filepath.Join(t.TempDir(), "termination-log")
	wrap := []string{"sh", "-c", `echo $$ > "$CG/cgroup.procs" && exec "$@"`, "sh"}
	p := start(t, options{wrap: wrap, env: append(allocChild{}.env(), "CG="+dir)},
		"--listen", "off", "--termination-log", tl, "--", self)
	p.exit(30 * time.Second)
	wantLines(t, readReport(t, tl), "supervise: the child ended on its own (killed by KILL), no stop signal; exit status 137",
		"the kernel's OOM killer ended the child; memory limit 67108864 bytes (64.0 MiB)")
}

// A termination log that cannot be written (a directory; a FIFO nobody
// reads) costs one warning, never the stop or the exit status.
func TestStopReportUnwritable(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, fifo} {
		p := start(t, options{env: exitChild{code: 3}.env()}, "--listen", "off", "--termination-log", path, "--", self)
		if code := p.exit(5 * time.Second); code != 3 {
			t.Errorf("%s: exit status %d, want 3", path, code)
		}
		p.waitFor(`cannot write the termination log`, time.Second)
	}
}

// A worker whose own shutdown timeout outlasts the planned drain is
// named at start, with what to set (here a program called gunicorn with
// --graceful-timeout 60 at a 30 s grace).
func TestWorkerTimeoutLongerThanDrain(t *testing.T) {
	link := filepath.Join(t.TempDir(), "gunicorn")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	p := start(t, options{env: exitChild{}.env()}, "--listen", "off", "--grace-period", "30s", "--",
		link, "--graceful-timeout", "60", "app:app")
	drain := drainOf(t, "gunicorn", 30*time.Second)
	l := p.waitFor(`gunicorn's --graceful-timeout 1m0s \(on its command line\) and the 1s it takes after it do not fit the planned drain, `+
		drain.String(), 10*time.Second)
	if want := fmt.Sprintf("set --graceful-timeout %d or less, or raise the grace period to at least %s", int((drain-time.Second)/time.Second),
		30*time.Second+61*time.Second-drain); !strings.Contains(l.text, want) {
		t.Errorf("no advice %q in %q", want, l.text)
	}
	p.exit(5 * time.Second)
	p = start(t, options{env: exitChild{}.env()}, "--listen", "off", "--grace-period", "30s", "--",
		link, "--graceful-timeout", "20", "app:app")
	p.exit(5 * time.Second)
	if p.count(`do not fit the planned drain`) != 0 {
		t.Error("a timeout inside the drain drew a warning")
	}
}

// Leftovers of two kinds: after the child exits, one process ends on the
// cleanup's TERM and one ignores it and needs KILL. The report counts
// both, and only the second as killed.
func TestStopReportLeftoverMix(t *testing.T) {
	tl := filepath.Join(t.TempDir(), "termination-log")
	ready := filepath.Join(t.TempDir(), "ready")
	// Two background processes in the child's group: the first sleeps and
	// dies of TERM, the second sleeps with TERM ignored (an ignore outlives
	// exec); the child says when both run and exits on the stop signal.
	script := `sleep 600 & (trap "" TERM; : > "$0"; exec sleep 600) & ` +
		`while [ ! -e "$0" ]; do sleep 0.02; done; echo both-running; trap "exit 0" TERM; while :; do sleep 0.05; done`
	p := start(t, options{}, "--listen", "off", "--termination-log", tl, "--cleanup-grace", "2s", "--preset", "generic",
		"--", "/bin/sh", "-c", script, ready)
	p.waitFor(`^both-running$`, 10*time.Second)
	p.signal(syscall.SIGTERM)
	p.waitFor(`processes left after the main child exited: sending TERM.* count=2`, 5*time.Second)
	p.waitFor(`processes left ignored TERM: sending KILL.* count=1`, 5*time.Second)
	p.exit(10 * time.Second)
	p.waitFor(`msg="stop report" .*leftovers=2 leftovers_killed=1`, time.Second)
	wantLines(t, readReport(t, tl), "2 processes left after the child: TERM, 1 needed KILL\n")
}
