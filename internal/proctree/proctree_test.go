package proctree

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The readers against this test process and a child it starts, whose
// command name holds a space and a parenthesis.
func TestReaders(t *testing.T) {
	if got := State(os.Getpid()); got != "R" && got != "S" {
		t.Errorf("State(self) = %q", got)
	}
	argv := Cmdline(os.Getpid())
	if len(argv) == 0 || argv[0] != os.Args[0] {
		t.Errorf("Cmdline(self) = %q, want %q first", argv, os.Args[0])
	}
	weird := filepath.Join(t.TempDir(), "we (ird) name")
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(weird, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(weird, "5")
	cmd.Env = []string{"EMPTY=", "SET=value"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if !slices.Contains(Children(os.Getpid()), cmd.Process.Pid) {
		t.Errorf("Children(self) lacks %d", cmd.Process.Pid)
	}
	if got := State(cmd.Process.Pid); got != "S" && got != "R" {
		t.Errorf("State(child) = %q", got)
	}
	if got := State(1 << 30); got != "" {
		t.Errorf("State(no such pid) = %q", got)
	}
	if got := Cmdline(1 << 30); got != nil {
		t.Errorf("Cmdline(no such pid) = %q", got)
	}
	for name, want := range map[string]struct {
		v   string
		set bool
	}{"EMPTY": {"", true}, "SET": {"value", true}, "SE": {"", false}, "PATH": {"", false}} {
		if v, set := LookupEnv(cmd.Process.Pid, name); v != want.v || set != want.set {
			t.Errorf("LookupEnv(child, %s) = %q, %v; want %q, %v", name, v, set, want.v, want.set)
		}
	}
	if _, set := LookupEnv(1<<30, "PATH"); set {
		t.Errorf("LookupEnv(no such pid) is set")
	}
}

func TestParseMountinfo(t *testing.T) {
	text := "22 1 0:21 / / rw - overlay overlay rw\n" +
		"35 24 0:30 /docker/abc /sys/fs/cgroup/cpu,memory rw,nosuid - cgroup cgroup rw,cpu,memory\n" +
		"40 22 0:33 / /mnt/with\\040space rw shared:1 - tmpfs none\\134x rw\n" +
		"garbage\n"
	got := ParseMountinfo(text)
	if len(got) != 3 {
		t.Fatalf("%d mounts, want 3: %+v", len(got), got)
	}
	if m := got[1]; m.Root != "/docker/abc" || m.Point != "/sys/fs/cgroup/cpu,memory" || m.Type != "cgroup" || !slices.Contains(m.Super, "memory") {
		t.Errorf("cgroup mount: %+v", m)
	}
	if m := got[2]; m.Point != "/mnt/with space" || m.Source != `none\x` || m.Type != "tmpfs" {
		t.Errorf("escaped mount: %+v", m)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("35 24 0:30 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
	f.Add("1 2 3:4 /a\\040b /c - t s o\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range ParseMountinfo(text) {
			if m.Type == "" || len(m.Super) == 0 || strings.Contains(m.Type, " ") {
				t.Fatalf("ParseMountinfo(%q): %+v", text, m)
			}
		}
	})
}
