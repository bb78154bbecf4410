//go:build cgroup2

// Package vm runs supervise in a real Linux kernel booted under qemu, for
// what this machine's kernel cannot show: a pure cgroup v2 hierarchy (the
// build machine runs cgroup v1 for memory). The kernel is Debian's, fetched
// and unpacked once (kernel.sh), never installed; the initramfs is
// busybox-static, supervise and a memory hog, made by the test; init.sh
// runs the cases and prints every result on the serial console.
package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed init.sh
var initScript []byte

// boot builds the initramfs, boots the kernel under qemu (TCG) and
// returns the console's lines by case ("A| text" is case "a"), and how
// long the machine ran.
func boot(t *testing.T) (map[string][]string, time.Duration) {
	t.Helper()
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("SKIP: no qemu-system-x86_64 (apt-get install qemu-system-x86)")
	}
	out, err := exec.Command("./kernel.sh").Output()
	if err != nil {
		t.Skipf("SKIP: Debian's kernel package cannot be had: %v", err)
	}
	kernel := strings.TrimSpace(string(out))
	busybox, err := exec.LookPath("busybox")
	if err != nil || !static(busybox) {
		t.Skip("SKIP: no static busybox (apt-get install busybox-static)")
	}
	dir := t.TempDir()
	for _, b := range []struct{ name, pkg, goarch string }{
		{"supervise", "../../cmd/supervise", ""}, {"hog", "./hog", ""}, {"supervise-386", "../../cmd/supervise", "386"}} {
		build := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w",
			"-o", filepath.Join(dir, b.name), b.pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b.goarch != "" {
			build.Env = append(build.Env, "GOARCH="+b.goarch)
		}
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	// The release's own 386 binary, when scripts/release-check gives it
	// (a kernel without IA32 emulation cannot run it, and qemu-i386-static
	// cannot run Go's 386 runtime).
	i386 := filepath.Join(dir, "supervise-386")
	if p := os.Getenv("SUPERVISE_386"); p != "" {
		i386 = p
	}
	initrd := filepath.Join(dir, "initrd.gz")
	writeInitramfs(t, initrd, []cpioFile{
		{name: "init", mode: 0o755, data: initScript},
		{name: "bin/busybox", mode: 0o755, src: busybox},
		{name: "bin/supervise", mode: 0o755, src: filepath.Join(dir, "supervise")},
		{name: "bin/hog", mode: 0o755, src: filepath.Join(dir, "hog")},
		{name: "bin/supervise-386", mode: 0o755, src: i386},
	}, "bin", "proc", "sys", "dev", "tmp")

	// The machine powers itself off; the timeout is for a kernel that
	// hangs. TCG boots this in 16-20 s here; the cases take as long again.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-M", "pc", "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 panic=-1 quiet loglevel=3")
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	t0 := time.Now()
	err = cmd.Run()
	took := time.Since(t0)
	if ctx.Err() != nil {
		t.Fatalf("the machine did not power off within 4 minutes:\n%s", tail(console.String(), 60))
	}
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, tail(console.String(), 60))
	}
	cases := map[string][]string{}
	sc := bufio.NewScanner(&console)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if name, text, ok := strings.Cut(line, "| "); ok && len(name) < 16 && !strings.Contains(name, " ") {
			cases[strings.ToLower(name)] = append(cases[strings.ToLower(name)], text)
		}
	}
	if !slicesContains(cases["vm"], "done") {
		t.Fatalf("the machine did not run every case:\n%s", tail(console.String(), 80))
	}
	t.Logf("booted %s and ran the cases in %s: %s", filepath.Base(kernel), took.Round(100*time.Millisecond), cases["vm"][0])
	return cases, took
}

