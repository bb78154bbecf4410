//go:build kube

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/supervise/supervise/internal/ladder"
)

// kubeCluster is a real etcd and kube-apiserver on loopback, RBAC on.
type kubeCluster struct {
	t      *testing.T
	addr   string // the API server's HOST:PORT
	ca     string // its serving certificate chain, as a CA bundle
	admin  string // a system:masters token
	client *http.Client
}

// startKube builds kube-apiserver once (cached outside the repository),
// then starts etcd and the API server for this test.
func startKube(t *testing.T) *kubeCluster {
	t.Helper()
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("etcd not installed (apt-get install etcd-server)")
	}
	apiserver := filepath.Join(kubeBinaries(t, "kube-apiserver"), "kube-apiserver")
	dir := t.TempDir()

	etcdPort, peerPort := freePort(t), freePort(t)
	etcd := exec.Command(etcdBin, "--data-dir", filepath.Join(dir, "etcd"), "--name", "default",
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peerPort))
	etcd.Stdout, etcd.Stderr = io.Discard, io.Discard
	startDaemon(t, etcd)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
	admin := "admin-" + fmt.Sprint(time.Now().UnixNano())
	os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(admin+",admin,admin-uid,system:masters\n"), 0o600)

	port := freePort(t)
	certs := filepath.Join(dir, "certs")
	api := exec.Command(apiserver,
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		fmt.Sprintf("--secure-port=%d", port), "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", "--authorization-mode=RBAC",
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16", "--cert-dir="+certs,
		// Pods may name their own stop signal (lifecycle.stopSignal).
		"--feature-gates=ContainerStopSignals=true")
	logf, _ := os.Create(filepath.Join(dir, "apiserver.log"))
	api.Stdout, api.Stderr = logf, logf
	startDaemon(t, api)

	k := &kubeCluster{t: t, addr: fmt.Sprintf("127.0.0.1:%d", port), ca: filepath.Join(certs, "apiserver.crt"), admin: admin}
	k.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, _ := k.do("GET", "/readyz", nil)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "apiserver.log"))
			t.Fatalf("kube-apiserver not ready after 90s:\n%s", tail(string(log), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return k
}

// startDaemon starts cmd and kills it when the test ends.
func startDaemon(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
}

// do sends a request with the admin token; body is JSON-encoded.
func (k *kubeCluster) do(method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "https://"+k.addr+path, r)
	req.Header.Set("Authorization", "Bearer "+k.admin)
	req.Header.Set("Content-Type", "application/json")
	if method == "PATCH" {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// must sends a request that has to succeed.
func (k *kubeCluster) must(method, path string, body any) []byte {
	k.t.Helper()
	code, b := k.do(method, path, body)
	if code < 200 || code > 299 {
		k.t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	return b
}

// obj is a Kubernetes object as JSON.
type obj = map[string]any

// setupNamespace creates a namespace with a service account "worker"
// allowed to get pods (and one, "norbac", allowed nothing).
func (k *kubeCluster) setupNamespace(ns string) {
	k.must("POST", "/api/v1/namespaces", obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": ns}})
	for _, sa := range []string{"default", "worker", "norbac"} {
		k.must("POST", "/api/v1/namespaces/"+ns+"/serviceaccounts", obj{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": obj{"name": sa}})
	}
	k.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/roles", obj{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": obj{"name": "read-own-pod"},
		"rules": []obj{{"apiGroups": []string{""}, "resources": []string{"pods"}, "verbs": []string{"get"}}}})
	k.must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/rolebindings", obj{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": obj{"name": "worker-reads-own-pod"},
		"roleRef":  obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-own-pod"},
		"subjects": []obj{{"kind": "ServiceAccount", "name": "worker", "namespace": ns}}})
}

// pod creates a pod bound to a node (no kubelet runs, so a deletion
// stays in progress) with the spec's grace period.
func (k *kubeCluster) pod(ns, name, sa string, grace int) {
	k.must("POST", "/api/v1/namespaces/"+ns+"/pods", obj{"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{"name": name},
		"spec": obj{"nodeName": "node-1", "serviceAccountName": sa, "terminationGracePeriodSeconds": grace,
			"automountServiceAccountToken": false,
			"containers":                   []obj{{"name": "worker", "image": "registry.example/worker:1"}}}})
}

// deletePod deletes a pod, with gracePeriodSeconds when grace >= 0.
func (k *kubeCluster) deletePod(ns, name string, grace int) {
	var body any
	if grace >= 0 {
		body = obj{"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": grace}
	}
	k.must("DELETE", "/api/v1/namespaces/"+ns+"/pods/"+name, body)
}

// serviceAccountDir mints a token for sa with the TokenRequest API and
// writes the files Kubernetes mounts in a pod: token, ca.crt, namespace.
func (k *kubeCluster) serviceAccountDir(t *testing.T, ns, sa string) string {
	b := k.must("POST", "/api/v1/namespaces/"+ns+"/serviceaccounts/"+sa+"/token",
		obj{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": obj{"expirationSeconds": 3600}})
	var tr struct {
		Status struct{ Token string } `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Status.Token == "" {
		t.Fatalf("TokenRequest: %v %s", err, b)
	}
	dir := t.TempDir()
	ca, err := os.ReadFile(k.ca)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "token"), []byte(tr.Status.Token), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644)
	os.WriteFile(filepath.Join(dir, "namespace"), []byte(ns), 0o644)
	return dir
}

// podEnv is the environment supervise sees in the pod: the API server's
// address as KUBERNETES_SERVICE_*, the downward API's POD_NAME, and the
// service account folder in place of the in-cluster path.
func podEnv(addr, name, saDir string, more ...string) []string {
	host, port, _ := net.SplitHostPort(addr)
	return append([]string{"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port,
		"POD_NAME=" + name, "SUPERVISE_KUBE_SERVICEACCOUNT_DIR=" + saDir}, more...)
}

func TestKube(t *testing.T) {
	k := startKube(t)
	ns := "jobs"
	k.setupNamespace(ns)
	sa := k.serviceAccountDir(t, ns, "worker")

	// kubectl delete --grace-period=45 of a pod whose spec says 300, with
	// SUPERVISE_GRACE_PERIOD=300: the spec's 300 s is the plan at start,
	// the deletion's 45 s wins at the stop, and the ladder is planned
	// inside it from the stop signal (no kubelet runs here: the test sends
	// the stop signal right after the DELETE, as the kubelet would without
	// a preStop hook).
	t.Run("deletion grace wins", func(t *testing.T) {
		k.pod(ns, "w45", "worker", 300)
		p := startHuey(t, "10m", podEnv(k.addr, "w45", sa, "SUPERVISE_GRACE_PERIOD=300s"), "--listen", "off")
		p.waitFor(`Kubernetes: the ladder is planned to end before the kubelet's SIGKILL.*pod=jobs/w45.*kill_after=5m0s `+
			`from="terminationGracePeriodSeconds 5m0s, no preStop hook"`, 5*time.Second)
		k.deletePod(ns, "w45", 45)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*since_stop=0s`, time.Second)
		l := p.waitFor(`the orchestrator's SIGKILL from the Kubernetes API: the ladder is planned to end before it`, 2*time.Second)
		at45 := ladder.Budget{Grace: 45 * time.Second}
		for _, want := range []string{`grace_period=45s`, `from="deletionGracePeriodSeconds 45s, no preStop hook"`,
			`replaces="5m0s from the pod spec: terminationGracePeriodSeconds 5m0s, no preStop hook"`,
			"ladder=" + planned(t, "huey", at45).String(), "kill_in=" + planned(t, "huey", at45).KillAt(at45).String()} {
			if !strings.Contains(l.text, want) {
				t.Errorf("no %s in %q", want, l.text)
			}
		}
		t.Logf("API answer %s after the stop: %s", l.at.Sub(sent).Round(time.Millisecond), l.text)
	})

	// A short deletion grace really times the ladder: deleted with 8 s,
	// the second INT lands where the plan at 8 s puts it, and supervise is
	// gone before 8 s.
	t.Run("short deletion grace times the ladder", func(t *testing.T) {
		k.pod(ns, "w8", "worker", 300)
		p := startHuey(t, "10m", podEnv(k.addr, "w8", sa), "--listen", "off")
		k.deletePod(ns, "w8", 8)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop requested.*kill_in=4m59s`, time.Second)
		p.waitFor(`the orchestrator's SIGKILL from the Kubernetes API.*grace_period=8s.*`+ladderAttr(t, "huey", 8*time.Second), 2*time.Second)
		got := p.waitFor(`^task interrupted$`, 8*time.Second)
		within(t, "second INT", got.at.Sub(sent), drain(t, "huey", 8*time.Second), tolerance)
		p.exit(3 * time.Second)
		if d := time.Since(sent); d > 8*time.Second {
			t.Errorf("supervise exited %s after the stop, after the kubelet's SIGKILL would have come", d)
		}
	})

	// A pod that names its own stop signal (lifecycle.stopSignal, with the
	// ContainerStopSignals gate): that signal starts the ladder as TERM
	// does, rather than being passed on while the kubelet's SIGKILL nears.
	t.Run("the pod's stop signal", func(t *testing.T) {
		k.must("POST", "/api/v1/namespaces/"+ns+"/pods", obj{"apiVersion": "v1", "kind": "Pod", "metadata": obj{"name": "wquit"},
			"spec": obj{"nodeName": "node-1", "serviceAccountName": "worker", "terminationGracePeriodSeconds": 20,
				"automountServiceAccountToken": false, "os": obj{"name": "linux"},
				"containers": []obj{{"name": "worker", "image": "registry.example/worker:1",
					"lifecycle": obj{"stopSignal": "SIGQUIT"}}}}})
		p := startHuey(t, "10m", podEnv(k.addr, "wquit", sa), "--listen", "off")
		p.waitFor(`Kubernetes: the ladder is planned.*stop_signal=QUIT`, 5*time.Second)
		sent := p.signal(syscall.SIGQUIT)
		l := p.waitFor(`stop requested: starting the stop ladder.*signal=QUIT.*`+ladderAttr(t, "huey", 20*time.Second), 2*time.Second)
		p.waitFor(`^signal INT$`, time.Second)
		t.Logf("QUIT, the pod's stop signal, started the ladder %s after it was sent: %s", l.at.Sub(sent).Round(time.Millisecond), l.text)
	})

	// A deletion without --grace-period uses the spec's grace, which the
	// API server copies into deletionGracePeriodSeconds: the plan made at
	// start from the spec holds.
	t.Run("spec grace", func(t *testing.T) {
		k.pod(ns, "w20", "worker", 20)
		p := startHuey(t, "10m", podEnv(k.addr, "w20", sa), "--listen", "off")
		k.deletePod(ns, "w20", -1)
		p.signal(syscall.SIGTERM)
		p.waitFor(`the orchestrator's SIGKILL from the Kubernetes API: as planned.*grace_period=20s`, 2*time.Second)
	})

	// No Role binding: the API says 403; supervise names the rule to add
	// and keeps the configured grace, and the stop goes on unharmed.
	t.Run("rbac missing", func(t *testing.T) {
		k.pod(ns, "wnorbac", "norbac", 300)
		dir := k.serviceAccountDir(t, ns, "norbac")
		p := startHuey(t, "10m", podEnv(k.addr, "wnorbac", dir, "SUPERVISE_GRACE_PERIOD=10s"), "--listen", "off")
		p.waitFor(`cannot read pod jobs/wnorbac at start.*\(403\).*each stop asks again.*`+
			`set SUPERVISE_GRACE_PERIOD to terminationGracePeriodSeconds minus the preStop hook's time`, 5*time.Second)
		k.deletePod(ns, "wnorbac", 45)
		sent := p.signal(syscall.SIGTERM)
		l := p.waitFor(`cannot read this stop's grace period from the Kubernetes API`, 2*time.Second)
		for _, want := range []string{"(403)", `resources: [\"pods\"], verbs: [\"get\"]`, "keeping 10s from SUPERVISE_GRACE_PERIOD"} {
			if !strings.Contains(l.text, want) {
				t.Errorf("no %s in %q", want, l.text)
			}
		}
		got := p.waitFor(`^task interrupted$`, 9*time.Second)
		within(t, "second INT at the configured grace", got.at.Sub(sent), drain(t, "huey", 10*time.Second), tolerance)
	})

	// The API server does not answer: the lookup gives up within its 1 s
	// bound, the first rung was not held back, and the configured grace
	// holds.
	t.Run("api server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() { // accepts and never answers
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		p := startHuey(t, "10m", podEnv(ln.Addr().String(), "w45", sa, "SUPERVISE_GRACE_PERIOD=10s"), "--listen", "off")
		sent := p.signal(syscall.SIGTERM)
		first := p.waitFor(`^signal INT$`, time.Second)
		within(t, "first rung", first.at.Sub(sent), 0, tolerance)
		l := p.waitFor(`cannot read this stop's grace period from the Kubernetes API.*keeping 10s`, 3*time.Second)
		if d := l.at.Sub(sent); d > 1500*time.Millisecond {
			t.Errorf("the lookup gave up %s after the stop, not within its 1 s bound", d)
		}
		got := p.waitFor(`^task interrupted$`, 9*time.Second)
		within(t, "second INT at the configured grace", got.at.Sub(sent), drain(t, "huey", 10*time.Second), tolerance)
	})

	// examples/kubernetes passes a server-side dry run with strict field
	// validation: unknown or misplaced fields are errors.
	t.Run("examples dry run", func(t *testing.T) {
		k.must("POST", "/api/v1/namespaces", obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": "examples"}})
		files, _ := filepath.Glob("../../examples/kubernetes/*.yaml")
		if len(files) == 0 {
			t.Fatal("no manifests in examples/kubernetes")
		}
		n := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if doc == nil {
					continue
				}
				path := collectionPath(t, doc, "examples")
				code, b := k.do("POST", path+"?dryRun=All&fieldValidation=Strict", doc)
				if code != 201 && code != 200 {
					t.Errorf("%s: %s %v: %d %s", filepath.Base(f), doc["kind"], doc["metadata"], code, b)
					continue
				}
				n++
			}
		}
		t.Logf("%d objects accepted by a server-side dry run with strict field validation", n)
	})
}

// collectionPath is the REST path objects of doc's kind are created at.
func collectionPath(t *testing.T, doc map[string]any, ns string) string {
	api, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	plural := map[string]string{"Deployment": "deployments", "ServiceAccount": "serviceaccounts", "Role": "roles",
		"RoleBinding": "rolebindings", "Service": "services", "ConfigMap": "configmaps", "Pod": "pods"}[kind]
	if plural == "" {
		t.Fatalf("no REST path known for kind %q", kind)
	}
	prefix := "/apis/" + api
	if api == "v1" {
		prefix = "/api/v1"
	}
	return prefix + "/namespaces/" + ns + "/" + plural
}
