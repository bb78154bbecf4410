package supervisor

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
)

// A report never exceeds Kubernetes' 4096 bytes, however many rungs.
func TestReportBounded(t *testing.T) {
	r := Report{Outcome: "killed", Preset: "custom", Signal: "TERM", Exit: "killed by KILL", ExitCode: 137}
	for i := 0; i < 500; i++ {
		r.Rungs = append(r.Rungs, ladder.Sent{Index: i, Signal: unix.SIGTERM, Cause: ladder.CauseRepeat, At: time.Duration(i) * time.Second})
	}
	text := r.Text()
	if len(text) > MaxReport || !strings.HasSuffix(text, "...\n") {
		t.Errorf("report of %d bytes, ends %q", len(text), text[len(text)-10:])
	}
}
