package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the supervise binary built for this run.
var binary string

// self is this test binary, which the helpers re-execute.
var self string

func TestMain(m *testing.M) {
	self, _ = os.Executable()
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	dir, err := os.MkdirTemp("", "supervise-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "supervise")
	// osusergo: the pure-Go /etc/passwd reader, as in the static build,
	// even though -race needs cgo.
	args := []string{"build", "-tags", "urfave_cli_no_docs,osusergo", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../../cmd/supervise")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building supervise:", err)
		os.Exit(1)
	}
	// The race runtime sleeps 1 s at every exit by default; the binaries
	// under test are race builds too. halt_on_error makes a race fail the
	// test through the exit status.
	os.Setenv("GORACE", "atexit_sleep_ms=0 halt_on_error=1")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
