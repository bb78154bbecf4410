//go:build kube

package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/test/testenv"
)

// workerImageName is the image the kubelet tests run: Debian with RQ and
// Redis, Huey, the tests' worker scripts in /app, and supervise as the
// ENTRYPOINT.
const workerImageName = "docker.io/supervise-test/worker:1"

// workerImage builds the worker image and imports it into the node.
func (n *node) workerImage() {
	t := n.t
	t.Helper()
	out, err := exec.Command("../kube/rootfs.sh").Output()
	if err != nil {
		t.Skipf("SKIP: no Debian root filesystem for the worker image: %v", err)
	}
	rootfs := strings.TrimSpace(string(out))
	// The base layer is cached beside the root filesystem.
	base := rootfs + "-layer.tar"
	if _, err := os.Stat(base); err != nil {
		tmp := base + ".tmp"
		if out, err := exec.Command("tar", "--numeric-owner", "-C", rootfs, "-cf", tmp, ".").CombinedOutput(); err != nil {
			t.Fatalf("tar %s: %v\n%s", rootfs, err, out)
		}
		os.Rename(tmp, base)
	}
	bin := filepath.Join(n.dir, "supervise-static")
	build := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w", "-o", bin, "../../cmd/supervise")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build supervise: %v\n%s", err, out)
	}
	rqApp, _ := filepath.Abs("testdata/rq")
	hueyApp, _ := filepath.Abs("testdata/huey")
	app := filepath.Join(n.dir, "app-layer.tar")
	// RQ 2.10 and redis-py 7 where pip puts them on Debian, ahead of
	// Debian's own RQ 1.13 and redis-py 4.3 on python3's path; Debian's
	// /usr/bin/rq then runs RQ 2.10, as a pip-installed rq would.
	rel := rqReleases()[1]
	rel.Skip(t)
	site := "usr/local/lib/python3.11/dist-packages/"
	writeLayer(t, app, []layerFile{
		{name: "usr/local/bin/supervise", mode: 0o755, src: bin},
		{name: "app", src: rqApp},
		{name: "app", src: hueyApp},
		{name: "usr/lib/python3/dist-packages/huey", src: filepath.Join(testenv.Huey(t), "huey")},
		{name: site + "rq", src: filepath.Join(rel.Path[0], "rq")},
		{name: site + "redis", src: filepath.Join(rel.Path[1], "redis")},
	})
	archive := filepath.Join(n.dir, "worker.oci.tar")
	ociImage{name: workerImageName, layers: []string{base, app}, config: map[string]any{
		"Entrypoint": []string{"/usr/local/bin/supervise"},
		"Env":        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1", "PYTHONPATH=/app"},
		"WorkingDir": "/app",
	}}.write(t, archive)
	n.importImage(archive)
	os.Remove(archive)
}

// startWorkerNode starts what every kubelet test needs: the API server,
// the node with the worker image imported, and a Redis on loopback (the
// pods share the host's network). It returns RQ 2.10 on that Redis, the
// release the pods run.
func startWorkerNode(t *testing.T) (*kubeCluster, *node, *rqEnv) {
	t.Helper()
	rq := latestRQ(t, redisServer(t))
	k := startKube(t)
	n := startNode(t, k)
	n.workerImage()
	return k, n, rq
}

// kubePod is a worker pod of the kubelet tests: supervise as PID 1 of its
// only container, host network, on node-1.
type kubePod struct {
	name    string
	args    []string // the container's args: supervise's options, --, the command
	env     map[string]string
	grace   int // terminationGracePeriodSeconds
	preStop obj // the preStop hook, nil for none
	probe   obj // a liveness probe, nil for none
	data    string
	sa      string // the service account; "worker" when empty
	// requests are the container's resource requests; none (BestEffort)
	// when nil.
	requests obj
	// apiHost and apiPort are where the pod finds the API server; the
	// cluster's own address when empty.
	apiHost, apiPort string
}

// createPod creates p in ns, with the API server's address in
// KUBERNETES_SERVICE_* (there is no kube-proxy on the test node to route
// the kubernetes Service), POD_NAME from the downward API, and data, when
// set, as a hostPath volume at /data.
func (k *kubeCluster) createPod(t *testing.T, ns string, p kubePod) {
	t.Helper()
	host, port := splitAddr(k.addr)
	if p.apiHost != "" {
		host, port = p.apiHost, p.apiPort
	}
	if p.sa == "" {
		p.sa = "worker"
	}
	env := []obj{{"name": "KUBERNETES_SERVICE_HOST", "value": host}, {"name": "KUBERNETES_SERVICE_PORT", "value": port},
		{"name": "POD_NAME", "valueFrom": obj{"fieldRef": obj{"fieldPath": "metadata.name"}}}}
	for name, v := range p.env {
		env = append(env, obj{"name": name, "value": v})
	}
	c := obj{"name": "worker", "image": workerImageName, "imagePullPolicy": "Never", "args": p.args, "env": env}
	lc := obj{}
	if p.preStop != nil {
		lc["preStop"] = p.preStop
	}
	if len(lc) > 0 {
		c["lifecycle"] = lc
	}
	if p.probe != nil {
		c["livenessProbe"] = p.probe
	}
	if p.requests != nil {
		c["resources"] = obj{"requests": p.requests}
	}
	spec := obj{"nodeName": "node-1", "hostNetwork": true, "serviceAccountName": p.sa, "restartPolicy": "Always",
		"terminationGracePeriodSeconds": p.grace, "containers": []obj{c}}
	if p.data != "" {
		c["volumeMounts"] = []obj{{"name": "data", "mountPath": "/data"}}
		spec["volumes"] = []obj{{"name": "data", "hostPath": obj{"path": p.data, "type": "Directory"}}}
	}
	if code, b := k.do("POST", "/api/v1/namespaces/"+ns+"/pods", obj{"apiVersion": "v1", "kind": "Pod", "metadata": obj{"name": p.name}, "spec": spec}); code != 201 {
		t.Fatalf("create pod %s: %d %s", p.name, code, b)
	}
}

