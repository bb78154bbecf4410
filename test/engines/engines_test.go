//go:build engines

package engines

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// binary is supervise, built static as released, for the engines to
// bind-mount into their containers.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "supervise-engines-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "supervise")
	build := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-ldflags", "-s -w -X github.com/supervise/supervise/internal/version.commit=0123456789ab", "-o", binary, "../../cmd/supervise")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building supervise:", err)
		os.Exit(1)
	}
	before := hostLinks()
	code := m.Run()
	stopDocker()
	os.RemoveAll(dir)
	// The machine's network is as it was: no interface it had is gone (a
	// dockerd in the host's namespace would delete docker0). Containers'
	// veth ends come and go with other work beside the tests.
	after := hostLinks()
	for name := range before {
		if !after[name] && !strings.HasPrefix(name, "veth") {
			fmt.Fprintf(os.Stderr, "FAIL: the machine's network interface %s is gone\n", name)
			code = 1
		}
	}
	os.Exit(code)
}

// hostLinks are the network interfaces of the tests' namespace, the
// machine's.
func hostLinks() map[string]bool {
	names := map[string]bool{}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		names[i.Name] = true
	}
	return names
}

// run runs a command and returns its combined output, failing t on an
// error unless allowFail.
func run(t *testing.T, env []string, allowFail bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil && !allowFail {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitUntil polls cond until it holds, failing t after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
	}
}

// redisServer starts a private redis-server listening on a unix socket
// only and returns its folder and URL: containers reach it through the
// folder, bind-mounted at the same path, with no network at all.
func redisServer(t *testing.T) (dir, url string) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("SKIP: redis-server not installed (apt-get install redis-server)")
	}
	dir, err := os.MkdirTemp("", "supervise-engines-redis-")
	if err != nil {
		t.Fatal(err)
	}
	sock := dir + "/redis.sock"
	cmd := exec.Command("redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "777",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) })
	waitUntil(t, "redis-server on "+sock, 10*time.Second, func() bool {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		defer c.Close()
		c.Write([]byte("PING\r\n"))
		reply, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(reply, "+PONG")
	})
	return dir, "unix://" + sock
}

// rqWorld is RQ 2.10 with redis-py 7 against one Redis: the worker runs
// in a container (the vendored releases and the tests' job module bind-
// mounted, on PYTHONPATH), and the test enqueues and inspects jobs with
// the same releases on the host.
type rqWorld struct {
	t         *testing.T
	url       string
	redisDir  string // the folder of Redis's socket
	rq, redis string // the vendored folders
	jobs      string // test/e2e/testdata/rq: jobs.py, rqtool.py
}

func newRQ(t *testing.T) *rqWorld {
	t.Helper()
	rels := testenv.RQReleases()
	rels[1].Skip(t)
	jobs, _ := filepath.Abs("../e2e/testdata/rq")
	w := &rqWorld{t: t, rq: rels[1].Path[0], redis: rels[1].Path[1], jobs: jobs}
	w.redisDir, w.url = redisServer(t)
	return w
}

// mounts are the engine's -v options for the worker's container (jobs.py
// is a link into examples/: it is mounted as the file it names).
func (w *rqWorld) mounts() []string {
	jobs, err := filepath.EvalSymlinks(filepath.Join(w.jobs, "jobs.py"))
	if err != nil {
		w.t.Fatal(err)
	}
	return []string{"-v", w.redisDir + ":" + w.redisDir, "-v", w.rq + ":/opt/rq:ro", "-v", w.redis + ":/opt/redis-py:ro", "-v", jobs + ":/app/jobs.py:ro",
		"-e", "PYTHONPATH=/opt/rq:/opt/redis-py:/app"}
}

// worker is the worker's command in the container: Debian's rq script,
// which runs the RQ 2.10 on PYTHONPATH.
func (w *rqWorld) worker() []string {
	return []string{"rq", "worker", "--url", w.url, "--path", "/app", "default"}
}

// tool runs rqtool.py on the host with the same releases.
func (w *rqWorld) tool(args ...string) []string {
	w.t.Helper()
	out := run(w.t, []string{"PYTHONPATH=" + w.rq + ":" + w.redis + ":" + w.jobs}, false, "/usr/bin/python3",
		append([]string{filepath.Join(w.jobs, "rqtool.py"), w.url}, args...)...)
	return strings.Split(strings.TrimSpace(out), "\n")
}

// waitStarted waits until job id runs in a work-horse.
func (w *rqWorld) waitStarted(id string) {
	w.t.Helper()
	waitUntil(w.t, "job "+id+" to start", 60*time.Second, func() bool {
		f := strings.Fields(w.tool("state", id)[0])
		return f[1] == "started" && f[4] != "0"
	})
}

func (w *rqWorld) status(id string) string { return strings.Fields(w.tool("state", id)[0])[1] }

// importRootFS imports the cached Debian root filesystem (python3,
// Debian's RQ, redis-tools; test/kube/rootfs.sh makes it once) into an
// engine as image; cli is the engine's command with its global options.
func importRootFS(t *testing.T, image string, cli ...string) {
	t.Helper()
	if exec.Command(cli[0], append(cli[1:], "image", "inspect", image)...).Run() == nil {
		return
	}
	args := append([]string{"-c", `dir=$1; shift; tar -C "$dir" -c . | "$@"`, "sh", testenv.RootFS(t)}, append(cli, "import", "-", image)...)
	if out, err := exec.Command("sh", args...).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}
