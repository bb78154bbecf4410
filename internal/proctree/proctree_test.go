package proctree

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	if v := Getenv(os.Getpid(), "PATH"); v != os.Getenv("PATH") {
		t.Errorf("Getenv(self, PATH) = %q", v)
	}
}
