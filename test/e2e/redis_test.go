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
)

// python is Debian's interpreter, the one python3-rq is installed for.
const python = "/usr/bin/python3"

// redisServer starts a private redis-server on a free loopback port and
// returns its URL; it is stopped when the test ends. Without redis-server
// or python3-rq the test is skipped with the reason.
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
	if exec.Command(python, "-c", "import rq").Run() != nil {
		t.Skip("SKIP: python3-rq not installed (apt-get install python3-rq)")
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

// rqTool runs testdata/rq/rqtool.py and returns its output lines.
func rqTool(t *testing.T, url string, args ...string) []string {
	t.Helper()
	dir, _ := filepath.Abs("testdata/rq")
	cmd := exec.Command(python, append([]string{filepath.Join(dir, "rqtool.py"), url}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rqtool %v: %v\n%s", args, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// jobState is one line of rqtool's state report.
type jobState struct {
	id, status, where, result, horse string
}

func rqState(t *testing.T, url, id string) jobState {
	t.Helper()
	f := strings.Fields(rqTool(t, url, "state", id)[0])
	return jobState{f[0], f[1], f[2], f[3], f[4]}
}

// waitStarted waits until the job runs in a work-horse.
func waitStarted(t *testing.T, url, id string) jobState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := rqState(t, url, id)
		if s.status == "started" && s.horse != "0" {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not start: %+v", id, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rqWorker returns the argv of a real RQ worker on url.
func rqWorker(url string) []string {
	dir, _ := filepath.Abs("testdata/rq")
	return []string{"rq", "worker", "--url", url, "--path", dir, "default"}
}
