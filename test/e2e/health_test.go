package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// check runs `supervise check` with args and returns its exit status and output.
func check(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"check"}, args...)...)
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

// Metrics follow what happens: starts, signals, reaps, the ladder and its
// outcome; probes follow the stop: live stays 200, ready turns 503.
func TestMetricsAndProbesThroughAStop(t *testing.T) {
	addr := freeAddr(t)
	p := startHuey(t, "2s", nil, "--listen", addr, "--grace-period", "30s")
	waitHTTP(t, addr, "/livez", 200, 5*time.Second)
	waitHTTP(t, addr, "/readyz", 200, 5*time.Second)
	if body := waitHTTP(t, addr, "/readyz?verbose", 200, time.Second); !strings.Contains(body, "[+]child ok") || !strings.Contains(body, "[+]shutdown ok") {
		t.Errorf("verbose readyz body:\n%s", body)
	}
	waitMetric(t, addr, "supervise_child_up", 1)
	waitMetric(t, addr, "supervise_child_starts_total", 1)
	waitMetric(t, addr, "supervise_tree_processes", 1)
	// Pending standard signals merge in the kernel: send one at a time.
	for i := 1; i <= 3; i++ {
		p.signal(syscall.SIGWINCH)
		waitMetric(t, addr, `supervise_signals_received_total{signal="WINCH"}`, float64(i))
	}
	waitMetric(t, addr, `supervise_signals_forwarded_total{signal="WINCH"}`, 3)

	p.signal(syscall.SIGTERM)
	p.waitFor(`^draining$`, 2*time.Second)
	body := waitHTTP(t, addr, "/readyz", 503, time.Second)
	if !strings.Contains(body, "[-]shutdown failed: draining") {
		t.Errorf("readyz while draining:\n%s", body)
	}
	waitHTTP(t, addr, "/livez", 200, time.Second)
	waitMetric(t, addr, "supervise_draining", 1)
	waitMetric(t, addr, "supervise_stop_rung", 1)
	waitMetric(t, addr, `supervise_stop_rungs_sent_total{rung="1",signal="INT"}`, 1)
	if code, out := check(t, "--listen", addr); code != 0 {
		t.Errorf("check while draining: %d %s", code, out)
	}
	if code, out := check(t, "--listen", addr, "--ready"); code != 1 || !strings.Contains(out, "[-]shutdown failed") {
		t.Errorf("check --ready while draining: %d %s", code, out)
	}
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// Restarts, exit codes and reaped orphans show in the metrics, and the
// child stays live while a restart is pending.
func TestMetricsRestartsAndReaps(t *testing.T) {
	addr := freeAddr(t)
	p := start(t, options{env: exitChild{code: 3}.env()},
		"--listen", addr, "--restart", "on-failure", "--restart-max", "2", "--", self)
	waitMetric(t, addr, "supervise_child_starts_total", 2)
	waitMetric(t, addr, "supervise_child_last_exit_code", 3)
	if code, out := check(t, "--listen", addr); code != 0 {
		t.Errorf("check during the restart policy: %d %s", code, out)
	}
	if code := p.exit(10 * time.Second); code != 3 {
		t.Errorf("exit status %d", code)
	}

	addr = freeAddr(t)
	p = start(t, options{env: zombiesChild{total: 300, burst: 100}.env()},
		"--listen", addr, "--", self)
	p.waitFor(`^storm done$`, 30*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, addr, "supervise_zombies_reaped_total") < 300 {
		if time.Now().After(deadline) {
			t.Fatalf("zombies_reaped_total = %v, want at least 300", metric(t, addr, "supervise_zombies_reaped_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
}

// supervise check: 0 healthy, 1 unhealthy or unreachable, and the verbose
// body on failure.
func TestCheckExitCodes(t *testing.T) {
	addr := freeAddr(t)
	if code, _ := check(t, "--listen", addr); code != 1 {
		t.Errorf("check with nothing listening: %d, want 1", code)
	}
	closed := freeAddr(t)
	p := start(t, options{env: signalsChild{exitOn: "TERM"}.env()},
		"--listen", addr, "--ready-tcp", closed, "--health-interval", "200ms", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	waitHTTP(t, addr, "/livez", 200, 5*time.Second)
	if code, out := check(t, "--listen", addr); code != 0 {
		t.Errorf("check: %d %s", code, out)
	}
	code, out := check(t, "--ready", "--url", "http://"+addr+"/readyz?verbose")
	if code != 1 || !strings.Contains(out, "[-]tcp:"+closed+" failed: dial") {
		t.Errorf("check --ready with a closed port: %d\n%s", code, out)
	}
	// The environment names the address too.
	cmd := exec.Command(binary, "check")
	cmd.Env = append(os.Environ(), "SUPERVISE_LISTEN="+addr)
	if err := cmd.Run(); err != nil {
		t.Errorf("check with SUPERVISE_LISTEN: %v", err)
	}
	p.signal(syscall.SIGKILL) // supervise gone: nothing answers
	p.exit(5 * time.Second)
	if code, _ := check(t, "--listen", addr, "--timeout", "1s"); code != 1 {
		t.Errorf("check after supervise died: %d, want 1", code)
	}
}

// A heartbeat file that stops being touched makes the child not live.
func TestHeartbeat(t *testing.T) {
	addr := freeAddr(t)
	beat := t.TempDir() + "/beat"
	p := start(t, options{env: signalsChild{exitOn: "TERM"}.env()},
		"--listen", addr, "--heartbeat-file", beat, "--heartbeat-max-age", "1s", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	waitHTTP(t, addr, "/livez", 200, 5*time.Second) // not written yet, but inside max age from the start
	body := waitHTTP(t, addr, "/livez", 503, 3*time.Second)
	if !strings.Contains(body, "[-]heartbeat failed: "+beat+" not written") {
		t.Errorf("livez without a heartbeat file:\n%s", body)
	}
	// /healthz is /livez.
	if code, hb := get(t, addr, "/healthz"); code != 503 || hb != strings.Replace(body, "livez check failed", "healthz check failed", 1) {
		t.Errorf("healthz %d %q, want livez's 503 %q", code, hb, body)
	}
	os.WriteFile(beat, nil, 0o644)
	waitHTTP(t, addr, "/livez", 200, time.Second)
	body = waitHTTP(t, addr, "/livez?verbose", 503, 3*time.Second)
	if !strings.Contains(body, "[-]heartbeat failed: stale") {
		t.Errorf("livez with a stale heartbeat:\n%s", body)
	}
	if code, out := check(t, "--listen", addr); code != 1 || !strings.Contains(out, "heartbeat failed: stale") {
		t.Errorf("check with a stale heartbeat: %d %s", code, out)
	}
	now := time.Now()
	os.Chtimes(beat, now, now)
	waitHTTP(t, addr, "/livez", 200, time.Second)
	waitHTTP(t, addr, "/healthz", 200, time.Second)
	p.signal(syscall.SIGTERM)
	p.exit(5 * time.Second)
}

// Readiness follows a real redis-server going away and coming back.
func TestReadinessFollowsRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("SKIP: redis-server not installed (apt-get install redis-server)")
	}
	raddr := freeAddr(t)
	_, port, _ := net.SplitHostPort(raddr)
	redis := func() *exec.Cmd {
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	r := redis()
	defer func() { r.Process.Kill(); r.Wait() }()
	addr := freeAddr(t)
	p := start(t, options{env: signalsChild{exitOn: "TERM"}.env()},
		"--listen", addr, "--ready-tcp", raddr, "--health-interval", "200ms", "--health-timeout", "500ms", "--", self)
	waitHTTP(t, addr, "/readyz", 200, 5*time.Second)
	waitMetric(t, addr, fmt.Sprintf(`supervise_check_up{check="tcp:%s"}`, raddr), 1)
	r.Process.Kill()
	r.Wait()
	body := waitHTTP(t, addr, "/readyz", 503, 3*time.Second)
	if !strings.Contains(body, "[-]tcp:"+raddr+" failed") {
		t.Errorf("readyz without redis:\n%s", body)
	}
	waitHTTP(t, addr, "/livez", 200, time.Second) // a dead dependency is not a dead worker
	waitMetric(t, addr, fmt.Sprintf(`supervise_check_up{check="tcp:%s"}`, raddr), 0)
	r = redis()
	waitHTTP(t, addr, "/readyz", 200, 5*time.Second)
	p.signal(syscall.SIGTERM)
	p.exit(5 * time.Second)
}

// --health-cmd runs through the supervisor's reaper: its status is never
// lost, its output explains a failure, and a hung command times out.
func TestHealthCmd(t *testing.T) {
	addr := freeAddr(t)
	flag := t.TempDir() + "/ok"
	p := start(t, options{env: signalsChild{exitOn: "TERM"}.env()},
		"--listen", addr, "--health-cmd", `sh -c 'test -f `+flag+` || { echo "no flag file"; exit 3; }'`,
		"--health-interval", "200ms", "--", self)
	body := waitHTTP(t, addr, "/readyz", 503, 5*time.Second)
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(body, "[-]health-cmd failed: exit status 3: no flag file") && time.Now().Before(deadline) {
		_, body = get(t, addr, "/readyz")
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "[-]health-cmd failed: exit status 3: no flag file") {
		t.Errorf("readyz with a failing health-cmd:\n%s", body)
	}
	os.WriteFile(flag, nil, 0o644)
	waitHTTP(t, addr, "/readyz", 200, 3*time.Second)
	p.signal(syscall.SIGTERM)
	p.exit(5 * time.Second)

	addr = freeAddr(t)
	p = start(t, options{env: signalsChild{exitOn: "TERM"}.env()},
		"--listen", addr, "--health-cmd", "sleep 30", "--health-timeout", "300ms", "--health-interval", "500ms", "--", self)
	body = waitHTTP(t, addr, "/readyz", 503, 5*time.Second)
	deadline = time.Now().Add(3 * time.Second)
	for !strings.Contains(body, "timed out after 300ms") && time.Now().Before(deadline) {
		_, body = get(t, addr, "/readyz")
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "[-]health-cmd failed: timed out after 300ms") {
		t.Errorf("readyz with a hung health-cmd:\n%s", body)
	}
	p.signal(syscall.SIGTERM)
	if code := p.exit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// 500 slow connections on the health port cannot delay the stop ladder:
// the second rung still lands on time.
func TestSlowClientsDoNotDelayLadder(t *testing.T) {
	addr := freeAddr(t)
	p := startHuey(t, "60s", nil, "--listen", addr, "--grace-period", "10s")
	waitHTTP(t, addr, "/livez", 200, 5*time.Second)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 500; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		c.Write([]byte("GET /livez HTTP/1.1\r\nHost: x\r\n")) // never finished
		conns = append(conns, c)
	}
	sent := p.signal(syscall.SIGTERM)
	got := p.waitFor(`^task interrupted$`, 9*time.Second)
	within(t, "second rung with 500 slow clients", got.at.Sub(sent), drain(t, "huey", 10*time.Second), tolerance)
	p.exit(5 * time.Second)
}

// Readiness turns 503 at the stop signal, before any rung: during a 2 s
// --stop-delay the child has received nothing yet, /readyz says 503 and
// the draining gauge is 1, while /livez stays 200. Load balancers rely on
// exactly this.
func TestReadyzDuringStopDelay(t *testing.T) {
	addr := freeAddr(t)
	p := startHuey(t, "1m", nil, "--listen", addr, "--stop-delay", "2s", "--grace-period", "30s")
	waitHTTP(t, addr, "/readyz", 200, 5*time.Second)
	sent := p.signal(syscall.SIGTERM)
	// The stop delay is inside the plan: KILL lands where ladder.Size puts
	// it, counting the delay.
	b := ladder.Budget{Grace: 30 * time.Second, StopDelay: 2 * time.Second}
	huey, _ := ladder.Lookup("huey")
	l, _ := ladder.Size(huey, b)
	p.waitFor(`stop requested.* kill_in=`+regexp.QuoteMeta(l.KillAt(b).String())+`$`, time.Second)
	for _, at := range []time.Duration{100 * time.Millisecond, 1500 * time.Millisecond} {
		time.Sleep(time.Until(sent.Add(at)))
		if code, body := get(t, addr, "/readyz"); code != 503 {
			t.Errorf("/readyz %s after the stop: %d, want 503:\n%s", at, code, body)
		}
		if code, _ := get(t, addr, "/livez"); code != 200 {
			t.Errorf("/livez %s after the stop: %d, want 200", at, code)
		}
		if v := metric(t, addr, "supervise_draining"); v != 1 {
			t.Errorf("supervise_draining %s after the stop: %v, want 1", at, v)
		}
		if v := metric(t, addr, "supervise_stop_rung"); v != 0 {
			t.Errorf("supervise_stop_rung %s after the stop: %v, want 0 (no rung yet)", at, v)
		}
		if p.count(`^signal `) != 0 {
			t.Fatalf("the child got a signal %s after the stop, inside the stop delay", at)
		}
	}
	got := p.waitFor(`^signal INT$`, 2*time.Second)
	within(t, "first rung after the stop delay", got.at.Sub(sent), 2*time.Second, tolerance)
}

// The metrics no other test reads, after a real stop: the drain, the
// outcome, the readiness check's duration, the process tree and the
// cgroup. The child's argv and environment carry a secret that appears
// in no label and no value.
func TestMetricsAfterStop(t *testing.T) {
	addr := freeAddr(t)
	redis := freeAddr(t)
	ln, err := net.Listen("tcp", redis)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const secret = "hunter2-s3cr3t"
	// A grandchild that ignores TERM keeps supervise in its cleanup for
	// 3 s after the child's graceful exit: long enough to scrape.
	p := start(t, options{env: append(treeChild{}.env(), "API_TOKEN="+secret)},
		"--listen", addr, "--ready-tcp", redis, "--health-interval", "200ms", "--preset", "huey", "--grace-period", "30s",
		"--cleanup-grace", "3s", "--", self, "--token="+secret)
	p.waitFor(`^ready pid=`, 10*time.Second)
	waitMetric(t, addr, `supervise_check_up{check="tcp:`+redis+`"}`, 1)
	body := waitHTTP(t, addr, "/metrics", 200, time.Second)
	for _, name := range []string{"supervise_check_duration_seconds", "supervise_tree_processes",
		"supervise_tree_resident_memory_bytes", "supervise_tree_cpu_seconds_total", "supervise_cgroup_memory_usage_bytes"} {
		if v := metricNamed(t, addr, name); v < 0 {
			t.Errorf("%s is missing", name)
		}
	}
	if v := metric(t, addr, "supervise_tree_processes"); v < 2 {
		t.Errorf("supervise_tree_processes %v, want the child and its grandchild", v)
	}
	if v := metric(t, addr, "supervise_tree_resident_memory_bytes"); v < 1<<20 {
		t.Errorf("supervise_tree_resident_memory_bytes %v, implausibly small", v)
	}
	sent := p.signal(syscall.SIGTERM)
	p.waitFor(`child stopped.*outcome=graceful`, 5*time.Second)
	drain := metric(t, addr, "supervise_stop_drain_seconds")
	if drain <= 0 || drain > time.Since(sent).Seconds() {
		t.Errorf("supervise_stop_drain_seconds %v, want the stop signal to exit time", drain)
	}
	if v := metric(t, addr, `supervise_shutdowns_total{outcome="graceful"}`); v != 1 {
		t.Errorf(`supervise_shutdowns_total{outcome="graceful"} %v, want 1`, v)
	}
	final := waitHTTP(t, addr, "/metrics", 200, time.Second)
	for _, b := range []string{body, final} {
		if strings.Contains(b, secret) || strings.Contains(b, "API_TOKEN") || strings.Contains(b, "--token") {
			t.Error("a scrape carries the child's argv or environment")
		}
	}
	p.exit(10 * time.Second)
}

// After a real OOM kill, the cgroup metrics show it: the OOM-kill counter
// rose and the limit is the cgroup's. (The restart policy keeps supervise
// up to be scraped.)
func TestMetricsAfterOOM(t *testing.T) {
	dir := memoryCgroup(t)
	addr := freeAddr(t)
	wrap := []string{"sh", "-c", `echo $$ > "$CG/cgroup.procs" && exec "$@"`, "sh"}
	p := start(t, options{wrap: wrap, env: append(allocChild{}.env(), "CG="+dir)},
		"--listen", addr, "--restart", "on-failure", "--restart-max", "1", "--", self)
	p.waitFor(`child was killed by the kernel's OOM killer`, 30*time.Second)
	if v := metricNamed(t, addr, "supervise_cgroup_oom_kills_total"); v < 1 {
		t.Errorf("supervise_cgroup_oom_kills_total %v after an OOM kill", v)
	}
	if limit := metricNamed(t, addr, "supervise_cgroup_memory_limit_bytes"); limit != 64<<20 {
		t.Errorf("supervise_cgroup_memory_limit_bytes %v, want 67108864", metricNamed(t, addr, "supervise_cgroup_memory_limit_bytes"))
	}
	if v := metric(t, addr, "supervise_child_last_exit_code"); v != 137 {
		t.Errorf("supervise_child_last_exit_code %v, want 137", v)
	}
	p.exit(30 * time.Second)
}

// supervise_tree_cpu_seconds_total is a counter: when a process of the
// tree that burned CPU ends, its time stays counted (what supervise and
// the child reaped is added to what runs now).
func TestTreeCPUCounterKeepsEndedProcesses(t *testing.T) {
	addr := freeAddr(t)
	// A grandchild burns CPU until a file appears, then exits; the child
	// (the shell) waits for it, then sleeps on.
	stopFile := filepath.Join(t.TempDir(), "stop")
	script := `(while [ ! -e "$1" ]; do :; done) & wait; echo burner-gone; exec sleep 600`
	p := start(t, options{}, "--listen", addr, "--", "sh", "-c", script, "sh", stopFile)
	var before float64
	waitFor := time.Now().Add(10 * time.Second)
	for before < 0.3 && time.Now().Before(waitFor) {
		time.Sleep(50 * time.Millisecond)
		before = metric(t, addr, "supervise_tree_cpu_seconds_total")
	}
	if before < 0.3 {
		t.Fatalf("the burner used %v s of CPU, want 0.3 s at least", before)
	}
	os.WriteFile(stopFile, nil, 0o644)
	p.waitFor(`^burner-gone$`, 10*time.Second)
	after := metric(t, addr, "supervise_tree_cpu_seconds_total")
	if after < before {
		t.Errorf("supervise_tree_cpu_seconds_total went down from %v to %v when the burner ended", before, after)
	}
	t.Logf("tree CPU %.2f s while the burner ran, %.2f s after it ended", before, after)
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
}

// During a stop a scrape tells the story, though the outcome series come
// only after the child exits: draining, the rung reached, when the stop
// began and when its KILL is planned. build_info is there from the start,
// and /livez?verbose shows the heartbeat's age.
func TestScrapeDuringStop(t *testing.T) {
	addr := freeAddr(t)
	hb := filepath.Join(t.TempDir(), "heartbeat")
	os.WriteFile(hb, nil, 0o644)
	p := startHuey(t, "60s", nil, "--listen", addr, "--grace-period", "10s", "--heartbeat-file", hb)
	if v := metricNamed(t, addr, "supervise_build_info"); v != 1 {
		t.Errorf("supervise_build_info %v, want 1", v)
	}
	// Exactly these labels, each with the value `supervise version` gives:
	// "supervise VERSION (commit REVISION, GOVERSION, OS/ARCH)".
	out, err := exec.Command(binary, "version").Output()
	v := regexp.MustCompile(`^supervise (\S+) \(commit (\S+), (go\S+), `).FindSubmatch(out)
	if err != nil || v == nil {
		t.Fatalf("supervise version: %q %v", out, err)
	}
	want := fmt.Sprintf(`supervise_build_info{goversion=%q,revision=%q,version=%q} 1`, v[3], v[2], v[1])
	if _, body := get(t, addr, "/metrics"); !strings.Contains(body, want+"\n") {
		t.Errorf("build_info: want %s, got:\n%s", want, grepLines(body, "build_info"))
	}
	if _, live := get(t, addr, "/livez?verbose"); !regexp.MustCompile(`\[\+\]heartbeat ok \(age \d+s, max 1m0s\)`).MatchString(live) {
		t.Errorf("/livez?verbose: %q", live)
	}
	if v := metric(t, addr, "supervise_heartbeat_age_seconds"); v < 0 || v > 30 {
		t.Errorf("supervise_heartbeat_age_seconds %v", v)
	}
	before := time.Now()
	p.signal(syscall.SIGTERM)
	p.waitFor(`stop rung: draining`, 2*time.Second)
	for series, want := range map[string]float64{"supervise_draining": 1, "supervise_stop_rung": 1} {
		if v := metric(t, addr, series); v != want {
			t.Errorf("%s %v during the stop, want %v", series, v, want)
		}
	}
	started := metric(t, addr, "supervise_stop_started_timestamp_seconds")
	kill := metric(t, addr, "supervise_stop_kill_planned_timestamp_seconds")
	// The stop began between the signal's sending and now; its KILL is
	// planned 9 s later (10 s grace, 1 s margin), to the nanosecond.
	if s := time.Unix(0, int64(started*1e9)); s.Before(before.Add(-time.Second)) || s.After(time.Now()) {
		t.Errorf("stop_started %v, not between the signal and now", s)
	}
	if d := kill - started; d < 8.999 || d > 9.001 {
		t.Errorf("KILL planned %.3f s after the stop began, want 9 s", d)
	}
	if v := metric(t, addr, `supervise_shutdowns_total{outcome="escalated"}`); v != 0 {
		t.Errorf("an outcome before the child exited: %v", v)
	}
	p.signal(syscall.SIGTERM) // a repeated stop: the second INT, and the end
	p.exit(10 * time.Second)
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
