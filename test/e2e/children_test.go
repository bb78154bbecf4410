package e2e

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/signals"
)

// helperEnv names the variable that turns this test binary into a helper.
const helperEnv = "E2E_HELPER"

// The child programs, as typed specs: each spec's env() is the
// environment that makes the test binary that helper, configured. The
// HELPER_* names below are the only place the helpers' settings are
// spelled.

// hueyChild behaves as Huey's consumer does on signals (hueyHelper).
type hueyChild struct {
	task        string // how long its one task runs ("60s")
	ignoreNoise bool   // ignore USR1, USR2, WINCH, HUP, ALRM
}

func (c hueyChild) env() []string {
	return spec("huey", "HELPER_TASK", c.task, "HELPER_IGNORE_NOISE", flag(c.ignoreNoise))
}

// signalsChild reports each signal it gets (signalsHelper).
type signalsChild struct {
	ignore     string // signals it ignores: "all", or names like "INT,TERM"
	exitOn     string // signals that make it exit 0
	grandchild bool   // also start a grandchild that reports its signals
	setsid     bool   // ... in a session of its own
}

func (c signalsChild) env() []string {
	return spec("signals", "HELPER_IGNORE", c.ignore, "HELPER_EXIT_ON", c.exitOn,
		"HELPER_GRANDCHILD", flag(c.grandchild), "HELPER_GRANDCHILD_SETSID", flag(c.setsid))
}

// exitChild exits with code at once (exitHelper); with runs set, the
// start numbered longRun first runs for long.
type exitChild struct {
	code    int
	runs    string // a file counting the starts
	longRun int
	long    string
}

func (c exitChild) env() []string {
	return spec("exit", "HELPER_CODE", strconv.Itoa(c.code), "HELPER_RUNS", c.runs,
		"HELPER_LONG_RUN", strconv.Itoa(c.longRun), "HELPER_LONG", c.long)
}

// zombiesChild makes total orphans in bursts of burst (zombiesHelper).
type zombiesChild struct{ total, burst int }

func (c zombiesChild) env() []string {
	return spec("zombies", "HELPER_ZOMBIES", strconv.Itoa(c.total), "HELPER_BURST", strconv.Itoa(c.burst))
}

// treeChild starts a grandchild in its own session, then exits with code
// after after, or waits for a stop when after is empty (treeHelper).
type treeChild struct {
	after       string
	code        int
	sleeperTerm bool // the grandchild obeys TERM (else it ignores it)
}

func (c treeChild) env() []string {
	return spec("tree", "HELPER_AFTER", c.after, "HELPER_CODE", strconv.Itoa(c.code), "HELPER_SLEEPER_TERM", flag(c.sleeperTerm))
}

// allocChild allocates memory until a limit stops it (allocHelper).
type allocChild struct{}

func (allocChild) env() []string { return spec("alloc") }

// spec builds a helper's environment from name and KEY, value pairs,
// leaving out empty values.
func spec(name string, kv ...string) []string {
	out := []string{helperEnv + "=" + name}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, kv[i]+"="+kv[i+1])
		}
	}
	return out
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// helpers are the child programs tests run under supervise.
var helpers = map[string]func() int{
	"huey":    hueyHelper,
	"signals": signalsHelper,
	"exit":    exitHelper,
	"zombies": zombiesHelper,
	"tree":    treeHelper,
	"inspect": inspectHelper,
	"alloc":   allocHelper,
}

