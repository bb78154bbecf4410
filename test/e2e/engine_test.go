package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// engineInit is supervise under the name an engine runs its injected
// init by (Docker's /sbin/docker-init, podman's /run/podman-init): a
// symlink to the binary under test.
func engineInit(t *testing.T, name string) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// listens reports whether process pid holds a listening TCP socket: one
// of its socket descriptors is in the LISTEN state in /proc/net/tcp.
func listens(t *testing.T, pid int) bool {
	t.Helper()
	inodes := map[string]bool{}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			inodes[strings.TrimSuffix(in, "]")] = true
		}
	}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) > 9 && fs[3] == "0A" && inodes[fs[9]] {
				return true
			}
		}
	}
	return false
}

// Run as an engine's injected init, in a container that never asked for
// supervise: as under tini, nothing listens and a clean run prints
// nothing; the exit status is the child's.
func TestEngineInitQuiet(t *testing.T) {
	for _, name := range []string{"docker-init", "podman-init"} {
		init := engineInit(t, name)
		p := start(t, options{program: init}, "--", "sh", "-c", `echo "child $$"; sleep 0.3; exit 3`)
		p.waitFor(`^child \d+$`, 10*time.Second)
		if listens(t, p.pid) {
			t.Errorf("%s: supervise listens", name)
		}
		if code := p.exit(10 * time.Second); code != 3 {
			t.Errorf("%s: exit status %d, want the child's 3", name, code)
		}
		if out := strings.TrimSpace(p.output()); !strings.HasPrefix(out, "child ") || strings.Count(out, "\n") != 0 {
			t.Errorf("%s: output %q, want the child's line only", name, out)
		}
		// supervise plan, run by the same name, says which defaults apply.
		out, _ := exec.Command(init, "plan", "--", "sleep", "1").CombinedOutput()
		if !strings.Contains(string(out), "defaults:     run as "+name+", the engine's injected init: no health server") {
			t.Errorf("%s plan:\n%s", name, out)
		}
	}
}

// The container's environment turns each feature on, and a recognised
// worker's stop is translated either way: the start line says which
// defaults applied and why.
func TestEngineInitWorker(t *testing.T) {
	init := engineInit(t, "docker-init")
	link := filepath.Join(t.TempDir(), "huey_consumer")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	env := append(hueyChild{task: "2s"}.env(), "SUPERVISE_LOG_LEVEL=info", "SUPERVISE_GRACE_PERIOD=10s")
	p := start(t, options{env: env, program: init}, "--", link, "app.huey")
	p.waitFor(`stop protocol.*preset=huey .*defaults="run as docker-init, the engine's injected init: no health server \(SUPERVISE_LISTEN sets one\)"`,
		10*time.Second)
	p.waitFor(`^task started`, 10*time.Second)
	if listens(t, p.pid) {
		t.Error("supervise listens without SUPERVISE_LISTEN")
	}
	p.signal(syscall.SIGTERM)
	p.waitFor(`^signal INT$`, 2*time.Second)
	p.waitFor(`^task done$`, 5*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}

	// SUPERVISE_LISTEN turns the health server on; a quiet worker's stop
	// is still Huey's INT, with nothing printed by supervise.
	addr := freeAddr(t)
	p = start(t, options{env: append(hueyChild{task: "2s"}.env(), "SUPERVISE_LISTEN="+addr), program: init}, "--", link, "app.huey")
	p.waitFor(`^task started`, 10*time.Second)
	waitListening(t, addr, 5*time.Second)
	p.signal(syscall.SIGTERM)
	p.waitFor(`^signal INT$`, 2*time.Second)
	p.exit(10 * time.Second)
	if n := p.count(`^\[supervise\]`); n != 0 {
		t.Errorf("%d lines from supervise, want none:\n%s", n, p.output())
	}
}

// -P is catatonit's pause mode, as podman 4.8 and later start the
// configured init for a pod's infra container: no child, every process
// re-parented to it reaped, other signals ignored, exit 0 on TERM.
func TestPause(t *testing.T) {
	p := start(t, options{}, "-P", "--listen", "off")
	p.waitFor(`pause: no child`, 5*time.Second)
	// An orphan in its PID namespace: nsenter's shell starts a sleep and
	// exits, the sleep is re-parented to supervise (PID 1 there), and
	// when it ends supervise reaps it.
	if out, err := exec.Command("nsenter", "--target", fmt.Sprint(p.pid), "--pid", "/bin/sh", "-c", `sleep 1 >/dev/null 2>&1 & echo $!`).CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v %s", err, out)
	}
	var orphan int
	for _, q := range procs() {
		if q.ppid == p.pid {
			orphan = q.pid
		}
	}
	if orphan == 0 {
		var sleeps []string
		for _, q := range procs() {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", q.pid)); strings.HasPrefix(string(cmd), "sleep") {
				sleeps = append(sleeps, fmt.Sprintf("%+v", q))
			}
		}
		t.Fatalf("no orphan re-parented to supervise (pid %d): %v", p.pid, sleeps)
	}
	waitUntil(t, "the orphan reaped", 5*time.Second, func() bool { _, ok := statOf(orphan); return !ok })
	p.signal(syscall.SIGHUP)
	p.signal(syscall.SIGUSR1)
	if _, ok := p.find(`pause: stopping`, 300*time.Millisecond); ok {
		t.Fatal("pause stopped on HUP or USR1")
	}
	p.signal(syscall.SIGTERM)
	if code := p.exit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	out, err := exec.Command(binary, "-P", "--", "true").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "-P (pause) runs no child") {
		t.Errorf("-P with a command: %v %q", err, out)
	}
}
