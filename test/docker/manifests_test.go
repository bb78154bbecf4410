//go:build docker

package docker

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Both compose examples pass `docker compose config`; the Huey one with
// its .env.example, and with no stop_signal anywhere.
func TestComposeConfig(t *testing.T) {
	requireDocker(t)
	cmd := compose(t)
	root, _ := filepath.Abs("../..")
	for _, ex := range []string{"rq", "huey"} {
		dir := filepath.Join(root, "examples/compose", ex)
		args := append(append([]string{}, cmd[1:]...), "-f", "compose.yaml")
		if _, err := os.Stat(filepath.Join(dir, ".env.example")); err == nil {
			args = append(args, "--env-file", ".env.example")
		}
		out := run(t, dir, nil, false, cmd[0], append(args, "config")...)
		if strings.Contains(out, "stop_signal") {
			t.Errorf("%s: compose config has a stop_signal", ex)
		}
		var doc struct {
			Services map[string]struct {
				StopGrace   string            `yaml:"stop_grace_period"`
				Environment map[string]string `yaml:"environment"`
				Healthcheck struct {
					Test []string `yaml:"test"`
				} `yaml:"healthcheck"`
				ShmSize any    `yaml:"shm_size"`
				Restart string `yaml:"restart"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		w := doc.Services["worker"]
		if w.StopGrace == "" || w.StopGrace != w.Environment["SUPERVISE_GRACE_PERIOD"] {
			t.Errorf("%s: stop_grace_period %q and SUPERVISE_GRACE_PERIOD %q differ", ex, w.StopGrace, w.Environment["SUPERVISE_GRACE_PERIOD"])
		}
		if len(w.Healthcheck.Test) < 3 || w.Healthcheck.Test[1] != "/usr/local/bin/supervise" || w.Healthcheck.Test[2] != "check" {
			t.Errorf("%s: healthcheck is not supervise check: %v", ex, w.Healthcheck.Test)
		}
		if w.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q", ex, w.Restart)
		}
		if ex == "huey" && w.ShmSize == nil {
			t.Errorf("huey: no shm_size")
		}
	}
}

// The Kubernetes Deployment: the grace period matches SUPERVISE_GRACE_PERIOD,
// probes hit supervise's endpoints on the port it listens on, and the
// Prometheus annotations point there too.
func TestKubernetesManifest(t *testing.T) {
	root, _ := filepath.Abs("../..")
	b, err := os.ReadFile(filepath.Join(root, "examples/kubernetes/worker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
	var d struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Spec       struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"metadata"`
				Spec struct {
					Grace      int `yaml:"terminationGracePeriodSeconds"`
					Containers []struct {
						Env []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						Ports []struct {
							Name string `yaml:"name"`
							Port int    `yaml:"containerPort"`
						} `yaml:"ports"`
						Liveness  probe `yaml:"livenessProbe"`
						Readiness probe `yaml:"readinessProbe"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		t.Errorf("kind %s/%s", d.APIVersion, d.Kind)
	}
	c := d.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["SUPERVISE_GRACE_PERIOD"] != strconv.Itoa(d.Spec.Template.Spec.Grace) {
		t.Errorf("terminationGracePeriodSeconds %d, SUPERVISE_GRACE_PERIOD %q", d.Spec.Template.Spec.Grace, env["SUPERVISE_GRACE_PERIOD"])
	}
	if env["SUPERVISE_LISTEN"] != ":9797" || len(c.Ports) != 1 || c.Ports[0].Port != 9797 || c.Ports[0].Name != "health" {
		t.Errorf("listen %q ports %+v", env["SUPERVISE_LISTEN"], c.Ports)
	}
	if c.Liveness.HTTPGet.Path != "/livez" || c.Readiness.HTTPGet.Path != "/readyz" || c.Liveness.HTTPGet.Port != "health" {
		t.Errorf("probes %+v %+v", c.Liveness, c.Readiness)
	}
	a := d.Spec.Template.Metadata.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "9797" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("annotations %v", a)
	}
}