// allocHelper allocates memory in 16 MiB steps, touching every page, up
// to 2 GiB, then exits 0; a memory limit stops it first.
func allocHelper() int {
	ready()
	var keep [][]byte
	for i := 0; i < 128; i++ {
		b := make([]byte, 16<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	say("allocated %d MiB", len(keep)*16)
	return 0
}

func runHelper(name string) int {
	h, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
		return 99
	}
	return h()
}

func say(format string, a ...any) {
	// One write per line: lines from several processes never interleave.
	os.Stdout.WriteString(fmt.Sprintf(format, a...) + "\n")
}

func ready() {
	say("ready pid=%d pgid=%d", os.Getpid(), syscall.Getpgrp())
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// hueyHelper behaves as WORKERS.md describes Huey's consumer: INT drains
// (the running task finishes, then exit 0), TERM aborts the task at once,
// TERM during an INT drain is ignored, and a second INT stops at once.
func hueyHelper() int {
	task := envDuration("HELPER_TASK", time.Minute)
	if os.Getenv("HELPER_IGNORE_NOISE") == "1" {
		signal.Ignore(syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGHUP, syscall.SIGALRM)
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	ready()
	say("task started duration=%s", task)
	done := time.After(task)
	draining := false
	for {
		select {
		case <-done:
			say("task done")
			if draining {
				return 0
			}
			done = nil
		case s := <-sigs:
			say("signal %s", signals.Name(s.(syscall.Signal)))
			switch {
			case s == syscall.SIGINT && !draining:
				draining = true
				say("draining")
				if done == nil {
					return 0
				}
			case s == syscall.SIGINT:
				say("task interrupted")
				return 0
			case s == syscall.SIGTERM && !draining:
				say("task aborted")
				return 0
			default:
				say("ignored %s", signals.Name(s.(syscall.Signal)))
			}
		}
	}
}

// signalsHelper prints one line per signal it gets. HELPER_IGNORE lists
// signals to ignore ("all" for every catchable one); HELPER_EXIT_ON lists
// signals that make it exit 0. HELPER_GRANDCHILD=1 also starts a grandchild
// in the same process group that reports its signals the same way.
func signalsHelper() int {
	ignore := os.Getenv("HELPER_IGNORE")
	exitOn := map[syscall.Signal]bool{}
	for _, n := range strings.Split(os.Getenv("HELPER_EXIT_ON"), ",") {
		if s, err := signals.Parse(n); err == nil {
			exitOn[s] = true
		}
	}
	var watched []os.Signal
	for _, s := range signals.Forwardable() {
		if ignore == "all" || strings.Contains(","+ignore+",", ","+signals.Name(s)+",") {
			signal.Ignore(s)
			continue
		}
		watched = append(watched, s)
	}
	sigs := make(chan os.Signal, 256)
	signal.Notify(sigs, watched...)
	role := "child"
	if os.Getenv("HELPER_ROLE") == "grandchild" {
		role = "grandchild"
	} else if os.Getenv("HELPER_GRANDCHILD") == "1" {
		// HELPER_GRANDCHILD_SETSID=1 puts it in a session of its own, as
		// RQ's work-horse is.
		p, err := os.StartProcess(self, []string{self}, &os.ProcAttr{
			Env:   append(os.Environ(), "HELPER_ROLE=grandchild", "HELPER_GRANDCHILD=0", "HELPER_EXIT_ON="),
			Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
			Sys:   &syscall.SysProcAttr{Setsid: os.Getenv("HELPER_GRANDCHILD_SETSID") == "1"},
		})
		if err == nil {
			go p.Wait()
		}
	}
	say("%s ready pid=%d pgid=%d", role, os.Getpid(), syscall.Getpgrp())
	for s := range sigs {
		sig := s.(syscall.Signal)
		say("%s signal %s", role, signals.Name(sig))
		if exitOn[sig] {
			say("%s exiting on %s", role, signals.Name(sig))
			return 0
		}
	}
	return 0
}

// exitHelper exits with HELPER_CODE. With HELPER_RUNS=FILE it appends a
// line to FILE at each start, and the start numbered HELPER_LONG_RUN
// runs for HELPER_LONG (a duration) before it exits.
func exitHelper() int {
	ready()
	if f := os.Getenv("HELPER_RUNS"); f != "" {
		b, _ := os.ReadFile(f)
		n := strings.Count(string(b), "\n") + 1
		os.WriteFile(f, append(b, '\n'), 0o644)
		if strconv.Itoa(n) == os.Getenv("HELPER_LONG_RUN") {
			time.Sleep(envDuration("HELPER_LONG", 0))
		}
	}
	code, _ := strconv.Atoi(os.Getenv("HELPER_CODE"))
	return code
}

// zombiesHelper makes HELPER_ZOMBIES orphans in bursts of HELPER_BURST:
// a spawner child starts a burst of short-lived processes and exits at
// once, so they are re-parented to supervise, and the next burst waits
// until supervise has reaped the last. Then it says "storm done" and waits
// for TERM, on which it exits 7.
func zombiesHelper() int {
	total, _ := strconv.Atoi(os.Getenv("HELPER_ZOMBIES"))
	burst, _ := strconv.Atoi(os.Getenv("HELPER_BURST"))
	if os.Getenv("HELPER_ROLE") == "spawner" {
		return spawnBurst(burst)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	ready()
	for made := 0; made < total; made += burst {
		n := min(burst, total-made)
		p, err := os.StartProcess(self, []string{self}, &os.ProcAttr{
			Env:   append(os.Environ(), "HELPER_ROLE=spawner", "HELPER_BURST="+strconv.Itoa(n)),
			Files: []*os.File{nil, os.Stdout, os.Stderr},
		})
		if err != nil {
			say("spawner: %v", err)
			return 1
		}
		p.Wait()
		// Bound what is outstanding: wait for supervise (the parent, to
		// which the orphans go) to reap this burst.
		deadline := time.Now().Add(30 * time.Second)
		for zombiesOf(os.Getppid()) > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	say("storm done")
	<-sigs
	return 7
}

// spawnBurst starts n copies of /bin/true without waiting for them.
// os.StartProcess uses a vfork-style clone, so each costs little.
func spawnBurst(n int) int {
	attr := &os.ProcAttr{Files: []*os.File{nil, nil, nil}}
	for i := 0; i < n; i++ {
		if _, err := os.StartProcess("/bin/true", []string{"true"}, attr); err != nil {
			say("spawn: %v", err)
			return 1
		}
	}
	return 0
}

// zombiesOf counts the zombies whose parent is ppid: only what the test
// made, never a stray zombie elsewhere on the machine.
func zombiesOf(ppid int) int {
	n := 0
	for _, p := range procs() {
		if p.ppid == ppid && p.state == "Z" {
			n++
		}
	}
	return n
}

// treeHelper starts a grandchild in a new session (as RQ's work-horse
// does) that sleeps, says its pid, and exits with HELPER_CODE after
// HELPER_AFTER (or waits for signals when unset).
func treeHelper() int {
	if os.Getenv("HELPER_ROLE") == "sleeper" {
		if os.Getenv("HELPER_SLEEPER_TERM") != "1" {
			signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		}
		time.Sleep(time.Hour)
		return 0
	}
	p, err := os.StartProcess(self, []string{self}, &os.ProcAttr{
		Env:   append(os.Environ(), "HELPER_ROLE=sleeper"),
		Files: []*os.File{nil, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		say("start: %v", err)
		return 1
	}
	say("grandchild pid=%d", p.Pid)
	ready()
	if d := envDuration("HELPER_AFTER", 0); d > 0 {
		time.Sleep(d)
		code, _ := strconv.Atoi(os.Getenv("HELPER_CODE"))
		return code
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	s := <-sigs
	say("signal %s", signals.Name(s.(syscall.Signal)))
	return 0
}

// inspectHelper reports what the child was started with: open fds,
// blocked and ignored signals, ids, process group and the terminal's
// foreground group, then exits 0.
func inspectHelper() int {
	var fds []string
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, _ := d.Readdirnames(-1)
		for _, n := range names {
			if n != strconv.Itoa(int(d.Fd())) {
				fds = append(fds, n)
			}
		}
		d.Close()
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "SigBlk:") || strings.HasPrefix(l, "SigIgn:") {
			f := strings.Fields(l)
			say("%s %s", strings.TrimSuffix(f[0], ":"), f[1])
		}
	}
	say("fds %s", strings.Join(fds, ","))
	groups, _ := syscall.Getgroups()
	say("ids uid=%d gid=%d groups=%v home=%s", os.Getuid(), os.Getgid(), groups, os.Getenv("HOME"))
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	say("pgrp=%d pid=%d tty_fg=%d tty_err=%v", syscall.Getpgrp(), os.Getpid(), fg, err)
	return 0
}
