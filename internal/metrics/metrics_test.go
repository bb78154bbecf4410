package metrics

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/cgroup"
)

// A collector that cannot read its files says so in
// supervise_collector_errors_total instead of dropping the error.
func TestCollectorErrorsCounted(t *testing.T) {
	m := New(cgroup.Memory{Version: cgroup.V2, Dir: t.TempDir()}, Build{}) // no memory files there
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
	for _, name := range []string{"supervise_tree_processes", "supervise_child_up", "supervise_shutdowns_total",
		"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(string(text), "# TYPE "+name+" ") {
			t.Errorf("%s missing", name)
		}
	}
}

// Where the cgroup shows no memory accounting (Detect's None, said once
// at start), there is no cgroup collector: scrapes count no error and
// show no cgroup series.
func TestNoAccountingNoCollector(t *testing.T) {
	m := New(cgroup.Memory{Version: cgroup.None, Note: "no memory accounting"}, Build{})
	var text []byte
	for i := 0; i < 3; i++ {
		var err error
		if text, err = m.Text(); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(string(text), `collector="cgroup"`) || strings.Contains(string(text), "supervise_cgroup_") {
		t.Errorf("cgroup series or errors without accounting, after 3 scrapes:\n%s", text)
	}
}

// What a scrape during a stop tells: the build, when the stop began and
// when its KILL is planned, and the heartbeat's age.
func TestStopAndBuildSeries(t *testing.T) {
	m := New(cgroup.Memory{}, Build{Version: "v1.2.3", Revision: "0123456789ab", GoVersion: "go1.26.8"})
	m.HeartbeatAge(func() (time.Duration, bool) { return 3 * time.Second, true })
	stop := time.Unix(1_800_000_000, 500_000_000)
	m.Draining()
	m.StopPlanned(stop, stop.Add(9*time.Second))
	m.Rung(0, syscall.SIGINT)
	text, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`supervise_build_info{goversion="go1.26.8",revision="0123456789ab",version="v1.2.3"} 1`,
		`supervise_stop_started_timestamp_seconds 1.8000000005e+09`,
		`supervise_stop_kill_planned_timestamp_seconds 1.8000000095e+09`,
		`supervise_stop_rung 1`, `supervise_draining 1`, `supervise_heartbeat_age_seconds 3`,
	} {
		if !strings.Contains(string(text), want+"\n") {
			t.Errorf("no %s in:\n%s", want, text)
		}
	}
}
