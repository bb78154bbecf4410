package cgroup

import (
	"os"
	"path/filepath"
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

	m := detect(root, "0::/pod/c\n")
	if m.Version != V2 || m.Dir != filepath.Join(root, "pod/c") || m.Note != "" {
		t.Fatalf("own accounting: %+v", m)
	}
	if n, from, ok := m.Limit(); !ok || n != 128<<20 || from != filepath.Join(root, "pod") {
		t.Errorf("a limit set only above: %d from %s %v, want 128 MiB from pod", n, from, ok)
	}
	if n, from, _ := detect(root, "0::/pod/tight\n").Limit(); n != 64<<20 || from != filepath.Join(root, "pod/tight") {
		t.Errorf("the smaller limit: %d from %s", n, from)
	}
	if _, _, ok := detect(root, "0::/nomem\n").Limit(); ok {
		t.Error("no limit anywhere up: want none")
	}

	m = detect(root, "0::/nomem/e\n")
	if m.Version != V2 || m.Dir != filepath.Join(root, "nomem") || !strings.Contains(m.Note, "nearest cgroup above") {
		t.Errorf("no memory controller for its own cgroup: %+v, want nomem's accounting, said", m)
	}
	m = detect(root, "0::/nothing/below\n")
	if m.Version != None || !strings.Contains(m.Note, "memory controller is not enabled") {
		t.Errorf("no accounting anywhere: %+v", m)
	}
	m = detect(root, "0::/\n")
	if m.Version != None || !strings.Contains(m.Note, "cgroup namespace") {
		t.Errorf("the namespace shows the whole hierarchy: %+v", m)
	}
	if m := detect(root, "0::/grouped\n"); !m.OOMGroup() || !strings.Contains(m.OOMGroupWarning(), "singleProcessOOMKill") {
		t.Errorf("memory.oom.group 1: %+v %v", m, m.OOMGroup())
	}
	if detect(root, "0::/pod/c\n").OOMGroup() {
		t.Error("no memory.oom.group file: not grouped")
	}
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
