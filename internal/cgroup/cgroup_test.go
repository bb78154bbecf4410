package cgroup

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseProcCgroup(t *testing.T) {
	v1, v2 := ParseProcCgroup("12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n")
	if v1 != "/docker/abc" || v2 != "/docker/abc" {
		t.Errorf("hybrid: v1 %q v2 %q", v1, v2)
	}
	v1, v2 = ParseProcCgroup("0::/system.slice/x.service\n")
	if v1 != "" || v2 != "/system.slice/x.service" {
		t.Errorf("unified: v1 %q v2 %q", v1, v2)
	}
	v1, _ = ParseProcCgroup("5:cpu,memory:/a\n")
	if v1 != "/a" {
		t.Errorf("joined controllers: %q", v1)
	}
}

func TestParseKeyValues(t *testing.T) {
	kv := ParseKeyValues("oom_kill_disable 0\nunder_oom 0\noom_kill 3\nbad line here\nx notanumber\n")
	if kv["oom_kill"] != 3 || len(kv) != 3 {
		t.Errorf("got %v", kv)
	}
}

// The files of both versions, laid out in a directory.
func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) { os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644) }
	write("memory.current", "1048576\n")
	write("memory.max", "max\n")
	write("memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
	m := Memory{Version: V2, Dir: dir}
	if n, ok := m.Usage(); !ok || n != 1<<20 {
		t.Errorf("v2 usage %d %v", n, ok)
	}
	if _, _, ok := m.Limit(); ok {
		t.Error("v2 max should be no limit")
	}
	write("memory.max", "67108864\n")
	if n, from, ok := m.Limit(); !ok || n != 64<<20 || from != dir {
		t.Errorf("v2 limit %d from %s %v", n, from, ok)
	}
	if n, ok := m.OOMKills(); !ok || n != 2 {
		t.Errorf("v2 oom kills %d %v", n, ok)
	}
	write("memory.usage_in_bytes", "2097152\n")
	write("memory.limit_in_bytes", "9223372036854771712\n")
	write("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	m = Memory{Version: V1, Dir: dir}
	if n, ok := m.Usage(); !ok || n != 2<<20 {
		t.Errorf("v1 usage %d %v", n, ok)
	}
	if _, _, ok := m.Limit(); ok {
		t.Error("v1 near-2^63 limit should be no limit")
	}
	if n, ok := m.OOMKills(); !ok || n != 1 {
		t.Errorf("v1 oom kills %d %v", n, ok)
	}
}

// tree lays out a v2 hierarchy under a temporary root: each path with the
// files given ("" for the root itself).
func tree(t *testing.T, cgroups map[string]map[string]string) string {
	t.Helper()
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids\n"), 0o644)
	for path, files := range cgroups {
		dir := filepath.Join(root, path)
		os.MkdirAll(dir, 0o755)
		for name, text := range files {
			os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
		}
	}
	return root
}

// Detect on v2 checks the files are there, falls back to the nearest
// cgroup above that has them, and says why when none does; Limit is the
// smallest memory.max up the hierarchy, and names where it is set.
func TestDetectV2(t *testing.T) {
	acct := func(max string) map[string]string {
		return map[string]string{"memory.current": "4096\n", "memory.max": max, "memory.events": "oom_kill 0\n"}
	}
	root := tree(t, map[string]map[string]string{
		"pod":           acct("134217728\n"),
		"pod/c":         acct("max\n"),
		"pod/tight":     acct("67108864\n"),
		"nomem":         acct("max\n"),
		"nomem/e":       {"cgroup.procs": ""},
		"grouped":       acct("max\n"),
		"grouped/x":     {},
		"nothing/below": {"cgroup.procs": ""},
	})
	os.WriteFile(filepath.Join(root, "grouped", "memory.oom.group"), []byte("1\n"), 0o644)

	m := detect(root, "0::/pod/c\n", noMounts)
	if m.Version != V2 || m.Dir != filepath.Join(root, "pod/c") || m.Note != "" {
		t.Fatalf("own accounting: %+v", m)
	}
	if n, from, ok := m.Limit(); !ok || n != 128<<20 || from != filepath.Join(root, "pod") {
		t.Errorf("a limit set only above: %d from %s %v, want 128 MiB from pod", n, from, ok)
	}
	if n, from, _ := detect(root, "0::/pod/tight\n", noMounts).Limit(); n != 64<<20 || from != filepath.Join(root, "pod/tight") {
		t.Errorf("the smaller limit: %d from %s", n, from)
	}
	if _, _, ok := detect(root, "0::/nomem\n", noMounts).Limit(); ok {
		t.Error("no limit anywhere up: want none")
	}

	m = detect(root, "0::/nomem/e\n", noMounts)
	if m.Version != V2 || m.Dir != filepath.Join(root, "nomem") || !strings.Contains(m.Note, "nearest cgroup above") {
		t.Errorf("no memory controller for its own cgroup: %+v, want nomem's accounting, said", m)
	}
	m = detect(root, "0::/nothing/below\n", noMounts)
	if m.Version != None || !strings.Contains(m.Note, "memory controller is not enabled") {
		t.Errorf("no accounting anywhere: %+v", m)
	}
	m = detect(root, "0::/\n", noMounts)
	if m.Version != None || !strings.Contains(m.Note, "cgroup namespace") {
		t.Errorf("the namespace shows the whole hierarchy: %+v", m)
	}
	if m := detect(root, "0::/grouped\n", noMounts); !m.OOMGroup() || !strings.Contains(m.OOMGroupWarning(), "singleProcessOOMKill") {
		t.Errorf("memory.oom.group 1: %+v %v", m, m.OOMGroup())
	}
	if detect(root, "0::/pod/c\n", noMounts).OOMGroup() {
		t.Error("no memory.oom.group file: not grouped")
	}
	// A cgroup namespace's root (Docker's and containerd's default): it
	// accounts memory, which the hierarchy's true root never does, so a
	// limit above it is out of view, and the diagnosis says so.
	ns := tree(t, map[string]map[string]string{"": acct("max\n")})
	if m := detect(ns, "0::/\n", noMounts); m.Version != V2 || !m.NamespaceRoot ||
		!strings.HasPrefix(m.LimitText(), "none visible: supervise is at the root of a cgroup namespace") {
		t.Errorf("a cgroup namespace's root: %+v, %q", m, m.LimitText())
	}
	if m := detect(root, "0::/nomem\n", noMounts); m.NamespaceRoot || m.LimitText() != "none" {
		t.Errorf("no limit, no namespace: %+v %q", m, m.LimitText())
	}
	if got := detect(root, "0::/pod/tight\n", noMounts).LimitText(); got != "67108864 bytes (64.0 MiB), set by "+filepath.Join(root, "pod/tight") {
		t.Errorf("limit text %q", got)
	}
}

// noMounts is a mountinfo with no cgroup mount.
func noMounts() string { return "" }

// Detect on v1 reads root/memory, or, when the memory controller is
// mounted with others and nothing is at root/memory, the hierarchy
// mountinfo names, with the mount's own root taken off supervise's path.
func TestDetectV1(t *testing.T) {
	acct := map[string]string{"memory.usage_in_bytes": "4096\n", "memory.limit_in_bytes": "67108864\n"}
	root := t.TempDir()
	for _, d := range []string{"memory/docker/abc", "cpu,memory/docker/abc", "cpu,memory/x y"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		for _, up := range []string{d, filepath.Dir(d), filepath.Dir(filepath.Dir(d))} {
			for name, text := range acct {
				os.WriteFile(filepath.Join(root, up, name), []byte(text), 0o644)
			}
		}
	}
	if m := detect(root, "4:memory:/docker/abc\n", noMounts); m.Version != V1 || m.Dir != filepath.Join(root, "memory/docker/abc") {
		t.Errorf("memory at root/memory: %+v", m)
	}
	co := filepath.Join(root, "cpu,memory")
	os.RemoveAll(filepath.Join(root, "memory"))
	mounts := func(line string) func() string {
		return func() string {
			return "31 23 0:28 / " + root + " rw,relatime - tmpfs tmpfs rw,mode=755\n" +
				"32 31 0:29 / " + root + "/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
				"33 31 0:32 / " + root + "/memory rw,relatime - cgroup cgroup rw,memory\n" + line // hidden, gone
		}
	}
	for _, c := range []struct{ line, procCgroup, dir string }{
		{"35 31 0:32 / " + co + " rw,relatime shared:9 - cgroup cgroup rw,cpu,memory\n", "4:cpu,memory:/docker/abc\n",
			filepath.Join(co, "docker/abc")},
		// A container given the subtree /docker/abc as its mount's root.
		{"35 31 0:32 /docker/abc " + co + " rw - cgroup cgroup rw,memory,cpu\n", "4:cpu,memory:/docker/abc\n", co},
		// The mount's root /kubepods, as mountinfo escapes it, taken off.
		{"35 31 0:32 /kube\\160ods " + co + " rw - cgroup cgroup rw,memory\n", "4:memory:/kubepods/x y\n", filepath.Join(co, "x y")},
		// Not under the mount's root: the cgroup namespace's case, the
		// hierarchy's top.
		{"35 31 0:32 /other " + co + " rw - cgroup cgroup rw,memory\n", "4:memory:/kubepodsx\n", co},
	} {
		m := detect(root, c.procCgroup, mounts(c.line))
		if m.Version != V1 || m.Dir != c.dir || m.Root != co {
			t.Errorf("%q: %+v, want %s", c.line, m, c.dir)
		}
		if n, ok := m.Usage(); !ok || n != 4096 {
			t.Errorf("%q: usage %d %v", c.line, n, ok)
		}
	}
	if m := detect(root, "4:cpu,memory:/docker/abc\n", noMounts); m.Version != None || !strings.Contains(m.Note, "memory.usage_in_bytes is missing") {
		t.Errorf("no memory hierarchy found: %+v", m)
	}
}

func TestMemoryMountsV1(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []MountV1
	}{
		{"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n", []MountV1{{"/sys/fs/cgroup/memory", "/"}}},
		{"1 0 0:1 / /a rw - cgroup2 cgroup2 rw,memory\n2 0 0:2 /x\\040y /b\\134c rw a:1 b:2 - cgroup none rw,cpuacct,memory\n",
			[]MountV1{{"/b\\c", "/x y"}}},
		// A mount hidden under a later one is listed too, in order.
		{"276 272 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n328 333 0:32 / /sys/fs/cgroup/cpu,memory rw - cgroup cgroup rw,memory\n",
			[]MountV1{{"/sys/fs/cgroup/memory", "/"}, {"/sys/fs/cgroup/cpu,memory", "/"}}},
		{"2 0 0:2 / /m rw - cgroup cgroup rw,memory_recursiveprot\n", nil},
		{"2 0 0:2 / /m rw - cgroup\n- - - -\n", nil},
	} {
		if got := MemoryMountsV1(c.in); !slices.Equal(got, c.want) {
			t.Errorf("MemoryMountsV1(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzMemoryMountsV1(f *testing.F) {
	f.Add("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n")
	f.Add("2 0 0:2 /x\\040y /b\\134c rw - cgroup none rw,memory\n")
	f.Add("2 0 0:2 / /a\\ rw - cgroup none memory\n")
	f.Fuzz(func(t *testing.T, in string) {
		for _, m := range MemoryMountsV1(in) {
			// Fields are never empty, and unescaping never grows them.
			if m.At == "" || m.Root == "" || len(m.At)+len(m.Root) > len(in) {
				t.Fatalf("MemoryMountsV1(%q): %q", in, m)
			}
		}
	})
}

// On this machine: whichever version is present is read for real.
func TestDetectHere(t *testing.T) {
	m := Detect("/sys/fs/cgroup")
	if m.Version == None {
		t.Skip("SKIP: no memory cgroup visible here")
	}
	if _, ok := m.Usage(); !ok {
		t.Errorf("cannot read usage in %s (v%d)", m.Dir, m.Version)
	}
	t.Logf("memory cgroup v%d at %s", m.Version, m.Dir)
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add("4:memory:/docker/abc\n0::/docker/abc\n")
	f.Add("0::/\n")
	f.Add(":::\n")
	f.Fuzz(func(t *testing.T, in string) {
		v1, v2 := ParseProcCgroup(in)
		if (v1 != "" && v1[0] != '/') || (v2 != "" && v2[0] != '/') {
			t.Fatalf("paths %q %q not absolute", v1, v2)
		}
	})
}

func FuzzParseKeyValues(f *testing.F) {
	f.Add("oom_kill 3\nunder_oom 0\n")
	f.Add("a b c\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		ParseKeyValues(in)
	})
}
