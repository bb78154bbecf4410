package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// line is one line of output and when the test read it.
type line struct {
	text string
	at   time.Time
}

// proc is a running supervise, its output collected line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	cond  *sync.Cond
	lines []line
	eof   bool
	done  chan struct{}
	err   error
	pid   int    // supervise's pid as seen from the test
	pipe  string // the output pipe, as /proc/PID/fd names it: pipe:[INODE]
}

// options say how to start supervise. The zero value runs it as PID 1
// of a new PID namespace, as in a container.
type options struct {
	// host runs supervise in the test's own PID namespace instead, not as
	// PID 1 (for -s, the subreaper).
	host bool
	// env adds to the environment of supervise and its child: a child
	// spec's env() (children_test.go) and anything else.
	env []string
	// extraFiles are passed to supervise as fds 3 and up.
	extraFiles []*os.File
	// wrap runs supervise through this command prefix (e.g. a shell that
	// sets signal dispositions first).
	wrap []string
	// program, when set, is the path supervise is run by instead of the
	// binary's own (a link named as an engine names its init).
	program string
}

// start runs supervise with args and the helper environment.
func start(t *testing.T, o options, args ...string) *proc {
	t.Helper()
	prog := binary
	if o.program != "" {
		prog = o.program
	}
	argv := append([]string{prog}, args...)
	if len(o.wrap) > 0 {
		argv = append(append([]string{}, o.wrap...), argv...)
	}
	// Its own process group, so the test can clean up everything it started.
	attr := &syscall.SysProcAttr{Setpgid: true}
	if !o.host {
		// PID 1 of a new PID namespace, with /proc mounted for it (in a
		// mount namespace of its own, private, so the host's /proc is
		// untouched), as `unshare --pid --fork --mount-proc` would; but
		// the process the test starts is the namespace's init itself, and
		// it execs (a wrap, then) supervise, so the pid the test knows is
		// supervise's from the start. Finding it later as a child of
		// unshare raced a supervise that exits at once.
		attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
		argv = append([]string{"/bin/sh", "-c", `mount --make-rprivate / && mount -t proc proc /proc && exec "$@"`, "sh"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.ExtraFiles = o.extraFiles
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p := &proc{t: t, cmd: cmd, done: make(chan struct{})}
	p.pipe, _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", pr.Fd()))
	p.cond = sync.NewCond(&p.mu)
	go p.read(pr)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if p.pid != 0 {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		<-p.done
		p.reap()
		if t.Failed() {
			t.Logf("supervise output:\n%s", p.output())
		}
	})
	p.pid = cmd.Process.Pid
	return p
}

func (p *proc) read(r io.ReadCloser) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, line{sc.Text(), time.Now()})
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	r.Close()
	p.mu.Lock()
	p.eof = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// waitFor waits for a line matching re and returns it; it fails the test
// after timeout.
func (p *proc) waitFor(re string, timeout time.Duration) line {
	p.t.Helper()
	l, ok := p.find(re, timeout)
	if !ok {
		p.t.Fatalf("no line matching %q within %s", re, timeout)
	}
	return l
}

// wakeAt wakes every waiter on p.cond at the deadline, so waits with a
// deadline end even when no line comes; the function it returns cancels it.
func (p *proc) wakeAt(timeout time.Duration) (deadline time.Time, cancel func() bool) {
	timer := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	return time.Now().Add(timeout), timer.Stop
}

// find waits up to timeout for a line matching re.
func (p *proc) find(re string, timeout time.Duration) (line, bool) {
	rx := regexp.MustCompile(re)
	deadline, cancel := p.wakeAt(timeout)
	defer cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; ; i++ {
		for ; i < len(p.lines); i++ {
			if rx.MatchString(p.lines[i].text) {
				return p.lines[i], true
			}
		}
		if p.eof || !time.Now().Before(deadline) {
			return line{}, false
		}
		i--
		p.cond.Wait()
	}
}

// count counts the lines so far that match re.
func (p *proc) count(re string) int {
	rx := regexp.MustCompile(re)
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if rx.MatchString(l.text) {
			n++
		}
	}
	return n
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// signal sends sig to supervise and returns when it was sent.
func (p *proc) signal(sig syscall.Signal) time.Time {
	p.t.Helper()
	now := time.Now()
	if err := syscall.Kill(p.pid, sig); err != nil {
		p.t.Fatalf("kill(%d, %v): %v", p.pid, sig, err)
	}
	return now
}

// exit waits for supervise to exit and returns its exit status.
func (p *proc) exit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("supervise did not exit within %s", timeout)
	}
	// Let the reader take the last lines. Only a process that outlived
	// supervise can hold the pipe open past this: a leak, which fails
	// this test rather than hanging the package.
	if !p.waitEOF(2 * time.Second) {
		p.t.Errorf("supervise exited, but processes it left behind still hold its output:\n%s", p.holders())
		p.reap()
		p.waitEOF(2 * time.Second)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// waitEOF waits up to timeout for the end of supervise's output.
func (p *proc) waitEOF(timeout time.Duration) bool {
	deadline, cancel := p.wakeAt(timeout)
	defer cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.eof && time.Now().Before(deadline) {
		p.cond.Wait()
	}
	return p.eof
}

// holderPIDs lists the processes that hold supervise's output pipe.
func (p *proc) holderPIDs() []int {
	var out []int
	if p.pipe == "" {
		return nil
	}
	for _, q := range procs() {
		if q.pid == os.Getpid() {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", q.pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", q.pid, fd.Name())); l == p.pipe {
				out = append(out, q.pid)
				break
			}
		}
	}
	return out
}

// holders renders holderPIDs as a process listing.
func (p *proc) holders() string {
	var b strings.Builder
	for _, pid := range p.holderPIDs() {
		st, _ := statOf(pid)
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(&b, "  pid %d ppid %d state %s: %s\n", pid, st.ppid, st.state, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "))
	}
	return b.String()
}

// reap kills whatever still holds supervise's output, so no test leaves a
// process behind for the next.
func (p *proc) reap() {
	for _, pid := range p.holderPIDs() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitUntil polls cond until it holds, and fails the test, naming what it
// waited for, when it does not within timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
	}
}

// within fails unless got is within tol of want.
func within(t *testing.T, what string, got, want, tol time.Duration) {
	t.Helper()
	if d := got - want; d < -tol || d > tol {
		t.Errorf("%s: got %s, want %s ± %s", what, got.Round(time.Millisecond), want, tol)
	} else {
		t.Logf("%s: %s (plan %s)", what, got.Round(time.Millisecond), want)
	}
}

// startHuey runs the Huey-semantics helper under supervise as PID 1 with
// the huey preset, a task of the given length, extra helper environment
// and supervise options, and waits until its task has started.
func startHuey(t *testing.T, task string, env []string, args ...string) *proc {
	t.Helper()
	argv := append(append([]string{"--preset", "huey"}, args...), "--", self)
	p := start(t, options{env: append(hueyChild{task: task}.env(), env...)}, argv...)
	p.waitFor(`^task started`, 10*time.Second)
	return p
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// write writes a file the test needs, or fails it.
func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
