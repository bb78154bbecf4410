package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
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
	// A runner that started the tests with HUP, INT or QUIT ignored (nohup,
	// a background job) would pass the ignore on to supervise, which keeps
	// it by design, and tests that send those signals would fail whatever
	// the code does. A handler here is reset to the default in every
	// process the tests start.
	for _, s := range []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT} {
		if signal.Ignored(s) {
			signal.Notify(make(chan os.Signal, 1), s)
		}
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
