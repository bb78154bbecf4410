package docker

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes Deployment: the grace period matches SUPERVISE_GRACE_PERIOD,
// probes hit supervise's endpoints on the port it listens on, and the
// Prometheus annotations point there too.
func TestKubernetesManifest(t *testing.T) {
	root, _ := filepath.Abs("../..")
	f, err := os.Open(filepath.Join(root, "examples/kubernetes/worker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
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
					ServiceAccount string `yaml:"serviceAccountName"`
					Grace          int    `yaml:"terminationGracePeriodSeconds"`
					Containers     []struct {
						Env []struct {
							Name      string `yaml:"name"`
							Value     string `yaml:"value"`
							ValueFrom struct {
								FieldRef struct {
									FieldPath string `yaml:"fieldPath"`
								} `yaml:"fieldRef"`
							} `yaml:"valueFrom"`
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
	// The Deployment is the last document; before it, its ServiceAccount
	// and the Role and RoleBinding that let it read its own pod.
	dec := yaml.NewDecoder(f)
	kinds := map[string]bool{}
	for {
		if err := dec.Decode(&d); err != nil {
			break
		}
		kinds[d.Kind] = true
		if d.Kind == "Deployment" {
			break
		}
	}
	for _, k := range []string{"ServiceAccount", "Role", "RoleBinding", "Deployment"} {
		if !kinds[k] {
			t.Errorf("no %s in worker.yaml", k)
		}
	}
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		t.Fatalf("kind %s/%s", d.APIVersion, d.Kind)
	}
	c := d.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom.FieldRef.FieldPath != "" {
			env[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		}
	}
	if env["POD_NAME"] != "fieldRef:metadata.name" || env["POD_NAMESPACE"] != "fieldRef:metadata.namespace" {
		t.Errorf("POD_NAME %q, POD_NAMESPACE %q: want the downward API", env["POD_NAME"], env["POD_NAMESPACE"])
	}
	if d.Spec.Template.Spec.ServiceAccount != "rq-worker" {
		t.Errorf("serviceAccountName %q", d.Spec.Template.Spec.ServiceAccount)
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
