package metrics

import (
	"regexp"
	"strings"
	"testing"

	"github.com/supervise/supervise/internal/cgroup"
)

// A collector that cannot read its files says so in
// supervise_collector_errors_total instead of dropping the error.
func TestCollectorErrorsCounted(t *testing.T) {
	m := New(cgroup.Memory{Version: cgroup.V2, Dir: t.TempDir()}) // no memory files there
	for i := 0; i < 2; i++ {
		if _, err := m.Text(); err != nil {
			t.Fatal(err)
		}
	}
	text, _ := m.Text()
	if !regexp.MustCompile(`supervise_collector_errors_total\{collector="cgroup"\} [4-9]`).Match(text) {
		t.Errorf("want at least 4 cgroup collector errors after 2 scrapes (usage and OOM count each):\n%s", text)
	}
	if !strings.Contains(string(text), `supervise_collector_errors_total{collector="tree"} 0`) {
		t.Errorf("the tree collector counts errors though /proc is readable")
	}
	for _, name := range []string{"supervise_tree_processes", "supervise_child_up", "supervise_shutdowns_total"} {
		if !strings.Contains(string(text), "# TYPE "+name+" ") {
			t.Errorf("%s missing", name)
		}
	}
}
