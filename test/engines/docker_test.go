//go:build engines

package engines

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dockerd is the tests' own Docker daemon: Debian's dockerd with its own
// configuration file, data root (vfs: no overlay mounts to clean up),
// exec root (so it runs its own containerd), socket, pid file and cgroup
// parent, no bridge and no iptables or forwarding changes, and
// init-path naming the binary under test, in a network namespace of its
// own. The machine's daemon is never touched.
//
// The namespace matters: a dockerd started with "bridge": "none" deletes
// the interface docker0 wherever it runs (removeDefaultBridgeInterface in
// moby's daemon_unix.go, for the --bridge=none case), and in the host's
// namespace that is the machine's daemon's default bridge, which its
// containers then cannot join ("could not find bridge docker0").
type dockerd struct {
	dir  string
	cmd  *exec.Cmd
	host string // DOCKER_HOST=unix://...
	err  error  // why it could not start
}

var (
	theDaemon     *dockerd
	theDaemonOnce sync.Once
)

// daemon starts the tests' dockerd once, or skips t with the reason.
func daemon(t *testing.T) *dockerd {
	t.Helper()
	theDaemonOnce.Do(func() { theDaemon = startDocker() })
	if theDaemon.err != nil {
		t.Skipf("SKIP: %v", theDaemon.err)
	}
	return theDaemon
}

func startDocker() *dockerd {
	d := &dockerd{}
	if _, err := exec.LookPath("dockerd"); err != nil {
		d.err = fmt.Errorf("no dockerd (apt-get install docker.io)")
		return d
	}
	// Under /var/lib, not /tmp: vfs copies a whole image per container.
	var err error
	if d.dir, err = os.MkdirTemp("/var/lib", "supervise-engines-docker-"); err != nil {
		d.err = err
		return d
	}
	conf := map[string]any{
		"data-root": d.dir + "/data", "exec-root": d.dir + "/exec", "pidfile": d.dir + "/docker.pid",
		"hosts": []string{"unix://" + d.dir + "/docker.sock"}, "storage-driver": "vfs", "bridge": "none",
		"iptables": false, "ip-forward": false, "ip-masq": false, "cgroup-parent": "supervise-engines",
		"init-path": binary,
	}
	b, _ := json.Marshal(conf)
	if err := os.WriteFile(d.dir+"/daemon.json", b, 0o644); err != nil {
		d.err = err
		return d
	}
	log, _ := os.Create(d.dir + "/dockerd.log")
	d.cmd = exec.Command("dockerd", "--config-file", d.dir+"/daemon.json")
	d.cmd.Stdout, d.cmd.Stderr = log, log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Cloneflags: syscall.CLONE_NEWNET}
	if err := d.cmd.Start(); err != nil {
		d.err = fmt.Errorf("dockerd: %v", err)
		return d
	}
	d.host = "DOCKER_HOST=unix://" + d.dir + "/docker.sock"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cmd := exec.Command("docker", "version", "--format", "{{.Server.Version}}")
		cmd.Env = append(os.Environ(), d.host)
		if cmd.Run() == nil {
			return d
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(d.dir + "/dockerd.log")
			d.err = fmt.Errorf("the tests' dockerd did not answer within 60s: %s", lastLines(string(out), 5))
			return d
		}
	}
}

// stopDocker stops the tests' dockerd (it stops its containerd) and
// removes everything it made.
func stopDocker() {
	d := theDaemon
	if d == nil || d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	unmountUnder(d.dir)
	os.RemoveAll(d.dir)
	removeCgroups("supervise-engines")
}

// removeCgroups removes the daemon's cgroup parent from every hierarchy,
// deepest first: empty, now that its containers are gone.
func removeCgroups(name string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if d := "/sys/fs/cgroup/" + name; dirExists(d) {
		dirs = append(dirs, d)
	}
	for _, top := range dirs {
		var all []string
		filepath.WalkDir(top, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				all = append(all, path)
			}
			return nil
		})
		for i := len(all) - 1; i >= 0; i-- {
			syscall.Rmdir(all[i])
		}
	}
}

func dirExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// unmountUnder lazily unmounts whatever is still mounted below dir.
func unmountUnder(dir string) {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var points []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// docker runs the docker command against the tests' daemon.
func (d *dockerd) docker(t *testing.T, allowFail bool, args ...string) string {
	t.Helper()
	return run(t, []string{d.host}, allowFail, "docker", args...)
}

// log is the daemon's log so far.
func (d *dockerd) log() string {
	b, _ := os.ReadFile(d.dir + "/dockerd.log")
	return string(b)
}

// image is the Debian image the containers run, imported once.
func (d *dockerd) image(t *testing.T) string {
	t.Helper()
	const image = "supervise-engines/rootfs:bookworm"
	importRootFS(t, image, "docker", "-H", strings.TrimPrefix(d.host, "DOCKER_HOST="))
	return image
}

// With supervise as the daemon's init-path, `docker info` and `docker
// version` read its --version (dockerd runs it for each, and parses it
// with parseInitVersion): the commit and the version are shown, and the
// daemon logs no parse failure.
func TestDockerInitVersion(t *testing.T) {
	d := daemon(t)
	info := d.docker(t, false, "info", "--format", "{{.InitBinary}} {{.InitCommit.ID}}")
	if got := strings.TrimSpace(info); got != binary+" 0123456789ab" {
		t.Errorf("docker info: init %q, want %q", got, binary+" 0123456789ab")
	}
	ver := d.docker(t, false, "version", "--format", "{{range .Server.Components}}{{.Name}}={{.Version}}/{{index .Details \"GitCommit\"}} {{end}}")
	if !strings.Contains(ver, "supervise=") || !strings.Contains(ver, "_supervise/0123456789ab") {
		t.Errorf("docker version components: %q, want supervise's version and commit", ver)
	}
	if strings.Contains(d.log(), "failed to parse") || strings.Contains(d.log(), "failed to retrieve") {
		t.Errorf("the daemon could not read the init's version:\n%s", lastLines(d.log(), 5))
	}
	t.Logf("docker info: init %s; docker version: %s", strings.TrimSpace(info), strings.TrimSpace(ver))
}

// A container that never asked for supervise, run with --init: supervise
// is PID 1 as /sbin/docker-init, the child gets docker's argv after
// "--", nothing listens in the container's network namespace, supervise
// prints nothing, and the exit status is the child's.
func TestDockerRunInitQuiet(t *testing.T) {
	d := daemon(t)
	image := d.image(t)
	out := d.docker(t, true, "run", "--rm", "--init", "--network", "none", image,
		"sh", "-c", `tr '\0' ' ' < /proc/1/cmdline; echo; tr '\0' ' ' < /proc/$$/cmdline; echo; cat /proc/net/tcp /proc/net/tcp6; exit 3`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "/sbin/docker-init -- sh -c "+
		`tr '\0' ' ' < /proc/1/cmdline; echo; tr '\0' ' ' < /proc/$$/cmdline; echo; cat /proc/net/tcp /proc/net/tcp6; exit 3` {
		t.Errorf("PID 1's command line: %q", lines[0])
	}
	for _, l := range lines[2:] {
		if f := strings.Fields(l); len(f) > 3 && f[3] == "0A" {
			t.Errorf("something listens in the container: %s", l)
		}
		if strings.Contains(l, "[supervise]") {
			t.Errorf("supervise printed: %s", l)
		}
	}
	code := d.docker(t, true, "run", "--rm", "--init", "--network", "none", image, "sh", "-c", "exit 3")
	if strings.TrimSpace(code) != "" {
		t.Errorf("output of a silent child: %q", code)
	}
	if v := d.docker(t, false, "run", "--rm", "--init", "--network", "none", image, "/sbin/docker-init", "--version"); !strings.HasSuffix(strings.TrimSpace(v),
		"_supervise - git.0123456789ab") {
		t.Errorf("/sbin/docker-init --version in the container: %q, want supervise's", v)
	}
	status := exitStatus(t, d, "--network", "none", image, "sh", "-c", "exit 3")
	if status != 3 {
		t.Errorf("exit status %d, want the child's 3", status)
	}
	t.Logf("a --init container: %q", lines[:2])
}

// exitStatus runs a container (not removed) and returns its exit code.
func exitStatus(t *testing.T, d *dockerd, args ...string) int {
	t.Helper()
	id := strings.TrimSpace(d.docker(t, false, append([]string{"create", "--init"}, args...)...))
	defer d.docker(t, true, "rm", "-f", id)
	d.docker(t, true, "start", "-a", id)
	var code int
	fmt.Sscan(d.docker(t, false, "inspect", "--format", "{{.State.ExitCode}}", id), &code)
	return code
}

// A real RQ 2.10 worker (redis-py 7) run with --init, stopped by docker
// stop mid-job: supervise, told the grace period and asked for its log
// by the container's environment, runs the rq ladder; the job finishes
// and the worker exits 0.
func TestDockerRunInitWorker(t *testing.T) {
	d := daemon(t)
	image := d.image(t)
	w := newRQ(t)
	id := w.tool("enqueue", "4")[0]
	args := append([]string{"run", "-d", "--init", "--network", "none", "-e", "SUPERVISE_GRACE_PERIOD=10s", "-e", "SUPERVISE_LOG_LEVEL=info"},
		w.mounts()...)
	ctr := strings.TrimSpace(d.docker(t, false, append(append(args, image), w.worker()...)...))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the worker's log:\n%s", d.docker(t, true, "logs", ctr))
		}
		d.docker(t, true, "rm", "-f", ctr)
	})
	w.waitStarted(id)
	d.docker(t, false, "stop", "-t", "10", ctr)
	var code int
	fmt.Sscan(d.docker(t, false, "inspect", "--format", "{{.State.ExitCode}}", ctr), &code)
	logs := d.docker(t, false, "logs", ctr)
	if code != 0 {
		t.Errorf("exit code %d, want 0:\n%s", code, lastLines(logs, 20))
	}
	if s := w.status(id); s != "finished" {
		t.Errorf("job after docker stop: %s, want finished", s)
	}
	for _, want := range []string{`defaults="run as docker-init, the engine's injected init: no health server`,
		`stop protocol:`, `preset=rq`, `ladder=TERM,7.5s,TERM,1.5s,KILL`, `stop rung: draining`, `outcome=graceful`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %q:\n%s", want, lastLines(logs, 20))
		}
	}
}

