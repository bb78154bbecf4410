//go:build prometheus

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// promAlert is one alert as /api/v1/alerts reports it.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    string            `json:"activeAt"`
	Value       string            `json:"value"`
}

// startPrometheus runs Debian's prometheus on loopback with a temporary
// config and data directory, scraping targets every second and
// evaluating examples/prometheus/supervise.rules.yml every second, with
// each alert's `for` cut to forSecs so the test need not wait minutes:
// the expressions and thresholds are the shipped ones.
func startPrometheus(t *testing.T, targets map[string]string, forSecs int) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("SKIP: no prometheus (apt-get install prometheus)")
	}
	dir := t.TempDir()
	rules, err := os.ReadFile("../../examples/prometheus/supervise.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	short := regexp.MustCompile(`(?m)^(\s+for: )\S+$`).ReplaceAll(rules, []byte(fmt.Sprintf("${1}%ds", forSecs)))
	write(t, filepath.Join(dir, "supervise.rules.yml"), string(short))
	var sc strings.Builder
	for name, addr := range targets {
		fmt.Fprintf(&sc, "      - targets: [%q]\n        labels: {instance: %q}\n", addr, name)
	}
	write(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: [supervise.rules.yml]
scrape_configs:
  - job_name: supervise
    static_configs:
%s`, sc.String()))
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Logf("prometheus log:\n%s", tail(string(b), 30))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus not ready after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alerts reads /api/v1/alerts.
func alerts(t *testing.T, prom string) []promAlert {
	t.Helper()
	resp, err := http.Get("http://" + prom + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Data.Alerts
}

// waitScrapes waits until Prometheus has scraped every target n times:
// count_over_time(up[1m]) is at least n for each.
func waitScrapes(t *testing.T, prom string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get("http://" + prom + "/api/v1/query?query=" + url.QueryEscape("min(count_over_time(up[1m]))"))
		if err == nil {
			var body struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if r := body.Data.Result; len(r) == 1 {
				if v, ok := r[0].Value[1].(string); ok {
					if f, err := strconv.ParseFloat(v, 64); err == nil && f >= float64(n) {
						return
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape every target %d times within %s", n, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitFiring waits until alert name fires for instance, and returns it.
func waitFiring(t *testing.T, prom, name, instance string, timeout time.Duration) promAlert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, a := range alerts(t, prom) {
			if a.Labels["alertname"] == name && a.Labels["instance"] == instance && a.State == "firing" {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not fire for %s within %s; alerts: %+v", name, instance, timeout, alerts(t, prom))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestPrometheus runs the shipped rules in a real Prometheus against
// supervise over real workers: an RQ worker whose Redis goes away, a child
// that the kernel's OOM killer keeps ending under --restart, and a healthy
// RQ worker that must raise nothing.
func TestPrometheus(t *testing.T) {
	// Readiness: a real RQ worker and its Redis, which the test stops.
	url, stopRedis := redisServerStoppable(t)
	r1 := debianRQ(t, url)
	redisAddr := strings.TrimPrefix(url, "redis://")
	readyAddr := freeAddr(t)
	rq := start(t, options{env: r1.env()}, append([]string{"--listen", readyAddr, "--ready-tcp", redisAddr, "--health-interval", "300ms",
		"--grace-period", "10s", "--"}, r1.worker()...)...)
	rq.waitFor(`Listening on default`, 20*time.Second)

	// OOM: supervise and its child in a 64 MiB memory cgroup; the child
	// allocates until the OOM killer ends it, and --restart starts it again.
	cg := memoryCgroup(t)
	oomAddr := freeAddr(t)
	wrap := []string{"sh", "-c", `echo $$ > "$CG/cgroup.procs" && exec "$@"`, "sh"}
	oom := start(t, options{wrap: wrap, env: append(allocChild{}.env(), "CG="+cg)},
		"--listen", oomAddr, "--restart", "always", "--", self)

	// Healthy: another RQ worker with its Redis up all along.
	r2 := debianRQ(t, redisServer(t))
	okAddr := freeAddr(t)
	ok := start(t, options{env: r2.env()}, append([]string{"--listen", okAddr, "--ready-tcp", strings.TrimPrefix(r2.url, "redis://"),
		"--health-interval", "300ms", "--grace-period", "10s", "--"}, r2.worker()...)...)
	ok.waitFor(`Listening on default`, 20*time.Second)

	// promtool check metrics against a live /metrics.
	if promtool, err := exec.LookPath("promtool"); err == nil {
		_, body := get(t, okAddr, "/metrics")
		check := exec.Command(promtool, "check", "metrics")
		check.Stdin = strings.NewReader(body)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		} else {
			t.Logf("promtool check metrics: a live /metrics passes (%d bytes)", len(body))
		}
	}

	prom := startPrometheus(t, map[string]string{"rq-redis-down": readyAddr, "oom": oomAddr, "healthy": okAddr}, 3)
	// A few scrapes of everything healthy first: each target's up series
	// holds three samples.
	waitScrapes(t, prom, 3, 30*time.Second)
	for _, a := range alerts(t, prom) {
		if a.Labels["instance"] == "rq-redis-down" {
			t.Errorf("an alert before Redis stopped: %+v", a)
		}
	}
	stopRedis()
	a := waitFiring(t, prom, "SuperviseNotReady", "rq-redis-down", 30*time.Second)
	if a.Labels["check"] != "tcp:"+redisAddr {
		t.Errorf("SuperviseNotReady's check label %q, want tcp:%s", a.Labels["check"], redisAddr)
	}
	t.Logf("firing: %s", alertJSON(a))
	a = waitFiring(t, prom, "SuperviseOOMKilled", "oom", 60*time.Second)
	t.Logf("firing: %s", alertJSON(a))
	a = waitFiring(t, prom, "SuperviseCrashLooping", "oom", 60*time.Second)
	t.Logf("firing: %s", alertJSON(a))
	for _, a := range alerts(t, prom) {
		if a.Labels["instance"] == "healthy" {
			t.Errorf("the healthy worker raised %s (%s)", a.Labels["alertname"], a.State)
		}
	}
	oom.signal(syscall.SIGTERM)
	oom.exit(20 * time.Second)
	rq.signal(syscall.SIGTERM)
	rq.exit(20 * time.Second)
	ok.signal(syscall.SIGTERM)
	ok.exit(20 * time.Second)
}

func alertJSON(a promAlert) string {
	b, _ := json.Marshal(a)
	return string(b)
}
