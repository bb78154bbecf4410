//go:build kube

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// node is a real kubelet and containerd on loopback, registered with a
// kubeCluster as node-1, fenced in by test/kube/node.sh.
type node struct {
	t     *testing.T
	k     *kubeCluster
	dir   string
	sock  string
	cmd   *exec.Cmd
	host  hostState // what the host looked like before
	made  []string  // directories node.sh had to create on the host
	mntNS string    // the node's mount namespace

	mu       sync.Mutex
	logCache map[string]string // the pods' logs as last read (podLog)
}

// hostState is what the test node must leave as it found it: the sysctls
// the kubelet rewrites, the iptables rules and the kubepods cgroups.
type hostState struct {
	sysctls  map[string]string
	iptables string
	cgroups  []string
}

var fencedSysctls = []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "vm/panic_on_oom",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"}

func readHost() hostState {
	h := hostState{sysctls: map[string]string{}}
	for _, k := range fencedSysctls {
		b, _ := os.ReadFile("/proc/sys/" + k)
		h.sysctls[k] = strings.TrimSpace(string(b))
	}
	var rules strings.Builder
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(tool).Output()
		if err != nil {
			rules.WriteString(tool + ": " + err.Error() + "\n")
			continue
		}
		// Drop the comment lines: they carry the time of the dump.
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, "#") {
				rules.WriteString(l + "\n")
			}
		}
	}
	sum := sha256.Sum256([]byte(rules.String()))
	h.iptables = hex.EncodeToString(sum[:8])
	h.cgroups = kubepodsCgroups()
	return h
}

