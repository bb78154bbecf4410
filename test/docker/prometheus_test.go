//go:build docker

package docker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// prometheusImage builds a Prometheus image from the cached Debian base
// image and the host's Debian prometheus binary (nothing is pulled).
func prometheusImage(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("SKIP: no prometheus binary to build an image from (apt-get install prometheus)")
	}
	const tag = "supervise-test/prometheus:local"
	ctx := t.TempDir()
	run(t, "", nil, false, "cp", bin, filepath.Join(ctx, "prometheus"))
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM "+baseImage+"\nCOPY prometheus /bin/prometheus\n"+
		"RUN mkdir -p /prometheus /etc/prometheus\nENTRYPOINT [\"/bin/prometheus\"]\n"), 0o644)
	run(t, ctx, nil, false, "docker", "build", "-q", "-t", tag, ".")
	return tag
}

// The RQ stack with examples/prometheus/compose.prometheus.yml beside it,
// as the example says to run it: Prometheus finds the three workers
// through compose's DNS, scrapes them, and when Redis stops, the
// readiness alert goes pending for each of them (it fires after its 5
// minutes; make e2e-prometheus sees alerts fire).
func TestComposePrometheus(t *testing.T) {
	testenv.RequireDocker(t)
	testenv.EnsureBaseImage(t)
	img := prometheusImage(t)
	// The examples keep their layout: compose/rq beside prometheus.
	root, _ := filepath.Abs("../..")
	tmp := t.TempDir()
	run(t, "", nil, false, "mkdir", "-p", filepath.Join(tmp, "compose"))
	run(t, "", nil, false, "cp", "-r", filepath.Join(root, "examples/compose/rq"), filepath.Join(tmp, "compose/rq"))
	run(t, "", nil, false, "cp", "-r", filepath.Join(root, "examples/prometheus"), filepath.Join(tmp, "prometheus"))
	dir := filepath.Join(tmp, "compose/rq")
	os.WriteFile(filepath.Join(dir, "compose.test.yaml"), []byte("services:\n  redis:\n    image: "+baseImage+"\n"), 0o644)
	promPort := freePort(t)
	s := &stack{t: t, dir: dir, cmd: compose(t), project: fmt.Sprintf("supervise-prom-%d", os.Getpid()),
		env: []string{"GRACE_PERIOD=10s", "WORKERS=3", "WORKER_BASE_IMAGE=" + baseImage, "SUPERVISE_IMAGE=" + superviseImage(t),
			"WORKER_INSTALL=true", "REDIS_IMAGE=" + baseImage, "PROMETHEUS_IMAGE=" + img, fmt.Sprintf("PROMETHEUS_PORT=%d", promPort)},
		files: []string{"compose.yaml", "compose.test.yaml", "../../prometheus/compose.prometheus.yml"}}
	s.up(3)
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/", promPort)
	getJSON := func(path string, v any) error {
		resp, err := http.Get(api + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var targets struct {
		Data struct {
			Active []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		up := 0
		if getJSON("targets", &targets) == nil {
			for _, a := range targets.Data.Active {
				if a.Health == "up" {
					up++
				}
			}
		}
		if up == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus scrapes %d workers, want 3: %+v", up, targets.Data.Active)
		}
		time.Sleep(time.Second)
	}
	t.Logf("Prometheus found and scrapes 3 workers through compose's DNS: %+v", targets.Data.Active)
	s.compose(false, "stop", "redis")
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	deadline = time.Now().Add(2 * time.Minute)
	for {
		n := 0
		if getJSON("alerts", &alerts) == nil {
			for _, a := range alerts.Data.Alerts {
				if a.Labels["alertname"] == "SuperviseNotReady" && strings.HasPrefix(a.Labels["check"], "tcp:redis:6379") {
					n++
				}
			}
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SuperviseNotReady for %d workers after Redis stopped, want 3: %+v", n, alerts.Data.Alerts)
		}
		time.Sleep(time.Second)
	}
	t.Logf("Redis stopped: SuperviseNotReady %s for all 3 workers: %+v", alerts.Data.Alerts[0].State, alerts.Data.Alerts)
}
