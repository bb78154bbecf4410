//go:build docker

package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/supervise/supervise/test/testenv"
)

// Both compose examples pass `docker compose config`; the Huey one with
// its .env.example, and with no stop_signal anywhere.
func TestComposeConfig(t *testing.T) {
	testenv.RequireDocker(t)
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