// static reports whether the ELF file at path has no interpreter.
func static(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

func slicesContains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var (
	bootOnce  sync.Once
	bootCases map[string][]string
	bootErr   string
)

// booted boots the machine once for every test of the package.
func booted(t *testing.T) map[string][]string {
	t.Helper()
	bootOnce.Do(func() {
		// A sub-test's failure or skip must reach the caller: boot runs
		// in its own test and its verdict is kept.
		ok := t.Run("boot", func(t *testing.T) { bootCases, _ = boot(t) })
		if !ok {
			bootErr = "the machine did not boot and run its cases (see boot)"
		}
	})
	if bootErr != "" {
		t.Fatal(bootErr)
	}
	if bootCases == nil {
		t.Skip("SKIP: the machine was not booted (see boot's SKIP)")
	}
	return bootCases
}

// TestI386 checks the 386 binary on a real x86-64 kernel with IA32
// emulation: its version, and as PID 1 a stop that reaches a TERM-trapping
// child whose exit status 3 supervise gives as its own.
func TestI386(t *testing.T) {
	c := booted(t)
	t.Logf("i386:\n  %s", strings.Join(c["i386"], "\n  "))
	version := strings.Join(c["i386"], "\n")
	if !strings.Contains(version, "linux/386)") || !slicesContains(c["i386"], "child got TERM") ||
		!slicesContains(c["i386.rc"], "3") || !strings.Contains(version, `msg="stop report" outcome=graceful`) {
		t.Errorf("the 386 binary: want its version (linux/386), the child's TERM and exit status 3 with a graceful report")
	}
}

// TestCgroupV2 boots a real kernel with a pure cgroup v2 hierarchy and
// checks, case by case, what supervise as PID 1 sees and says: the
// memory metrics, an OOM kill counted, logged with the limit and where it
// is set, and in the stop report (with and without a cgroup namespace, and
// with the limit on a parent only), an unlimited cgroup and a stop on
// that kernel, memory.oom.group = 1, and cgroups without memory
// accounting of their own or at all.
func TestCgroupV2(t *testing.T) {
	c := booted(t)
	for name, lines := range c {
		t.Logf("%s:\n  %s", name, strings.Join(lines, "\n  "))
	}
	has := func(name, re string) bool {
		rx := regexp.MustCompile(re)
		for _, l := range c[name] {
			if rx.MatchString(l) {
				return true
			}
		}
		return false
	}
	want := func(name, re, why string) {
		t.Helper()
		if !has(name, re) {
			t.Errorf("%s: %s: no line matching %q", name, why, re)
		}
	}
	wantNot := func(name, re, why string) {
		t.Helper()
		if has(name, re) {
			t.Errorf("%s: %s: a line matches %q", name, why, re)
		}
	}
	const mib64 = "67108864"
	// value is a series' value in a case's scrape; -1 when absent.
	value := func(name, series string) float64 {
		for _, l := range c[name] {
			if v, ok := strings.CutPrefix(l, series+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err == nil {
					return f
				}
			}
		}
		return -1
	}
	usage := `supervise_cgroup_memory_usage_bytes{cgroup_version="2"}`
	limit := `supervise_cgroup_memory_limit_bytes{cgroup_version="2"}`
	ooms := `supervise_cgroup_oom_kills_total{cgroup_version="2"}`
	cgroupErrors := `supervise_collector_errors_total{collector="cgroup"}`

	// A and B: a 64 MiB cgroup, without and with a cgroup namespace.
	for _, n := range []string{"a", "b"} {
		if u, l, o := value(n+".metrics", usage), value(n+".metrics", limit), value(n+".metrics", ooms); u <= 0 || l != 64<<20 || o != 0 {
			t.Errorf("%s: usage %v, limit %v, OOM kills %v; want some usage, 64 MiB and 0", n, u, l, o)
		}
		want(n, `child was killed by the kernel's OOM killer.*memory_limit="`+mib64+` bytes \(64.0 MiB\), set by /sys/fs/cgroup`, "the diagnosis")
		want(n+".report", `^the kernel's OOM killer ended the child; memory limit `+mib64+` bytes \(64\.0 MiB\)`, "the stop report")
		want(n+".rc", `^137$`, "the child's status")
	}
	want("a", `set by /sys/fs/cgroup/a"`, "the limit's cgroup")
	want("b", `^0::/$`, "a cgroup namespace, as containers run")
	for _, n := range []string{"a", "b", "c", "p", "q", "l", "g", "e", "n"} {
		wantNot(n, `not running as PID 1`, "supervise is PID 1 of its PID namespace")
	}
	want("a.events", `oom_kill 1`, "the kernel counted one kill")

	// C: no limit: usage but no limit series; a stop on this kernel.
	if u, l := value("c.metrics", usage), value("c.metrics", limit); u <= 0 || l != -1 {
		t.Errorf("c: usage %v, limit %v; want some usage and no limit series", u, l)
	}
	want("c", `stop rung: draining.*signal=TERM`, "the first rung")
	want("c", `hog got TERM`, "the child had it")
	want("c", `child stopped.*outcome=graceful`, "a graceful stop")

	// P: the limit is the parent's.
	want("l", `child was killed by the kernel's OOM killer.*memory_limit="none visible: supervise is at the root of a cgroup namespace`,
		"the diagnosis says the limit is out of view")
	want("l.report", `^the kernel's OOM killer ended the child; memory limit none visible`, "the stop report says the same")
	want("l.rc", `^137$`, "the child's status")
	if l := value("q.metrics", limit); l != 64<<20 {
		t.Errorf("q: limit %v, want the parent's 64 MiB, tighter than the cgroup's own 128 MiB", l)
	}
	if l := value("p.metrics", limit); l != 64<<20 {
		t.Errorf("p: limit %v, want the parent's 64 MiB", l)
	}
	want("p", `child was killed by the kernel's OOM killer.*memory_limit="`+mib64+` bytes \(64.0 MiB\), set by /sys/fs/cgroup/p"`, "the parent named")

	// G: memory.oom.group: said at start; the kill takes supervise too.
	want("g", `level=WARN msg="memory.oom.group is 1 in /sys/fs/cgroup/g`, "the warning at start")
	wantNot("g", `child was killed by the kernel's OOM killer`, "supervise cannot report a group kill")
	want("g.rc", `^137$`, "supervise killed with its child")

	// E: the parent's accounting, said at start, no collector errors.
	want("e", `msg="memory accounting from /sys/fs/cgroup/nomem, the nearest cgroup above`, "the fallback said")
	if u, e := value("e.metrics", usage), value("e.metrics", cgroupErrors); u <= 0 || e != 0 {
		t.Errorf("e: usage %v, cgroup collector errors %v after two scrapes; want the parent's usage and none", u, e)
	}

	// N: nothing to read: said once at start, no series, no errors.
	want("n", `^0::/$`, "the namespace's root")
	want("n", `level=WARN msg="no memory accounting: .*cgroup namespace`, "the warning at start")
	wantNot("n.metrics", `supervise_cgroup_memory`, "no memory series")
	if e := value("n.metrics", cgroupErrors); e > 0 {
		t.Errorf("n: %v cgroup collector errors after two scrapes, want none", e)
	}
	// Under memory.oom.group the kernel counts the process that set the
	// kill off twice (the hog and supervise: 3); the metric's help says so.
	t.Logf("g: memory.events after a group kill of two processes: %v", c["g.events"])
	if n := strings.Count(strings.Join(c["n"], "\n"), "no memory accounting"); n != 1 {
		t.Errorf("n: %d warnings of no memory accounting, want one at start", n)
	}
}

// cpioFile is one file of the initramfs: data, or the contents of src.
type cpioFile struct {
	name string
	mode int64
	data []byte
	src  string
}

// writeInitramfs writes a gzipped cpio archive (the kernel's "newc"
// format) of files and empty directories dirs.
func writeInitramfs(t *testing.T, path string, files []cpioFile, dirs ...string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z := gzip.NewWriter(f)
	ino := 1
	entry := func(name string, mode int64, data []byte) {
		ino++
		hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		io.WriteString(z, hdr+name+"\x00")
		pad := func(n int) { z.Write(make([]byte, (4-n%4)%4)) }
		pad(len(hdr) + len(name) + 1)
		z.Write(data)
		pad(len(data))
	}
	for _, d := range dirs {
		entry(d, 0o40755, nil)
	}
	for _, fl := range files {
		data := fl.data
		if fl.src != "" {
			if data, err = os.ReadFile(fl.src); err != nil {
				t.Fatal(err)
			}
		}
		entry(fl.name, 0o100000|fl.mode, data)
	}
	entry("TRAILER!!!", 0, nil)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
}