// kubepodsCgroups lists the kubepods cgroups of every v1 controller (and
// of a v2 hierarchy, if mounted).
func kubepodsCgroups() []string {
	var out []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods*")
	more, _ := filepath.Glob("/sys/fs/cgroup/kubepods*")
	for _, r := range append(roots, more...) {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// kubeBinaries builds (once, cached) and returns the folder holding the
// named Kubernetes components, or SKIPs with the reason.
func kubeBinaries(t *testing.T, components ...string) string {
	t.Helper()
	build := exec.Command("../kube/build.sh", components...)
	build.Stderr = os.Stderr
	out, err := build.Output()
	if err != nil {
		t.Skipf("SKIP: %s could not be built: %v", strings.Join(components, ", "), err)
	}
	return strings.TrimSpace(string(out))
}

// startNode starts containerd and the kubelet for cluster k, imports the
// pause image, and waits for node-1 to register. Cleanup ends every
// process it started, removes what it made, and checks the host is as it
// was.
func startNode(t *testing.T, k *kubeCluster) *node {
	t.Helper()
	for _, tool := range []string{"containerd", "runc", "ctr", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: no %s (apt-get install containerd runc util-linux)", tool)
		}
	}
	bins := kubeBinaries(t, "kube-apiserver", "kubelet")
	dir := t.TempDir()
	n := &node{t: t, k: k, dir: dir, sock: filepath.Join(dir, "containerd.sock"), host: readHost()}
	if len(n.host.cgroups) > 0 {
		t.Skipf("SKIP: the host already has kubepods cgroups (%s): another kubelet runs here", n.host.cgroups[0])
	}
	for _, d := range []string{"/run/containerd", "/var/lib/kubelet", "/var/log/pods", "/var/log/containers"} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			n.made = append(n.made, d)
		}
	}
	n.writeConfigs(filepath.Join(bins, "kubelet"))

	cmd := exec.Command("unshare", "--mount", "--propagation", "slave", "../kube/node.sh", dir, filepath.Join(bins, "kubelet"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, _ := os.Create(filepath.Join(dir, "node.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd = cmd
	t.Cleanup(n.stop)
	n.waitFor(t, "containerd", 20*time.Second, func() bool { _, err := os.Stat(n.sock); return err == nil })
	// node.sh wrote its mount namespace from inside it. It must not be
	// this process's: stop kills every process in it.
	b, _ := os.ReadFile(filepath.Join(dir, "mntns"))
	own, _ := os.Readlink("/proc/self/ns/mnt")
	if ns := strings.TrimSpace(string(b)); ns != "" && ns != own {
		n.mntNS = ns
	} else {
		t.Fatalf("the node did not report a mount namespace of its own (%q, ours %q)", ns, own)
	}
	n.importImage(pauseImage(t, dir))
	n.waitFor(t, "node-1 to register", 60*time.Second, func() bool {
		code, _ := k.do("GET", "/api/v1/nodes/node-1", nil)
		return code == 200
	})
	return n
}

// waitFor polls cond until timeout, then fails with the node's logs.
func (n *node) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s\n%s", what, timeout, n.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logs is the tail of the node's own logs, for a failure.
func (n *node) logs() string {
	var b strings.Builder
	for _, f := range []string{"node.out", "containerd.log", "kubelet.log"} {
		data, _ := os.ReadFile(filepath.Join(n.dir, f))
		fmt.Fprintf(&b, "--- %s\n%s\n", f, tail(string(data), 30))
	}
	return b.String()
}

// writeConfigs writes containerd.toml, kubelet.yaml and the kubeconfig.
func (n *node) writeConfigs(kubelet string) {
	t := n.t
	def, err := exec.Command("containerd", "config", "default").Output()
	if err != nil {
		t.Fatalf("containerd config default: %v", err)
	}
	cfg := string(def)
	for old, repl := range map[string]string{
		`root = "/var/lib/containerd"`:                fmt.Sprintf("root = %q", filepath.Join(n.dir, "containerd/root")),
		`state = "/run/containerd"`:                   fmt.Sprintf("state = %q", filepath.Join(n.dir, "containerd/state")),
		`address = "/run/containerd/containerd.sock"`: fmt.Sprintf("address = %q", n.sock),
		`path = "/opt/containerd"`:                    fmt.Sprintf("path = %q", filepath.Join(n.dir, "containerd/opt")),
		`sandbox_image = "registry.k8s.io/pause:3.6"`: `sandbox_image = "docker.io/supervise-test/pause:1"`,
		`restrict_oom_score_adj = false`:              `restrict_oom_score_adj = true`, // root here lacks CAP_SYS_RESOURCE
		`snapshotter = "overlayfs"`:                   `snapshotter = "overlayfs"`,
		`stream_server_address = "127.0.0.1"`:         `stream_server_address = "127.0.0.1"`,
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("containerd config default has no %s", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	write(t, filepath.Join(n.dir, "containerd.toml"), cfg)
	write(t, filepath.Join(n.dir, "kubeconfig"), fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, n.k.addr, n.k.admin))
	write(t, filepath.Join(n.dir, "kubelet.yaml"), fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: %d
readOnlyPort: 0
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://%s
volumePluginDir: %s
podLogsDir: %s
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
registerNode: true
syncFrequency: 5s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 5s
evictionHard: {memory.available: "1%%", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
featureGates: {ContainerStopSignals: true}
`, freePort(t), freePort(t), n.sock, filepath.Join(n.dir, "volume-plugins"), filepath.Join(n.dir, "pod-logs")))
}

// importImage imports an OCI archive into the node's containerd.
func (n *node) importImage(archive string) {
	n.t.Helper()
	out, err := exec.Command("ctr", "--address", n.sock, "-n", "k8s.io", "images", "import", archive).CombinedOutput()
	if err != nil {
		n.t.Fatalf("ctr images import %s: %v\n%s", archive, err, out)
	}
}

// pauseImage builds test/kube/pause into a one-layer image archive.
func pauseImage(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pause")
	build := exec.Command("go", "build", "-o", bin, "../kube/pause")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build pause: %v\n%s", err, out)
	}
	layer := filepath.Join(dir, "pause-layer.tar")
	writeLayer(t, layer, []layerFile{{name: "pause", mode: 0o755, src: bin}})
	archive := filepath.Join(dir, "pause.oci.tar")
	ociImage{name: "docker.io/supervise-test/pause:1", layers: []string{layer},
		config: map[string]any{"Entrypoint": []string{"/pause"}}}.write(t, archive)
	return archive
}

// stop ends the node: the pods' processes (found by their kubepods
// cgroups), the kubelet and containerd with their shims (found by the
// node's mount namespace), then removes the cgroups and the directories
// node.sh made, and checks the host is as it was.
func (n *node) stop() {
	t := n.t
	killCgroups := func() int {
		killed := 0
		for _, root := range kubepodsCgroups() {
			filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
				if err != nil || !info.IsDir() {
					return nil
				}
				for _, pid := range readPIDs(filepath.Join(p, "cgroup.procs")) {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						killed++
					}
				}
				return nil
			})
		}
		return killed
	}
	syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	n.cmd.Wait()
	for i := 0; i < 50; i++ {
		a, b := killCgroups(), n.killNamespace()
		if a+b == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Remove the cgroups, deepest first; a cgroup empties a moment after
	// its last process is reaped.
	deadline := time.Now().Add(10 * time.Second)
	for len(kubepodsCgroups()) > 0 && time.Now().Before(deadline) {
		for _, root := range kubepodsCgroups() {
			var dirs []string
			filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
				if err == nil && info.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- {
				os.Remove(dirs[i])
			}
		}
		if len(kubepodsCgroups()) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, d := range n.made {
		os.Remove(d) // empty on the host: node.sh mounted over it
	}
	after := readHost()
	for _, k := range fencedSysctls {
		if n.host.sysctls[k] != after.sysctls[k] {
			t.Errorf("host sysctl %s changed: %s -> %s", k, n.host.sysctls[k], after.sysctls[k])
		}
	}
	if n.host.iptables != after.iptables {
		t.Errorf("host iptables rules changed (digest %s -> %s)", n.host.iptables, after.iptables)
	}
	if len(after.cgroups) > 0 {
		t.Errorf("kubepods cgroups left on the host: %v", after.cgroups)
	}
	for _, d := range n.made {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left on the host", d)
		}
	}
	if !t.Failed() {
		t.Logf("host unchanged: sysctls %v, iptables digest %s, no kubepods cgroups, no directories left",
			after.sysctls, after.iptables)
	}
}

// killNamespace SIGKILLs every process left in the node's mount
// namespace (containerd's shims outlive the kubelet), and returns how many.
func (n *node) killNamespace() int {
	own, _ := os.Readlink("/proc/self/ns/mnt")
	if n.mntNS == "" || n.mntNS == own {
		return 0
	}
	killed := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); ns == n.mntNS && syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed
}

func readPIDs(path string) []int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var pids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// podStatus is the part of a pod's status the tests read.
type podStatus struct {
	Phase             string `json:"phase"`
	ContainerStatuses []struct {
		Name         string          `json:"name"`
		RestartCount int             `json:"restartCount"`
		State        containerState  `json:"state"`
		LastState    containerState  `json:"lastState"`
		Ready        bool            `json:"ready"`
		Raw          json.RawMessage `json:"-"`
	} `json:"containerStatuses"`
}

type containerState struct {
	Running *struct {
		StartedAt string `json:"startedAt"`
	} `json:"running"`
	Terminated *struct {
		ExitCode int    `json:"exitCode"`
		Signal   int    `json:"signal"`
		Reason   string `json:"reason"`
		Message  string `json:"message"`
	} `json:"terminated"`
}

// status GETs a pod's status; ok is false once the pod is gone.
func (k *kubeCluster) status(ns, name string) (podStatus, bool) {
	code, b := k.do("GET", "/api/v1/namespaces/"+ns+"/pods/"+name, nil)
	if code != 200 {
		return podStatus{}, false
	}
	var p struct {
		Status podStatus `json:"status"`
	}
	json.Unmarshal(b, &p)
	return p.Status, true
}

// restartKubelet replaces the node's kubelet with one whose configuration
// has extra appended (a KubeletConfiguration fragment), in the node's own
// mount namespace: the pods' containers run on in containerd meanwhile.
// The new kubelet is the node's, for stop to end.
func (n *node) restartKubelet(t *testing.T, kubelet, extra string) {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(n.dir, "kubelet.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(n.dir, "kubelet-restarted.yaml")
	write(t, cfg, string(base)+extra)
	// A process of the node's namespace that outlives the kubelet.
	var inNS int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == n.cmd.Process.Pid {
			continue
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); ns == n.mntNS {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(b)) == "containerd" {
				inNS = pid
				break
			}
		}
	}
	if inNS == 0 {
		t.Fatal("no containerd in the node's mount namespace")
	}
	syscall.Kill(n.cmd.Process.Pid, syscall.SIGTERM)
	n.cmd.Wait()
	logf, _ := os.OpenFile(filepath.Join(n.dir, "kubelet.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	cmd := exec.Command("nsenter", fmt.Sprintf("--mount=/proc/%d/ns/mnt", inNS), "--", kubelet,
		"--config="+cfg, "--kubeconfig="+filepath.Join(n.dir, "kubeconfig"), "--root-dir="+filepath.Join(n.dir, "kubelet"),
		"--cert-dir="+filepath.Join(n.dir, "kubelet-pki"), "--hostname-override=node-1", "--v=2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd = cmd
}
