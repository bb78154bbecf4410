package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The child starts with the signal mask and ignored signals supervise was
// started with, none of supervise's own dispositions, and no descriptors
// but 0, 1 and 2.
func TestChildInheritsMaskAndIgnores(t *testing.T) {
	// A real parent, python3, blocks USR1 and ignores each signal whose
	// ignore supervise can see at start (HUP, INT, TTIN, TTOU, TSTP), then
	// execs supervise: the child has them all.
	wrap := []string{"/usr/bin/python3", "-c",
		"import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1]); " +
			"[signal.signal(s, signal.SIG_IGN) for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTTIN, signal.SIGTTOU, signal.SIGTSTP)]; " +
			"os.execv(sys.argv[1], sys.argv[1:])"}
	p := start(t, options{wrap: wrap}, "--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status")
	p.exit(10 * time.Second)
	blk := sigMask(t, p, "SigBlk")
	ign := sigMask(t, p, "SigIgn")
	if blk != 1<<(syscall.SIGUSR1-1) {
		t.Errorf("child's blocked mask %#x, want only USR1 (%#x)", blk, 1<<(syscall.SIGUSR1-1))
	}
	var want uint64
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGTSTP} {
		want |= 1 << (s - 1)
	}
	if ign != want {
		t.Errorf("child's ignored mask %#x, want HUP, INT, TTIN, TTOU and TSTP (%#x)", ign, want)
	}
	t.Logf("under a parent that ignores HUP INT TTIN TTOU TSTP and blocks USR1: child SigIgn %#x, SigBlk %#x", ign, blk)

	// Started with nothing blocked or ignored, the child ignores and blocks
	// nothing either: supervise's own dispositions do not leak.
	reset := []string{"/usr/bin/python3", "-c",
		"import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); " +
			"[signal.signal(s, signal.SIG_DFL) for s in range(1, 32) if s not in (9, 19)]; os.execv(sys.argv[1], sys.argv[1:])"}
	p = start(t, options{wrap: reset}, "--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status")
	p.exit(10 * time.Second)
	if blk, ign := sigMask(t, p, "SigBlk"), sigMask(t, p, "SigIgn"); blk != 0 || ign != 0 {
		t.Errorf("child started with blocked %#x ignored %#x, want none (no TTIN/TTOU/PIPE leak)", blk, ign)
	}
}

// Descriptors supervise inherits reach the child as they are, at the
// same numbers, as under tini and catatonit (podman --preserve-fds, a
// parent handing a pipe down); supervise's own (its health listener, the
// child's /proc files it holds open) never do. --close-fds gives the
// child 0, 1 and 2 only.
func TestChildInheritsFiles(t *testing.T) {
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		// 3 and 4 at least: the test may have inherited more itself.
		{nil, "3,4"},
		{[]string{"--close-fds"}, "0,1,2"},
	} {
		// sh opens nothing of its own for -c; the test reads its fds from
		// outside. supervise listens, so its own socket is there to leak.
		args := append(append([]string{"-s", "--listen", freeAddr(t)}, c.args...), "--", "sh", "-c", `echo "pid $$"; exec sleep 60`)
		p := start(t, options{host: true, extraFiles: []*os.File{f, f}}, args...)
		l := p.waitFor(`^pid \d+$`, 10*time.Second)
		pid := strings.TrimPrefix(l.text, "pid ")
		ents, err := os.ReadDir("/proc/" + pid + "/fd")
		if err != nil {
			t.Fatal(err)
		}
		var fds, devnull []string
		for _, e := range ents {
			fds = append(fds, e.Name())
			target, _ := os.Readlink("/proc/" + pid + "/fd/" + e.Name())
			if strings.HasPrefix(target, "socket:") {
				t.Errorf("%v: the child has supervise's socket as fd %s", c.args, e.Name())
			}
			if n, _ := strconv.Atoi(e.Name()); target == "/dev/null" && (n == 3 || n == 4) {
				devnull = append(devnull, e.Name())
			}
		}
		got := strings.Join(devnull, ",")
		if c.args != nil {
			got = strings.Join(fds, ",")
		}
		if got != c.want {
			t.Errorf("%v: child's descriptors %s, want %s", c.args, strings.Join(fds, ","), c.want)
		}
		p.signal(syscall.SIGTERM)
		p.exit(10 * time.Second)
	}
}