// waitJob waits until RQ job id runs in a work-horse in pod name.
func (n *node) waitJob(t *testing.T, ns, name string, rq *rqEnv, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := rq.state(id)
		if s.status == "started" && s.horse != "0" {
			return
		}
		if s.status == "failed" || time.Now().After(deadline) {
			t.Fatalf("job %s did not start: %+v\n%s", id, s, n.podLog(ns, name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func splitAddr(addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// rootCA publishes the API server's CA in ns as kube-root-ca.crt, which
// every service account token volume mounts (kube-controller-manager
// does this in a full cluster).
func (k *kubeCluster) rootCA(ns string) {
	ca, err := os.ReadFile(k.ca)
	if err != nil {
		k.t.Fatal(err)
	}
	k.must("POST", "/api/v1/namespaces/"+ns+"/configmaps", obj{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": obj{"name": "kube-root-ca.crt"}, "data": obj{"ca.crt": string(ca)}})
}

// waitRunning waits until the pod's container runs and its log has a line
// matching re.
func (n *node) waitRunning(t *testing.T, ns, name, re string) {
	t.Helper()
	n.waitFor(t, "pod "+name+" running", 60*time.Second, func() bool {
		st, ok := n.k.status(ns, name)
		return ok && len(st.ContainerStatuses) > 0 && st.ContainerStatuses[0].State.Running != nil &&
			regexp.MustCompile(re).MatchString(n.podLog(ns, name))
	})
}

// podLog is the container's output as the kubelet keeps it (every
// restart), without the CRI log prefix. The kubelet removes the logs with
// the pod, so the last text read is kept and returned once they are gone.
func (n *node) podLog(ns, name string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.logCache == nil {
		n.logCache = map[string]string{}
	}
	text := n.readPodLog(ns, name)
	if len(text) >= len(n.logCache[ns+"/"+name]) {
		n.logCache[ns+"/"+name] = text
	}
	return n.logCache[ns+"/"+name]
}

func (n *node) readPodLog(ns, name string) string {
	files, _ := filepath.Glob(filepath.Join(n.dir, "pod-logs", ns+"_"+name+"_*", "worker", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, l := range strings.Split(string(data), "\n") {
			// "2026-12-02T12:00:00.123456789Z stderr F text"
			if f := strings.SplitN(l, " ", 4); len(f) == 4 {
				b.WriteString(f[3] + "\n")
			}
		}
	}
	return b.String()
}

// logTime finds the first supervise log line matching re in the pod's log
// and returns its time; it fails the test without one.
func (n *node) logTime(t *testing.T, ns, name, re string) time.Time {
	t.Helper()
	rx := regexp.MustCompile(re)
	for _, l := range strings.Split(n.podLog(ns, name), "\n") {
		if !rx.MatchString(l) {
			continue
		}
		m := regexp.MustCompile(`time=(\S+)`).FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, m[1]); err == nil {
			return at
		}
	}
	t.Fatalf("no line matching %q in the pod's log:\n%s", re, n.podLog(ns, name))
	return time.Time{}
}

// termination is how a container ended, as the API reports it.
type termination struct {
	exitCode int
	reason   string
	message  string
}

// awaitTermination polls the pod every 50 ms until a container state
// (restarts > restarts: lastState) is terminated, and returns it. The
// kubelet deletes a deleted pod's object within about a second of the
// container's end, so the poll must be quick.
func (n *node) awaitTermination(ns, name string, restarts int, timeout time.Duration) (termination, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n.podLog(ns, name)
		st, ok := n.k.status(ns, name)
		if !ok {
			return termination{}, false
		}
		for _, c := range st.ContainerStatuses {
			s := c.State
			if c.RestartCount > restarts {
				s = c.LastState
			}
			if s.Terminated != nil {
				n.podLog(ns, name)
				return termination{s.Terminated.ExitCode, s.Terminated.Reason, s.Terminated.Message}, true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return termination{}, false
}

// deleteAndWatch deletes the pod with grace and returns when the DELETE
// was sent and how the container ended.
func (n *node) deleteAndWatch(t *testing.T, ns, name string, grace int) (time.Time, termination) {
	t.Helper()
	done := make(chan struct{})
	var term termination
	var ok bool
	go func() {
		defer close(done)
		term, ok = n.awaitTermination(ns, name, 1<<30, time.Duration(grace+20)*time.Second)
	}()
	at := time.Now()
	n.k.deletePod(ns, name, grace)
	<-done
	if !ok {
		t.Fatalf("pod %s: no terminated state read back within %ds of the deletion\n%s", name, grace+20, n.podLog(ns, name))
	}
	return at, term
}

// reportHas checks the termination message (supervise's stop report).
func reportHas(t *testing.T, term termination, wants ...string) {
	t.Helper()
	if term.exitCode == 137 {
		t.Errorf("exit code 137: the kubelet's SIGKILL ended the container (reason %s, message %q)", term.reason, term.message)
	}
	for _, w := range wants {
		if !strings.Contains(term.message, w) {
			t.Errorf("termination message has no %q:\n%s", w, term.message)
		}
	}
}

// TestKubelet runs supervise as PID 1 of real pods on a real kubelet and
// containerd: every stop ends before the kubelet's SIGKILL, preStop hooks
// and a probe's restart included, and the stop report is read back from
// the API as the container's termination message.
func TestKubelet(t *testing.T) {
	k, n, rq := startWorkerNode(t)
	url := rq.url
	ns := "work"
	k.setupNamespace(ns)
	k.rootCA(ns)
	var mu sync.Mutex
	var report []string // one line per case, for the run's log
	record := func(format string, a ...any) {
		mu.Lock()
		report = append(report, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	t.Cleanup(func() {
		for _, l := range report {
			t.Log(l)
		}
	})

	// rung measures a stop from the pod's own log: when the stop signal
	// reached supervise after the DELETE, and when each later rung went out
	// after the stop signal.
	type stopTimes struct {
		term, second time.Duration
		killDue      time.Duration // the kubelet's SIGKILL, after the stop signal
	}
	measure := func(t *testing.T, name string, deleted time.Time, grace, hook int) stopTimes {
		t.Helper()
		stop := n.logTime(t, ns, name, `msg="stop requested`)
		second := n.logTime(t, ns, name, `msg="stop rung: escalating" rung=2/`)
		kill := time.Duration(max(grace-hook, 2)) * time.Second
		st := stopTimes{term: stop.Sub(deleted), second: second.Sub(stop), killDue: kill}
		if st.second >= kill {
			t.Errorf("second rung %s after the stop signal, not before the kubelet's SIGKILL at %s", st.second, kill)
		}
		return st
	}

	rqPod := func(name string, grace int, preStop obj) kubePod {
		return kubePod{name: name, grace: grace, preStop: preStop, env: map[string]string{"SUPERVISE_LISTEN": "off"},
			args: []string{"--", "python3", "-m", "worker", url}}
	}
	sleepHook := obj{"sleep": obj{"seconds": 8}}

	// A 6 s job finishes inside a 20 s grace: the drain needs no deadline.
	t.Run("rq job finishes", func(t *testing.T) {
		k.createPod(t, ns, rqPod("rq-short", 20, nil))
		n.waitRunning(t, ns, "rq-short", `Listening on default`)
		id := rq.tool("enqueue", "6")[0]
		n.waitJob(t, ns, "rq-short", rq, id)
		deleted, term := n.deleteAndWatch(t, ns, "rq-short", 20)
		if s := rq.state(id); s.status != "finished" {
			t.Errorf("job %s: %+v, want finished", id, s)
		}
		reportHas(t, term, "stop graceful")
		if term.exitCode != 0 {
			t.Errorf("exit code %d, want 0", term.exitCode)
		}
		record("rq 6 s job, grace 20: stop signal %s after the DELETE, finished; exit %d; message %q",
			n.logTime(t, ns, "rq-short", `msg="stop requested`).Sub(deleted).Round(time.Millisecond), term.exitCode, firstReportLine(term.message))
	})

	// A 60 s job cannot finish: RQ's own second TERM cuts it before the
	// kubelet's SIGKILL, RQ records it, and the container exits 0. With a
	// preStop sleep of 8 s, the stop signal comes at +8 s and the ladder
	// fits in the 12 s the kubelet leaves.
	for _, c := range []struct {
		name     string
		hook     obj
		hookSecs int
	}{
		{"rq-long", nil, 0},
		{"rq-prestop", sleepHook, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			k.createPod(t, ns, rqPod(c.name, 20, c.hook))
			n.waitRunning(t, ns, c.name, `Listening on default`)
			n.logTime(t, ns, c.name, `msg="Kubernetes: the ladder is planned`)
			id := rq.tool("enqueue", "60")[0]
			n.waitJob(t, ns, c.name, rq, id)
			deleted, term := n.deleteAndWatch(t, ns, c.name, 20)
			st := measure(t, c.name, deleted, 20, c.hookSecs)
			n.logTime(t, ns, c.name, `msg="stop requested.*`+ladderAttr(t, "rq", st.killDue))
			within(t, "second TERM after the stop signal", st.second, drain(t, "rq", st.killDue), tolerance)
			if s := rq.state(id); s.status == "missing" || s.where == "nowhere" {
				t.Errorf("job %s vanished: %+v", id, s)
			}
			reportHas(t, term, "stop escalated", "rung 2 TERM")
			record("%s (grace 20, preStop %ds): stop signal %s after the DELETE, second TERM %s after it, kubelet's SIGKILL due %s after it; "+
				"job %s; exit %d; message %q", c.name, c.hookSecs, st.term.Round(time.Millisecond), st.second.Round(time.Millisecond), st.killDue,
				rq.state(id).where, term.exitCode, firstReportLine(term.message))
		})
	}

	// A real Huey consumer with a 60 s task: the second INT cuts it inside
	// the grace, and its SIGNAL_INTERRUPTED handler records it.
	for _, c := range []struct {
		name     string
		hook     obj
		hookSecs int
	}{{"huey-long", nil, 0}, {"huey-prestop", sleepHook, 8}} {
		t.Run(c.name, func(t *testing.T) {
			h := newHueyApp(t)
			data := filepath.Dir(h.results)
			k.createPod(t, ns, kubePod{name: c.name, grace: 20, preStop: c.hook, data: data,
				env: map[string]string{"SUPERVISE_LISTEN": "off", "HUEY_DB": "/data/huey.db", "HUEY_RESULTS": "/data/results"},
				args: []string{"--", "python3", "-m", "huey.bin.huey_consumer", "app.huey", "-w", "2", "-k", "thread",
					"-d", "0.1", "-m", "0.5", "-b", "1.05", "-C"}})
			n.waitRunning(t, ns, c.name, `preset=huey`)
			h.enqueue("long", "60")
			n.waitFor(t, "the task to start", 30*time.Second, func() bool { return h.has("started", "long") })
			deleted, term := n.deleteAndWatch(t, ns, c.name, 20)
			st := measure(t, c.name, deleted, 20, c.hookSecs)
			within(t, "second INT after the stop signal", st.second, drain(t, "huey", st.killDue), tolerance)
			if !h.has("interrupted", "long") {
				t.Errorf("the 60 s task was not recorded as interrupted\n%s", n.podLog(ns, c.name))
			}
			reportHas(t, term, "stop escalated", "rung 2 INT")
			record("%s (grace 20, preStop %ds): stop signal %s after the DELETE, second INT %s after it, kubelet's SIGKILL due %s after it; "+
				"interrupted and recorded: %v; exit %d; message %q", c.name, c.hookSecs, st.term.Round(time.Millisecond),
				st.second.Round(time.Millisecond), st.killDue, h.has("interrupted", "long"), term.exitCode, firstReportLine(term.message))
		})
	}

	// A liveness probe fails (a heartbeat file nobody touches): the kubelet
	// restarts the container without deleting anything, and the stop is
	// planned inside the probe's own terminationGracePeriodSeconds (10 s),
	// not the pod's 300 s.
	t.Run("liveness restart", func(t *testing.T) {
		port := freePort(t)
		k.createPod(t, ns, kubePod{name: "rq-liveness", grace: 300,
			env: map[string]string{"SUPERVISE_LISTEN": fmt.Sprintf("127.0.0.1:%d", port), "SUPERVISE_HEARTBEAT_FILE": "/tmp/never-touched",
				"SUPERVISE_HEARTBEAT_MAX_AGE": "4s"},
			args: []string{"--", "python3", "-m", "worker", url},
			probe: obj{"httpGet": obj{"path": "/livez", "port": port, "host": "127.0.0.1"}, "periodSeconds": 2, "failureThreshold": 1,
				"initialDelaySeconds": 5, "terminationGracePeriodSeconds": 10}})
		n.waitRunning(t, ns, "rq-liveness", `Listening on default`)
		id := rq.tool("enqueue", "60")[0]
		n.waitJob(t, ns, "rq-liveness", rq, id)
		term, ok := n.awaitTermination(ns, "rq-liveness", 0, 60*time.Second)
		if !ok {
			t.Fatalf("no restart read back\n%s", n.podLog(ns, "rq-liveness"))
		}
		n.logTime(t, ns, "rq-liveness", `the orchestrator's SIGKILL from the Kubernetes API.*grace_period=10s.*no deletion`)
		stop := n.logTime(t, ns, "rq-liveness", `msg="stop requested`)
		second := n.logTime(t, ns, "rq-liveness", `msg="stop rung: escalating" rung=2/`)
		within(t, "second TERM inside the probe's 10 s", second.Sub(stop), drain(t, "rq", 10*time.Second), tolerance)
		reportHas(t, term, "stop escalated")
		record("liveness restart (probe grace 10, pod 300): second TERM %s after the stop signal; exit %d; lastState message %q",
			second.Sub(stop).Round(time.Millisecond), term.exitCode, firstReportLine(term.message))
		k.deletePod(ns, "rq-liveness", 0)
	})
}

// TestKubeletEviction evicts pods for real: the kubelet is restarted with
// a soft memory threshold the node already crosses (memory.available
// under 1000Gi), a soft grace of 1 s and an evictionMaxPodGracePeriod of
// 15 s, so it stops both RQ pods (pod grace 300 s, a job each, supervise's
// own /livez answering the kubelet's liveness probe healthy) on its own,
// with no deletion. Before: the pod without --kubelet-stop-grace plans in
// the pod's 300 s, says the stop is the kubelet's own (never a probe's
// restart), and the kubelet's SIGKILL at 15 s ends it (137). After: the
// pod with --kubelet-stop-grace 15s sends RQ's cold shutdown before it
// and exits by itself; its cut job is in RQ's registries.
func TestKubeletEviction(t *testing.T) {
	k, n, rq := startWorkerNode(t)
	url := rq.url
	ns := "evict"
	k.setupNamespace(ns)
	k.rootCA(ns)
	pods := map[string]string{"rq-no-option": "", "rq-kubelet-grace": "15s"}
	jobs := map[string]string{}
	for name, kg := range pods {
		port := freePort(t)
		env := map[string]string{"SUPERVISE_LISTEN": fmt.Sprintf("127.0.0.1:%d", port)}
		if kg != "" {
			env["SUPERVISE_KUBELET_STOP_GRACE"] = kg
		}
		// Burstable, not BestEffort: the restarted kubelet admits its pods
		// again, and under memory pressure it refuses BestEffort ones
		// (killing them at once as orphans, with a 1 s grace).
		k.createPod(t, ns, kubePod{name: name, grace: 300, env: env, args: []string{"--", "python3", "-m", "worker", url},
			probe:    obj{"httpGet": obj{"path": "/livez", "port": port, "host": "127.0.0.1"}, "periodSeconds": 2, "failureThreshold": 3},
			requests: obj{"cpu": "10m", "memory": "20Mi"}})
	}
	for name := range pods {
		n.waitRunning(t, ns, name, `Listening on default`)
		jobs[name] = rq.tool("enqueue", "120")[0]
		n.waitJob(t, ns, name, rq, jobs[name])
		n.waitFor(t, name+" planned with the pod", 30*time.Second, func() bool {
			return strings.Contains(n.podLog(ns, name), "kubelet_own_stops=")
		})
	}
	bins := kubeBinaries(t, "kubelet")
	t0 := time.Now()
	n.restartKubelet(t, filepath.Join(bins, "kubelet"), `evictionSoft: {memory.available: "1000Gi"}
evictionSoftGracePeriod: {memory.available: "1s"}
evictionMaxPodGracePeriod: 15
evictionPressureTransitionPeriod: 1s
`)
	// Both pods' logs are read all along: an evicted pod's container, and
	// its log, are removed soon after it ends.
	terms := map[string]termination{}
	for deadline := time.Now().Add(3 * time.Minute); len(terms) < len(pods) && time.Now().Before(deadline); {
		for name := range pods {
			if _, done := terms[name]; !done {
				if term, ok := n.awaitTermination(ns, name, 0, 200*time.Millisecond); ok {
					terms[name] = term
				}
			}
		}
	}
	for name, kg := range pods {
		term, ok := terms[name]
		if !ok {
			t.Fatalf("%s: no termination read back\n%s", name, n.podLog(ns, name))
		}
		st, _ := k.status(ns, name)
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(n.dir, "kubelet.log"))
				var lines []string
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, name) || strings.Contains(l, "vict") {
						lines = append(lines, l)
					}
				}
				t.Logf("the kubelet on %s:\n%s", name, tail(strings.Join(lines, "\n"), 40))
			}
		})
		stop := n.logTime(t, ns, name, `msg="stop requested`)
		log := n.podLog(ns, name)
		if strings.Contains(log, "probe's restart)") || !strings.Contains(log, "no deletion and no failed probe (a stop of the kubelet's own") {
			t.Errorf("%s: the eviction was not said to be the kubelet's own stop:\n%s", name, log)
		}
		js := rq.state(jobs[name])
		t.Logf("%s (--kubelet-stop-grace %q): phase %s; stop signal %s after the kubelet's restart; exit %d, reason %s; job %s in %s; report %q",
			name, kg, st.Phase, stop.Sub(t0).Round(100*time.Millisecond), term.exitCode, term.reason, js.status, js.where, firstReportLine(term.message))
		if js.status == "missing" || js.where == "nowhere" {
			t.Errorf("%s: the job vanished: %+v", name, js)
		}
		if kg == "" {
			n.logTime(t, ns, name, `the orchestrator's SIGKILL from the Kubernetes API.*grace_period=5m0s.*no deletion and no failed probe`)
			if !strings.Contains(log, "set --kubelet-stop-grace") {
				t.Errorf("%s: no warning naming --kubelet-stop-grace:\n%s", name, log)
			}
			continue
		}
		n.logTime(t, ns, name, `the orchestrator's SIGKILL from the Kubernetes API.*grace_period=15s.*--kubelet-stop-grace`)
		second := n.logTime(t, ns, name, `msg="stop rung: escalating" rung=2/`)
		p, _ := ladder.Lookup("rq")
		b := ladder.Budget{Grace: 15 * time.Second}
		l, _ := ladder.Size(p, b)
		within(t, name+": RQ's cold shutdown inside the kubelet's 15 s", second.Sub(stop), l.Rungs[0].Wait, tolerance)
		reportHas(t, term, "stop escalated", "--kubelet-stop-grace")
	}
}

// firstReportLine is the stop report's first line.
func firstReportLine(msg string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return l
}

// apiProxy stands between a pod and the API server, to break what the pod
// sees of it: it terminates TLS with a certificate of its own (so it can
// rewrite the answer's Date) and can stop answering.
type apiProxy struct {
	addr string
	ca   []byte // its certificate, to add to the pods' CA bundle
	hang atomic.Bool
	skew atomic.Int64 // added to each answer's Date, in nanoseconds
}

func startAPIProxy(t *testing.T, k *kubeCluster) *apiProxy {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "api-proxy"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := &apiProxy{ca: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	target, _ := neturl.Parse("https://" + k.addr)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	rp.ModifyResponse = func(r *http.Response) error {
		if d, err := http.ParseTime(r.Header.Get("Date")); err == nil {
			r.Header.Set("Date", d.Add(time.Duration(p.skew.Load())).UTC().Format(http.TimeFormat))
		}
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.hang.Load() {
			<-r.Context().Done() // accepts, never answers
			return
		}
		rp.ServeHTTP(w, r)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return p
}

// TestKubeletFaults breaks what supervise learns from the API at a stop,
// on the real node: the ladder falls back to a plan that still ends before
// the kubelet's SIGKILL, and a log line says why. Every pod has a preStop
// hook of 8 s in a 20 s grace, so the kubelet's SIGKILL comes 12 s after
// its stop signal (a little less for an exec hook, which takes the exec's
// own time too). Each case has an API proxy of its own and they run side
// by side.
func TestKubeletFaults(t *testing.T) {
	k, n, rq := startWorkerNode(t)
	url := rq.url
	ns := "faults"
	k.setupNamespace(ns)

	sleepHook := obj{"sleep": obj{"seconds": 8}}
	execHook := obj{"exec": obj{"command": []string{"sleep", "8"}}}
	cases := []struct {
		name   string
		sa     string
		env    map[string]string
		hook   obj
		atStop func(p *apiProxy) // breaks the API just before the DELETE
		log    string            // the line that says why
		second time.Duration     // when the second TERM is due, 0: only before the kubelet's SIGKILL
	}{
		// The start-up plan from the spec (20 s − 8 s) holds when the stop's
		// GET gets no answer within its 1 s bound.
		{name: "api-unreachable", hook: sleepHook, atStop: func(p *apiProxy) { p.hang.Store(true) },
			log:    `cannot read this stop's grace period from the Kubernetes API.*keeping 12s from the pod spec: terminationGracePeriodSeconds 20s − preStop sleep 8s`,
			second: 9500 * time.Millisecond},
		// No Role: the pod cannot be read, at start or at the stop. The
		// README's advice for that case, SUPERVISE_GRACE_PERIOD = the grace
		// minus the preStop sleep, is what the ladder is planned in.
		{name: "rbac-missing", sa: "norbac", hook: sleepHook, env: map[string]string{"SUPERVISE_GRACE_PERIOD": "12"},
			log:    `cannot read this stop's grace period from the Kubernetes API: the service account may not get pod faults/rbac-missing \(403\).*keeping 12s from SUPERVISE_GRACE_PERIOD`,
			second: 9500 * time.Millisecond},
		// The API server's clock (its Date) runs 5 s ahead. A sleep hook's
		// deadline needs no clock: the spec's 12 s holds.
		{name: "date-ahead-sleep-hook", hook: sleepHook, atStop: func(p *apiProxy) { p.skew.Store(int64(5 * time.Second)) },
			log: `the orchestrator's SIGKILL from the Kubernetes API: as planned.*grace_period=12s`, second: 9500 * time.Millisecond},
		// An exec hook's length is not known, so deletionTimestamp decides,
		// read against both clocks: 5 s ahead, the API's clock says less is
		// left, and the earlier wins.
		{name: "date-ahead-exec-hook", hook: execHook, atStop: func(p *apiProxy) { p.skew.Store(int64(5 * time.Second)) },
			log: `the API server's clock and this node's disagree by [3-6].*planning with the earlier`},
		// 5 s behind: this node's clock says less is left, and wins.
		{name: "date-behind-exec-hook", hook: execHook, atStop: func(p *apiProxy) { p.skew.Store(int64(-5 * time.Second)) },
			log: `the API server's clock and this node's disagree by [3-6].*planning with the earlier`},
	}
	proxies := map[string]*apiProxy{}
	bundle, _ := os.ReadFile(k.ca)
	for _, c := range cases {
		proxies[c.name] = startAPIProxy(t, k)
		bundle = append(bundle, proxies[c.name].ca...)
	}
	k.must("POST", "/api/v1/namespaces/"+ns+"/configmaps", obj{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": obj{"name": "kube-root-ca.crt"}, "data": obj{"ca.crt": string(bundle)}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			proxy := proxies[c.name]
			env := map[string]string{"SUPERVISE_LISTEN": "off"}
			for k, v := range c.env {
				env[k] = v
			}
			host, port := splitAddr(proxy.addr)
			k.createPod(t, ns, kubePod{name: c.name, grace: 20, preStop: c.hook, env: env, sa: c.sa,
				apiHost: host, apiPort: port, args: []string{"--", "python3", "-m", "worker", url}})
			n.waitRunning(t, ns, c.name, `Listening on default`)
			id := rq.tool("enqueue", "60")[0]
			n.waitJob(t, ns, c.name, rq, id)
			if c.atStop != nil {
				c.atStop(proxy)
			}
			deleted, term := n.deleteAndWatch(t, ns, c.name, 20)
			why := n.logTime(t, ns, c.name, c.log)
			stop := n.logTime(t, ns, c.name, `msg="stop requested`)
			second := n.logTime(t, ns, c.name, `msg="stop rung: escalating" rung=2/`).Sub(stop)
			// The kubelet's SIGKILL comes 12 s after its stop signal, less
			// what an exec hook took past its 8 s (the stop signal's delay
			// after the DELETE, past 8 s, tells).
			kill := 12*time.Second - max(stop.Sub(deleted)-8*time.Second, 0)
			if second >= kill-time.Second {
				t.Errorf("second TERM %s after the stop signal: not a margin before the kubelet's SIGKILL at %s", second, kill)
			}
			if c.second > 0 {
				within(t, "second TERM", second, c.second, tolerance)
			}
			reportHas(t, term, "stop escalated")
			if s := rq.state(id); s.status == "missing" || s.where == "nowhere" {
				t.Errorf("job %s vanished: %+v", id, s)
			}
			line := ""
			for _, l := range strings.Split(n.podLog(ns, c.name), "\n") {
				if regexp.MustCompile(c.log).MatchString(l) {
					line = l
					break
				}
			}
			t.Logf("%s: stop signal %s after the DELETE; the reason %s after it: %s; second TERM %s after it (the kubelet's SIGKILL at %s); exit %d",
				c.name, stop.Sub(deleted).Round(time.Millisecond), why.Sub(stop).Round(time.Millisecond), line,
				second.Round(time.Millisecond), kill.Round(time.Millisecond), term.exitCode)
		})
	}
}

// startControllerManager runs kube-controller-manager with the controllers
// Deployments need (no scheduler: the tests' pod templates name their node).
func (k *kubeCluster) startControllerManager(t *testing.T, dir string) {
	t.Helper()
	bin := filepath.Join(kubeBinaries(t, "kube-controller-manager"), "kube-controller-manager")
	kubeconfig := filepath.Join(dir, "kubeconfig") // the node's: the admin token
	cm := exec.Command(bin, "--kubeconfig="+kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--controllers=deployment-controller,replicaset-controller,garbage-collector-controller")
	logf, _ := os.Create(filepath.Join(dir, "controller-manager.log"))
	cm.Stdout, cm.Stderr = logf, logf
	startDaemon(t, cm)
}

// deployment reads doc, a Deployment of examples/kubernetes, and adapts it
// to the test node, changing only what one host without a scheduler, a
// registry or cluster DNS needs:
//   - replicas 1: on the host network, replicas would share the health port;
//   - hostNetwork and nodeName node-1: no network plugin, no scheduler;
//   - the image: the test's worker image, never pulled;
//   - Redis: the test's server instead of redis:6379;
//   - SUPERVISE_LISTEN and the health port: a free port of the host;
//   - KUBERNETES_SERVICE_HOST and _PORT: the API server itself, as no
//     kube-proxy routes the kubernetes Service.
func adaptDeployment(doc map[string]any, k *kubeCluster, redisURL string, port int) {
	spec := doc["spec"].(map[string]any)
	spec["replicas"] = 1
	pod := spec["template"].(map[string]any)["spec"].(map[string]any)
	pod["hostNetwork"], pod["nodeName"] = true, "node-1"
	redisAddr := strings.TrimPrefix(redisURL, "redis://")
	host, apiPort := splitAddr(k.addr)
	for _, c := range pod["containers"].([]any) {
		c := c.(map[string]any)
		c["image"], c["imagePullPolicy"] = workerImageName, "Never"
		for i, a := range c["args"].([]any) {
			if strings.HasPrefix(a.(string), "redis://") {
				c["args"].([]any)[i] = redisURL + "/0"
			}
		}
		env := c["env"].([]any)
		for _, e := range env {
			e := e.(map[string]any)
			switch e["name"] {
			case "SUPERVISE_READY_TCP":
				e["value"] = redisAddr
			case "SUPERVISE_LISTEN":
				e["value"] = fmt.Sprintf("127.0.0.1:%d", port)
			}
		}
		c["env"] = append(env, map[string]any{"name": "KUBERNETES_SERVICE_HOST", "value": host},
			map[string]any{"name": "KUBERNETES_SERVICE_PORT", "value": apiPort})
		for _, p := range c["ports"].([]any) {
			p.(map[string]any)["containerPort"] = port
		}
		for _, probe := range []string{"livenessProbe", "readinessProbe"} {
			if pr, ok := c[probe].(map[string]any); ok {
				pr["httpGet"].(map[string]any)["host"] = "127.0.0.1"
			}
		}
	}
}

// podsOf lists the names of the pods whose name starts with prefix.
func (k *kubeCluster) podsOf(ns, prefix string) map[string]podStatus {
	code, b := k.do("GET", "/api/v1/namespaces/"+ns+"/pods", nil)
	out := map[string]podStatus{}
	if code != 200 {
		return out
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string  `json:"name"`
				DeletionTimestamp *string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Status podStatus `json:"status"`
		} `json:"items"`
	}
	json.Unmarshal(b, &list)
	for _, it := range list.Items {
		if strings.HasPrefix(it.Metadata.Name, prefix) {
			out[it.Metadata.Name] = it.Status
		}
	}
	return out
}

// TestKubeletDeployments applies examples/kubernetes/worker.yaml to the
// real node (adapted as adaptDeployment says), stops its pod mid-job, and
// then restarts a Deployment of three RQ workers while 30 jobs run.
func TestKubeletDeployments(t *testing.T) {
	k, n, rq := startWorkerNode(t)
	url := rq.url
	k.startControllerManager(t, n.dir)
	ns := "examples"
	k.must("POST", "/api/v1/namespaces", obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": ns}})
	k.must("POST", "/api/v1/namespaces/"+ns+"/serviceaccounts", obj{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": obj{"name": "default"}})
	k.rootCA(ns)

	t.Run("worker.yaml", func(t *testing.T) {
		data := readFile(t, "../../examples/kubernetes/worker.yaml")
		dec := yaml.NewDecoder(bytes.NewReader(data))
		port := freePort(t)
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if doc == nil {
				continue
			}
			if doc["kind"] == "Deployment" {
				adaptDeployment(doc, k, url, port)
			}
			if code, b := k.do("POST", collectionPath(t, doc, ns), doc); code != 201 {
				t.Fatalf("create %s: %d %s", doc["kind"], code, b)
			}
		}
		var name string
		n.waitFor(t, "the example's pod ready", 90*time.Second, func() bool {
			for pn, st := range k.podsOf(ns, "rq-worker-") {
				if len(st.ContainerStatuses) > 0 && st.ContainerStatuses[0].Ready {
					name = pn
					return true
				}
			}
			return false
		})
		n.logTime(t, ns, name, `Kubernetes: the ladder is planned.*kill_after=30m0s from="terminationGracePeriodSeconds 30m0s, no preStop hook"`)
		id := rq.tool("enqueue", "8")[0]
		n.waitJob(t, ns, name, rq, id)
		deleted, term := n.deleteAndWatch(t, ns, name, 45)
		if s := rq.state(id); s.status != "finished" {
			t.Errorf("job %s: %+v, want finished", id, s)
		}
		reportHas(t, term, "stop graceful")
		stop := n.logTime(t, ns, name, `msg="stop requested.*stop_delay=5s`)
		first := n.logTime(t, ns, name, `msg="stop rung: draining"`)
		n.logTime(t, ns, name, `the orchestrator's SIGKILL from the Kubernetes API.*grace_period=45s from="deletionGracePeriodSeconds 45s, no preStop hook".*replaces="30m0s from the pod spec`)
		within(t, "first TERM after the stop delay", first.Sub(stop), 5*time.Second, tolerance)
		t.Logf("worker.yaml: stop signal %s after the DELETE (grace 45), TERM after the 5 s stop delay, the 8 s job finished; exit %d; message %q",
			stop.Sub(deleted).Round(time.Millisecond), term.exitCode, firstReportLine(term.message))
		k.must("DELETE", "/apis/apps/v1/namespaces/"+ns+"/deployments/rq-worker", obj{"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0})
	})

	// kubectl rollout restart of three replicas while 30 jobs of 2-8 s run:
	// every replaced pod drains and says how it stopped, and no job
	// vanishes. The replicas share the host network, so the health server
	// is off and there are no probes.
	t.Run("rollout restart", func(t *testing.T) {
		var secs []string
		for i := 0; i < 30; i++ {
			secs = append(secs, fmt.Sprint(2+i%7))
		}
		host, apiPort := splitAddr(k.addr)
		dep := obj{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": obj{"name": "rq"},
			"spec": obj{"replicas": 3, "selector": obj{"matchLabels": obj{"app": "rq"}},
				"strategy": obj{"rollingUpdate": obj{"maxSurge": 1, "maxUnavailable": 0}},
				"template": obj{"metadata": obj{"labels": obj{"app": "rq"}}, "spec": obj{
					"nodeName": "node-1", "hostNetwork": true, "serviceAccountName": "rq-worker", "terminationGracePeriodSeconds": 30,
					"containers": []obj{{"name": "worker", "image": workerImageName, "imagePullPolicy": "Never",
						"args": []string{"--", "rq", "worker", "--url", url, "default"},
						"env": []obj{{"name": "SUPERVISE_LISTEN", "value": "off"}, {"name": "KUBERNETES_SERVICE_HOST", "value": host},
							{"name": "KUBERNETES_SERVICE_PORT", "value": apiPort},
							{"name": "POD_NAME", "valueFrom": obj{"fieldRef": obj{"fieldPath": "metadata.name"}}}}}}}}}}
		k.must("POST", "/apis/apps/v1/namespaces/"+ns+"/deployments", dep)
		running := func() map[string]bool {
			out := map[string]bool{}
			for pn, st := range k.podsOf(ns, "rq-") {
				if len(st.ContainerStatuses) > 0 && st.ContainerStatuses[0].State.Running != nil && strings.Contains(n.podLog(ns, pn), "Listening on") {
					out[pn] = true
				}
			}
			return out
		}
		var old map[string]bool
		n.waitFor(t, "three workers", 90*time.Second, func() bool { old = running(); return len(old) == 3 })
		ids := rq.tool(append([]string{"enqueue"}, secs...)...)
		n.waitFor(t, "each worker has a job", 30*time.Second, func() bool {
			started := 0
			for _, s := range rq.states(ids) {
				if s.status == "started" {
					started++
				}
			}
			return started >= len(old)
		})
		k.must("PATCH", "/apis/apps/v1/namespaces/"+ns+"/deployments/rq", obj{"spec": obj{"template": obj{"metadata": obj{
			"annotations": obj{"kubectl.kubernetes.io/restartedAt": time.Now().UTC().Format(time.RFC3339)}}}}})
		t0 := time.Now()
		// Poll every pod often enough to read each replaced pod's
		// termination message before the kubelet removes its object.
		ended := map[string]termination{}
		deadline := time.Now().Add(3 * time.Minute)
		for {
			pods := k.podsOf(ns, "rq-")
			for pn, st := range pods {
				n.podLog(ns, pn)
				for _, c := range st.ContainerStatuses {
					if tm := c.State.Terminated; tm != nil && old[pn] {
						ended[pn] = termination{tm.ExitCode, tm.Reason, tm.Message}
					}
				}
			}
			gone := 0
			for pn := range old {
				if _, ok := pods[pn]; !ok {
					gone++
				}
			}
			if gone == len(old) && len(running()) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rollout not done after 3 minutes: %d of %d old pods gone", gone, len(old))
			}
			time.Sleep(50 * time.Millisecond)
		}
		took := time.Since(t0)
		outcomes := map[string]int{}
		for pn := range old {
			tm, ok := ended[pn]
			if !ok {
				t.Errorf("replaced pod %s: no termination state read back", pn)
				continue
			}
			reportHas(t, tm, "supervise: stop")
			outcomes[strings.Fields(firstReportLine(tm.message) + " ? ? ?")[2]]++
		}
		// Let the new workers finish what is queued and running (a job cut
		// by a worker's cold shutdown stays in StartedJobRegistry: it is
		// accounted for, so the wait for those is bounded), then count.
		busy := func(all bool) bool {
			for _, l := range rq.tool(append([]string{"state"}, ids...)...) {
				if f := strings.Fields(l); f[1] == "queued" || all && f[1] == "started" {
					return true
				}
			}
			return false
		}
		n.waitFor(t, "the queue to drain", 2*time.Minute, func() bool { return !busy(false) })
		for end := time.Now().Add(15 * time.Second); busy(true) && time.Now().Before(end); {
			time.Sleep(200 * time.Millisecond)
		}
		counts := map[string]int{}
		for _, l := range rq.tool(append([]string{"state"}, ids...)...) {
			f := strings.Fields(l)
			counts[f[1]]++
			if f[1] == "missing" || f[2] == "nowhere" {
				t.Errorf("job %s vanished: %s", f[0], l)
			}
		}
		t.Logf("rollout restart of 3 replicas: %s; replaced pods' stops %v; jobs %v (vanished: %d)",
			took.Round(100*time.Millisecond), outcomes, counts, counts["missing"])
	})
}
