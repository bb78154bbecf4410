package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// python is Debian's interpreter, the one python3-rq is installed for.
const python = "/usr/bin/python3"

// redisServer starts a private redis-server on a free loopback port and
// returns its URL; it is stopped when the test ends. Without redis-server
// the test is skipped with the reason.
func redisServer(t *testing.T) string {
	t.Helper()
	url, _ := redisServerStoppable(t)
	return url
}

// redisServerStoppable is redisServer, with a function that stops the
// server before the test ends (it may be called more than once).
func redisServerStoppable(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("SKIP: redis-server not installed (apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(stop)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Write([]byte("PING\r\n"))
			c.SetReadDeadline(time.Now().Add(time.Second))
			reply, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(reply, "+PONG") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer PING")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "redis://" + addr, stop
}

// rqEnv is one RQ release against one Redis: what the RQ tests need to
// run a worker and to enqueue and inspect jobs with that release.
type rqEnv struct {
	t   *testing.T
	rel testenv.Release
	url string
	// pythonPath is the release's folders, then testdata/rq (jobs.py).
	pythonPath string
	// rq is the rq program: Debian's, or a console script for the
	// vendored release, written as pip writes one.
	rq string
}

// rqReleases lists the RQ releases the RQ tests run on, Debian's first;
// a test runs once per release with eachRQ.
func rqReleases() []testenv.Release {
	rels := testenv.RQReleases()
	if exec.Command(python, "-c", "import rq").Run() != nil {
		rels[0].Missing = "python3-rq not installed (apt-get install python3-rq)"
	}
	return rels
}

// eachRQ runs f as a subtest for each RQ release, each against its own
// Redis; a release that cannot run here says SKIP with the reason.
func eachRQ(t *testing.T, f func(t *testing.T, r *rqEnv)) {
	for _, rel := range rqReleases() {
		t.Run(rel.Name, func(t *testing.T) {
			rel.Skip(t)
			f(t, newRQ(t, rel, redisServer(t)))
		})
	}
}

// debianRQ is Debian's RQ on url, for tests about supervise rather than
// about RQ (they run on one release).
func debianRQ(t *testing.T, url string) *rqEnv {
	t.Helper()
	rel := rqReleases()[0]
	rel.Skip(t)
	return newRQ(t, rel, url)
}

// latestRQ is RQ 2.10 with redis-py 7 on url: the release users run.
func latestRQ(t *testing.T, url string) *rqEnv {
	t.Helper()
	rel := rqReleases()[1]
	rel.Skip(t)
	return newRQ(t, rel, url)
}

func newRQ(t *testing.T, rel testenv.Release, url string) *rqEnv {
	t.Helper()
	dir, _ := filepath.Abs("testdata/rq")
	r := &rqEnv{t: t, rel: rel, url: url, pythonPath: strings.Join(append(append([]string{}, rel.Path...), dir), ":"), rq: "rq"}
	if rel.Vendored() {
		// pip's console script for rq: what `pip install rq` puts on PATH.
		r.rq = filepath.Join(t.TempDir(), "rq")
		script := "#!" + python + "\nimport sys\nfrom rq.cli import main\nsys.exit(main())\n"
		if err := os.WriteFile(r.rq, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// env is the environment a worker of this release needs.
func (r *rqEnv) env() []string { return []string{"PYTHONPATH=" + r.pythonPath} }

// worker returns the argv of a real RQ worker of this release.
func (r *rqEnv) worker() []string {
	dir, _ := filepath.Abs("testdata/rq")
	return []string{r.rq, "worker", "--url", r.url, "--path", dir, "default"}
}

// tool runs testdata/rq/rqtool.py with this release and returns its
// output lines.
func (r *rqEnv) tool(args ...string) []string {
	r.t.Helper()
	dir, _ := filepath.Abs("testdata/rq")
	cmd := exec.Command(python, append([]string{filepath.Join(dir, "rqtool.py"), r.url}, args...)...)
	cmd.Env = append(os.Environ(), r.env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("rqtool %v (%s): %v\n%s", args, r.rel.Version, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// enqueue queues one slow job per duration (seconds) and returns the ids.
func (r *rqEnv) enqueue(seconds ...string) []string {
	return r.tool(append([]string{"enqueue"}, seconds...)...)
}

// jobState is one line of rqtool's state report.
type jobState struct {
	id, status, where, result, horse string
}

func parseJobState(line string) jobState {
	f := strings.Fields(line)
	return jobState{f[0], f[1], f[2], f[3], f[4]}
}

// state reports where job id is.
func (r *rqEnv) state(id string) jobState {
	r.t.Helper()
	return parseJobState(r.tool("state", id)[0])
}

// states reports where each job is.
func (r *rqEnv) states(ids []string) []jobState {
	r.t.Helper()
	var out []jobState
	for _, l := range r.tool(append([]string{"state"}, ids...)...) {
		out = append(out, parseJobState(l))
	}
	return out
}

// waitStarted waits until the job runs in a work-horse.
func (r *rqEnv) waitStarted(id string) jobState {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := r.state(id)
		if s.status == "started" && s.horse != "0" {
			return s
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("job %s did not start: %+v", id, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