// Socket activation through supervise, as through catatonit: a parent
// passes a listening socket at fd 3 with LISTEN_FDS=1 and LISTEN_PID
// naming supervise (PID 1 here); the child sees LISTEN_PID equal to its
// own pid, serves the socket, and starts with the signal mask a child
// started directly gets, without supervise's variable. With --close-fds
// the socket and the LISTEN_ variables are gone.
func TestListenFDs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sock, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	child := `import os, socket, sys
print("pid", os.getpid(), "LISTEN_PID", os.environ.get("LISTEN_PID"), "LISTEN_FDS", os.environ.get("LISTEN_FDS"),
      "SUPERVISE_LISTEN_EXEC", os.environ.get("SUPERVISE_LISTEN_EXEC"), flush=True)
print([l for l in open("/proc/self/status") if l.startswith("SigBlk")][0].strip(), flush=True)
if os.environ.get("LISTEN_PID") == str(os.getpid()):
    s = socket.socket(fileno=3)
    c, _ = s.accept()
    c.sendall(b"served by the child\n")
    c.close()
`
	// A parent that blocks USR1, as in TestChildInheritsMaskAndIgnores.
	wrap := []string{"/usr/bin/python3", "-c",
		"import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1]); os.execv(sys.argv[1], sys.argv[1:])"}
	env := []string{"LISTEN_FDS=1", "LISTEN_PID=1"}
	p := start(t, options{env: env, extraFiles: []*os.File{sock}, wrap: wrap}, "--listen", "off", "--", python, "-c", child)
	got := p.waitFor(`^pid \d+ LISTEN_PID`, 10*time.Second)
	f := strings.Fields(got.text)
	if f[1] != f[3] || f[5] != "1" || f[7] != "None" {
		t.Errorf("the child saw %q: want LISTEN_PID its own pid, LISTEN_FDS 1, no SUPERVISE_LISTEN_EXEC", got.text)
	}
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, _ := io.ReadAll(c)
	c.Close()
	if string(reply) != "served by the child\n" {
		t.Errorf("connection to the passed socket got %q", reply)
	}
	if blk := sigMask(t, p, "SigBlk"); blk != 1<<(syscall.SIGUSR1-1) {
		t.Errorf("the child's blocked mask %#x through the trampoline, want only USR1 (%#x)", blk, 1<<(syscall.SIGUSR1-1))
	}
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}

	p = start(t, options{env: env, extraFiles: []*os.File{sock}}, "--listen", "off", "--close-fds", "--", python, "-c", child)
	got = p.waitFor(`^pid \d+ LISTEN_PID`, 10*time.Second)
	if f := strings.Fields(got.text); f[3] != "None" || f[5] != "None" {
		t.Errorf("with --close-fds the child saw %q: want no LISTEN_ variables", got.text)
	}
	p.exit(10 * time.Second)
}

// libcSignals are signals 32 and 33, which glibc keeps for its threads. A
// race build of supervise links glibc (the race runtime needs cgo), and its
// handling of these two shows in the child; the static build never does.
const libcSignals = 1<<31 | 1<<32

// sigMask reads a signal mask line the child printed, less libcSignals.
func sigMask(t *testing.T, p *proc, field string) uint64 {
	t.Helper()
	l := p.waitFor(`^`+field+`:`, time.Second)
	v, err := strconv.ParseUint(strings.Fields(l.text)[1], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v &^ libcSignals
}

// On a terminal, the child's process group becomes the foreground group:
// Ctrl-C reaches the child from the kernel, not through supervise.
func TestTerminalForeground(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(binary, "--preset", "none", "--", self)
	cmd.Env = append(os.Environ(), hueyChild{task: "1h"}.env()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(lines)
	}()
	wait := func(re string) string {
		t.Helper()
		rx := regexp.MustCompile(re)
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("terminal closed before %q", re)
				}
				if rx.MatchString(l) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q on the terminal", re)
			}
		}
	}
	l := wait(`^ready pid=\d+ pgid=\d+`)
	var pid, pgid int
	fmt.Sscanf(l, "ready pid=%d pgid=%d", &pid, &pgid)
	if pgid != pid {
		t.Errorf("child pgid %d, want its own group %d", pgid, pid)
	}
	fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
	if err != nil || fg != pgid {
		t.Errorf("terminal foreground group %d (%v), want the child's %d", fg, err, pgid)
	}
	// The terminal echoes ^C, which may start the next line.
	master.Write([]byte{3}) // Ctrl-C
	wait(`signal INT$`)
	wait(`draining$`)
	master.Write([]byte{3}) // a second Ctrl-C: the helper stops at once
	wait(`task interrupted$`)
	if err := cmd.Wait(); err != nil {
		t.Errorf("supervise: %v", err)
	}
}

