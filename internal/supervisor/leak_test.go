package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"go.uber.org/goleak"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
)

// The os/signal package keeps one goroutine for the life of the process
// once Notify has been called; it is not a leak of ours.
var signalLoop = goleak.IgnoreTopFunction("os/signal.signal_recv")

// Run leaves no goroutine behind across restarts and helper commands.
func TestRunLeaksNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, signalLoop)
	sp := NewSpawner()
	// The first child waits for the helper's mark, so the helper runs
	// while the child does, whatever the machine's speed.
	mark := t.TempDir() + "/helper-ran"
	cfg := Config{
		Argv:       []string{"/bin/sh", "-c", `while [ ! -e "$0" ]; do sleep 0.02; done; exit 3`, mark},
		Env:        os.Environ(),
		Preset:     "none",
		Timing:     plan.Timing{Budget: ladder.Budget{Grace: 10 * time.Second}},
		Restart:    RestartAlways,
		RestartMax: 2,
		Subreaper:  true,
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Status:     &Status{},
		Spawner:    sp,
	}
	// A helper command while the child restarts: it goes through the loop.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := sp.Run(ctx, []string{"/bin/sh", "-c", `echo hi; touch "$0"; exit 4`, mark})
		if err == nil && (res.Status.ExitStatus() != 4 || res.Output != "hi\n") {
			err = fmt.Errorf("status %d output %q", res.Status.ExitStatus(), res.Output)
		}
		done <- err
	}()
	if code := Run(&cfg); code != 3 {
		t.Errorf("Run = %d, want 3", code)
	}
	if err := <-done; err != nil {
		t.Errorf("helper: %v", err)
	}
	if s := cfg.Status.Snapshot(); s.Starts != 3 {
		t.Errorf("starts %d, want 3", s.Starts)
	}
}

func TestExitCode(t *testing.T) {
	// Wait statuses as the kernel encodes them.
	exited := func(code int) uint32 { return uint32(code) << 8 }
	signaled := func(sig int) uint32 { return uint32(sig) }
	cases := []struct {
		ws   uint32
		zero map[int]bool
		want int
	}{
		{exited(0), nil, 0},
		{exited(3), nil, 3},
		{signaled(9), nil, 137},
		{signaled(15), nil, 143},
		{exited(3), map[int]bool{3: true}, 0},
		{signaled(15), map[int]bool{143: true}, 0},
		{exited(4), map[int]bool{3: true}, 4},
	}
	for _, c := range cases {
		if got := ExitCode(waitStatus(c.ws), c.zero); got != c.want {
			t.Errorf("ExitCode(%#x, %v) = %d, want %d", c.ws, c.zero, got, c.want)
		}
	}
}

// recordHooks keeps the rungs the loop reports.
type recordHooks struct {
	noHooks
	mu    sync.Mutex
	rungs []string
}

func (h *recordHooks) Rung(i int, s syscall.Signal) {
	h.mu.Lock()
	h.rungs = append(h.rungs, fmt.Sprintf("%d:%s", i+1, signalName(s)))
	h.mu.Unlock()
}

// The KILL rung is a rung like the others: the hooks (and so the metrics)
// are told of it. A real child that ignores TERM, stopped by a real
// signal to this process, under a 2 s ladder.
func TestKillRungReachesHooks(t *testing.T) {
	h := &recordHooks{}
	ready := t.TempDir() + "/ready"
	cfg := Config{
		Argv:      []string{"/bin/sh", "-c", `trap "" TERM; : > "$0"; while :; do sleep 0.05; done`, ready},
		Env:       os.Environ(),
		Stop:      ladder.Ladder{Rungs: []ladder.Rung{{Signal: unix.SIGTERM, Wait: 1500 * time.Millisecond}, {Signal: unix.SIGKILL}}, Timed: true},
		Subreaper: true,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Hooks:     h,
	}
	done := make(chan int, 1)
	go func() { done <- Run(&cfg) }()
	// The child writes the file once it traps TERM, after Run subscribed.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never got ready")
		}
	}
	unix.Kill(os.Getpid(), unix.SIGTERM)
	select {
	case code := <-done:
		if code != 137 {
			t.Errorf("exit %d, want 137", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := strings.Join(h.rungs, " "); got != "1:TERM 2:KILL" {
		t.Errorf("rungs told to the hooks: %q, want 1:TERM 2:KILL", got)
	}
}
