//go:build engines

package engines

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// podmanEnv is Debian's podman (rootful) with a store of the tests' own
// (--root, --runroot: nothing of the machine's is changed), vfs, cgroupfs
// and a file for events, as a machine without systemd needs.
type podmanEnv struct {
	t    *testing.T
	dir  string
	args []string // podman's global options
}

func newPodman(t *testing.T) *podmanEnv {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("SKIP: no podman (apt-get install podman)")
	}
	dir, err := os.MkdirTemp("/var/lib", "supervise-engines-podman-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanEnv{t: t, dir: dir, args: []string{"--root", dir + "/root", "--runroot", dir + "/run", "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file"}}
	t.Cleanup(func() {
		exec.Command("podman", append(p.args, "rm", "--all", "--force")...).Run()
		unmountUnder(dir)
		os.RemoveAll(dir)
	})
	return p
}

// podman runs podman with the tests' store.
func (p *podmanEnv) podman(allowFail bool, args ...string) string {
	p.t.Helper()
	return run(p.t, nil, allowFail, "podman", append(p.args, args...)...)
}

// runArgs are `podman run`'s options for supervise as the init. The
// machine's root lacks CAP_SYS_RESOURCE, so podman's own rlimits (raised
// to the maximum) cannot be set: explicit ones within the current limits.
func (p *podmanEnv) runArgs() []string {
	return []string{"--init", "--init-path", binary, "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"}
}

func (p *podmanEnv) image() string {
	const image = "localhost/supervise-engines/rootfs:bookworm"
	importRootFS(p.t, image, append([]string{"podman"}, p.args...)...)
	return image
}

// podman run --init with supervise as the init path (podman bind-mounts
// it at /run/podman-init and runs "/run/podman-init -- CMD"): a real RQ
// 2.10 worker stopped mid-job by podman stop finishes its job and exits
// 0, supervise running the rq ladder, with the defaults of an engine's
// init.
func TestPodmanInitWorker(t *testing.T) {
	p := newPodman(t)
	image := p.image()
	w := newRQ(t)
	id := w.tool("enqueue", "4")[0]
	args := append(append([]string{"run", "-d"}, p.runArgs()...), "--network", "none", "-e", "SUPERVISE_GRACE_PERIOD=10s",
		"-e", "SUPERVISE_LOG_LEVEL=info")
	ctr := strings.TrimSpace(p.podman(false, append(append(append(args, w.mounts()...), image), w.worker()...)...))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the worker's log:\n%s", p.podman(true, "logs", ctr))
		}
	})
	w.waitStarted(id)
	p.podman(false, "stop", "-t", "10", ctr)
	var code int
	fmt.Sscan(p.podman(false, "inspect", "--format", "{{.State.ExitCode}}", ctr), &code)
	logs := p.podman(false, "logs", ctr)
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if s := w.status(id); s != "finished" {
		t.Errorf("job after podman stop: %s, want finished", s)
	}
	for _, want := range []string{`defaults="run as podman-init, the engine's injected init: no health server`, `preset=rq`,
		`ladder=TERM,7.5s,TERM,1.5s,KILL`, `stop rung: draining`, `outcome=graceful`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %q:\n%s", want, lastLines(logs, 20))
		}
	}
}

// podman run --preserve-fds 2, with supervise named by containers.conf's
// init_path (the README's way for every --init): the two descriptors
// podman passes after stdio reach the child through supervise, as through
// catatonit; nothing listens, supervise prints nothing, PID 1 is
// /run/podman-init.
func TestPodmanPreserveFds(t *testing.T) {
	p := newPodman(t)
	image := p.image()
	dir := t.TempDir()
	conf := dir + "/containers.conf"
	if err := os.WriteFile(conf, []byte("[containers]\ninit_path = \""+binary+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for i, text := range []string{"first\n", "second\n"} {
		name := fmt.Sprintf("%s/fd%d", dir, i)
		os.WriteFile(name, []byte(text), 0o644)
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	args := append([]string{"run", "--rm", "--init", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--network", "none",
		"--preserve-fds", "2", image},
		"sh", "-c", `tr '\0' ' ' < /proc/1/cmdline; echo; /run/podman-init --version; cat <&3; cat <&4; cat /proc/net/tcp`)
	cmd := exec.Command("podman", append(p.args, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	cmd.ExtraFiles = files
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 || !strings.HasPrefix(lines[0], "/run/podman-init -- sh -c") || !strings.HasSuffix(lines[1], "_supervise - git.0123456789ab") ||
		lines[2] != "first" || lines[3] != "second" {
		t.Errorf("podman --preserve-fds 2 through supervise:\n%s", out)
	}
	for _, l := range lines[4:] {
		if f := strings.Fields(l); len(f) > 3 && f[3] == "0A" {
			t.Errorf("something listens in the container: %s", l)
		}
		if strings.Contains(l, "[supervise]") {
			t.Errorf("supervise printed: %s", l)
		}
	}
	t.Logf("podman --init --preserve-fds 2:\n%s", out)
}
