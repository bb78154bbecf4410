package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/cgroup"
)

// memoryCgroup makes a child memory cgroup with a 64 MiB limit under the
// test's own, for cgroup v2 or v1, and returns its directory; the test is
// skipped with the reason when the machine does not allow it.
func memoryCgroup(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skipf("SKIP: cannot read /proc/self/cgroup: %v", err)
	}
	v1, v2 := cgroup.ParseProcCgroup(string(b))
	name := fmt.Sprintf("supervise-oom-%d", os.Getpid())
	var dir string
	files := map[string]string{}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil && v2 != "" {
		dir = filepath.Join("/sys/fs/cgroup", v2, name)
		files["memory.max"] = "67108864"
		files["memory.swap.max"] = "0"
	} else if v1 != "" {
		dir = filepath.Join("/sys/fs/cgroup/memory", v1, name)
		files["memory.limit_in_bytes"] = "67108864"
		files["memory.memsw.limit_in_bytes"] = "67108864"
	} else {
		t.Skip("SKIP: no memory cgroup (v1 or v2) here")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("SKIP: cannot create a memory cgroup: %v", err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for os.Remove(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	})
	for _, f := range []string{"memory.limit_in_bytes", "memory.max", "memory.memsw.limit_in_bytes", "memory.swap.max"} {
		v, ok := files[f]
		if !ok {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil && !strings.Contains(f, "sw") {
			t.Skipf("SKIP: cannot set %s: %v", f, err)
		}
	}
	return dir
}

// A child killed by the OOM killer is reported as such, with the limit.
func TestOOMKillReported(t *testing.T) {
	dir := memoryCgroup(t)
	// Join the cgroup first, then run supervise in it as PID 1.
	wrap := []string{"sh", "-c", `echo $$ > "$CG/cgroup.procs" && exec "$@"`, "sh"}
	p := start(t, options{wrap: wrap, env: append(allocChild{}.env(), "CG="+dir)},
		"--listen", "off", "--", self)
	if code := p.exit(30 * time.Second); code != 137 {
		t.Fatalf("exit status %d, want 137 (killed)", code)
	}
	// The limit, and the cgroup that sets it.
	p.waitFor(`child was killed by the kernel's OOM killer.*memory_limit="67108864 bytes \(64.0 MiB\), set by `+regexp.QuoteMeta(dir)+`"`, time.Second)
	p.waitFor(`oom_killed=true`, time.Second)
	if p.count(`allocated`) != 0 {
		t.Error("the helper allocated everything: the limit did not hold")
	}
}

// On cgroup v1 with the memory controller mounted together with others
// ("cpu,memory", and no "memory" link to it), the hierarchy is found from
// mountinfo: the OOM kill is still reported as one, with its limit. The
// layout is made for real in supervise's own mount namespace: the memory
// hierarchy moved to /sys/fs/cgroup/cpu,memory over an empty tmpfs.
func TestOOMKillReportedCoMounted(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("SKIP: cgroup v2 here; a co-mounted memory controller is a v1 layout (test/vm covers v2)")
	}
	dir := memoryCgroup(t)
	rel, err := filepath.Rel("/sys/fs/cgroup/memory", dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Skipf("SKIP: the memory cgroup %s is not under /sys/fs/cgroup/memory", dir)
	}
	co := "/sys/fs/cgroup/cpu,memory"
	wrap := []string{"sh", "-c", `echo $$ > "$CG/cgroup.procs" && mount --bind /sys/fs/cgroup/memory "$HOLD" &&
		mount -t tmpfs none /sys/fs/cgroup && mkdir "$CO" && mount --move "$HOLD" "$CO" && exec "$@"`, "sh"}
	p := start(t, options{wrap: wrap, env: append(allocChild{}.env(), "CG="+dir, "HOLD="+t.TempDir(), "CO="+co)},
		"--listen", "off", "--", self)
	if code := p.exit(30 * time.Second); code != 137 {
		t.Fatalf("exit status %d, want 137 (killed)", code)
	}
	if p.count(`no memory accounting`) != 0 {
		t.Error("the co-mounted hierarchy was not found")
	}
	p.waitFor(`child was killed by the kernel's OOM killer.*memory_limit="67108864 bytes \(64.0 MiB\), set by `+
		regexp.QuoteMeta(filepath.Join(co, rel))+`"`, time.Second)
}

// A child dying of SIGBUS gets a hint about /dev/shm.
func TestSIGBUSHint(t *testing.T) {
	p := start(t, options{}, "--listen", "off", "--", "sh", "-c", "kill -BUS $$")
	if code := p.exit(10 * time.Second); code != 128+7 {
		t.Errorf("exit status %d, want 135", code)
	}
	p.waitFor(`status="killed by BUS".*hint="SIGBUS often means /dev/shm is too small`, time.Second)
}