// openPTY opens a pseudo-terminal pair through /dev/ptmx.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("SKIP: no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// --restart on-failure restarts with a growing backoff and honours
// --restart-max; the last status is reported.
func TestRestartOnFailure(t *testing.T) {
	p := start(t, options{env: exitChild{code: 1}.env()},
		"--restart", "on-failure", "--restart-max", "2", "--", self)
	if code := p.exit(20 * time.Second); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if n := p.count(`started child`); n != 3 {
		t.Errorf("%d starts, want 3", n)
	}
	p.waitFor(`restarting.* in=1s restart=1`, time.Second)
	p.waitFor(`restarting.* in=2s restart=2`, time.Second)
	p.waitFor(`restart limit reached`, time.Second)
}

// on-failure does not restart a clean exit.
func TestRestartOnFailureCleanExit(t *testing.T) {
	p := start(t, options{env: exitChild{code: 0}.env()},
		"--restart", "on-failure", "--", self)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if n := p.count(`started child`); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// A stop during the restart backoff ends supervise at once.
func TestStopDuringBackoff(t *testing.T) {
	p := start(t, options{env: exitChild{code: 4}.env()},
		"--restart", "always", "--", self)
	p.waitFor(`restarting`, 10*time.Second)
	sent := p.signal(syscall.SIGTERM)
	code := p.exit(5 * time.Second)
	if took := time.Since(sent); took > 500*time.Millisecond {
		t.Errorf("supervise took %s to exit during backoff", took)
	}
	if code != 4 {
		t.Errorf("exit status %d, want the last child's 4", code)
	}
	if n := p.count(`started child`); n != 1 {
		t.Errorf("%d starts, want 1", n)
	}
}

// --user runs the child as another user with that user's groups and HOME.
func TestUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("SKIP: --user needs root")
	}
	p := start(t, options{}, "--user", "nobody", "--", "sh", "-c", `echo "ids $(id -u) $(id -g) $(id -G) $HOME"`)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	p.waitFor(`^ids 65534 65534 65534 /nonexistent$`, time.Second)

	p = start(t, options{}, "--user", "4321:8765", "--", "sh", "-c", `echo "ids $(id -u) $(id -g) $(id -G) $HOME"`)
	p.exit(10 * time.Second)
	p.waitFor(`^ids 4321 8765 8765 /$`, time.Second)
}

// A uid that /etc/passwd does not know runs with that uid, the same gid,
// no supplementary groups (not supervise's own, not root's) and HOME=/,
// as the kernel says of the child itself (/proc/PID/status: real,
// effective, saved and filesystem ids).
func TestUserNotInPasswd(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("SKIP: --user needs root")
	}
	if passwd, _ := os.ReadFile("/etc/passwd"); regexp.MustCompile(`(?m)^[^:]*:[^:]*:12345:`).Match(passwd) {
		t.Skip("SKIP: uid 12345 is in this machine's /etc/passwd")
	}
	p := start(t, options{}, "--user", "12345", "--", "sh", "-c",
		`grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo "home $HOME"`)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	p.waitFor(`^Uid:\s+12345\s+12345\s+12345\s+12345$`, time.Second)
	p.waitFor(`^Gid:\s+12345\s+12345\s+12345\s+12345$`, time.Second)
	p.waitFor(`^Groups:\s*$`, time.Second)
	p.waitFor(`^home /$`, time.Second)
}

// The restart backoff, measured from the starts of successive children:
// 1 s, then 2 s, then 4 s; and a child that ran 30 s or more starts the
// series over, so the next restart comes after 1 s again.
func TestRestartBackoffMeasured(t *testing.T) {
	t.Parallel()
	runs := filepath.Join(t.TempDir(), "runs")
	p := start(t, options{env: exitChild{code: 1, runs: runs, longRun: 4, long: "31s"}.env()},
		"--listen", "off", "--restart", "on-failure", "--restart-max", "4", "--", self)
	if code := p.exit(60 * time.Second); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	var starts, exits []time.Time
	p.mu.Lock()
	for _, l := range p.lines {
		if strings.HasPrefix(l.text, "ready pid=") {
			starts = append(starts, l.at)
		}
		if strings.Contains(l.text, `msg="child exited`) {
			exits = append(exits, l.at)
		}
	}
	p.mu.Unlock()
	if len(starts) != 5 || len(exits) != 5 {
		t.Fatalf("%d starts and %d exits, want 5 each", len(starts), len(exits))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second}
	for i, w := range want {
		// From the child's exit to the next child's first line.
		within(t, fmt.Sprintf("restart %d wait", i+1), starts[i+1].Sub(exits[i]), w, 250*time.Millisecond)
	}
}