// compose's `init: true` sets the same flag: its container runs
// supervise as /sbin/docker-init, quietly.
func TestComposeInit(t *testing.T) {
	d := daemon(t)
	image := d.image(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Skip("SKIP: docker-compose not installed (apt-get install docker-compose)")
	}
	dir := t.TempDir()
	file := fmt.Sprintf(`version: "3.7"
services:
  job:
    image: %s
    init: true
    network_mode: none
    command: ["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/net/tcp; echo done"]
`, image)
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{d.host}
	project := []string{"-f", filepath.Join(dir, "docker-compose.yml"), "-p", "supervise-engines"}
	defer run(t, env, true, "docker-compose", append(project, "down", "-v")...)
	out := run(t, env, false, "docker-compose", append(project, "up", "--no-color", "--abort-on-container-exit")...)
	if !strings.Contains(out, "/sbin/docker-init -- sh -c") || !strings.Contains(out, "done") {
		t.Errorf("compose's container with init: true:\n%s", out)
	}
	if strings.Contains(out, "[supervise]") {
		t.Errorf("supervise printed in a container that never asked for it:\n%s", out)
	}
	ps := run(t, env, false, "docker-compose", append(project, "ps", "-a")...)
	if !strings.Contains(ps, "Exit 0") {
		t.Errorf("compose ps: %s", ps)
	}
}
