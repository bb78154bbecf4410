//go:build faults

package e2e

import (
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// The fault suite (make faults): supervise as a real PID 1 under storms,
// misbehaving children, abusive clients and bad input. Each case asserts
// that nothing is lost and the documented behaviour holds.

// 100,000 orphans in bursts of 3,000 while signals keep arriving: 0 zombies
// left, and the main child's exit status is still right.
func TestFaultZombieStormWithSignals(t *testing.T) {
	p := start(t, options{env: zombiesChild{total: 100000, burst: 3000}.env()},
		"--listen", "off", "--", self)
	p.waitFor(`^ready`, 10*time.Second)
	stop := make(chan struct{})
	var sent atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			syscall.Kill(p.pid, syscall.SIGWINCH)
			sent.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	start := time.Now()
	p.waitFor(`^storm done$`, 5*time.Minute)
	close(stop)
	waitNoZombies(t, p.pid, 30*time.Second)
	t.Logf("100000 orphans reaped in %s with %d signals sent meanwhile", time.Since(start).Round(time.Millisecond), sent.Load())
	p.signal(syscall.SIGTERM)
	if code := p.exit(10 * time.Second); code != 7 {
		t.Errorf("exit status %d, want 7", code)
	}
}

// 100,000 mixed signals from 4 senders in about 10 s: /livez answers all
// along, a stop inside the storm starts the ladder, and the second rung
// lands on time.
func TestFaultSignalStorm(t *testing.T) {
	addr := freeAddr(t)
	p := startHuey(t, "10m", []string{"HELPER_IGNORE_NOISE=1"}, "--listen", addr, "--grace-period", "20s")
	waitHTTP(t, addr, "/livez", 200, 5*time.Second)
	noise := []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGHUP, syscall.SIGALRM}
	const total, senders = 100000, 4
	var wg sync.WaitGroup
	var sent atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; n < total/senders && time.Now().Before(deadline); n++ {
				syscall.Kill(p.pid, noise[(n+i)%len(noise)])
				sent.Add(1)
				if n%256 == 0 {
					time.Sleep(time.Millisecond) // about 10,000 per second
				}
			}
		}(i)
	}
	// Probes all along, in the background, until the last rung is due.
	var probes, failed atomic.Int64
	probing, stopProbing := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(probing)
		for {
			select {
			case <-stopProbing:
				return
			default:
			}
			if code, _ := get(t, addr, "/livez"); code != 200 {
				failed.Add(1)
			}
			probes.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	// Inside the storm (a quarter of it sent): a stop, then a second one
	// to advance the ladder.
	waitUntil(t, "a quarter of the storm sent", 10*time.Second, func() bool { return sent.Load() >= total/4 })
	stopSent := p.signal(syscall.SIGTERM)
	first := p.waitFor(`^signal INT$`, 3*time.Second)
	within(t, "first rung inside a storm", first.at.Sub(stopSent), 0, tolerance)
	// Draining, still inside the storm: ten more probes answered.
	answered := probes.Load()
	waitUntil(t, "ten probes while draining", 5*time.Second, func() bool { return probes.Load() >= answered+10 })
	close(stopProbing)
	<-probing
	p.signal(syscall.SIGTERM)
	second := p.waitFor(`^task interrupted$`, 5*time.Second)
	within(t, "second rung (advanced) inside a storm", second.at.Sub(first.at), ladder.MinSpacing, tolerance)
	if time.Now().After(deadline) {
		t.Error("the storm ended before the ladder did: the case proves nothing")
	}
	wg.Wait()
	t.Logf("%d signals sent; %d of %d probes failed", sent.Load(), failed.Load(), probes.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d /livez probes failed during the storm", failed.Load(), probes.Load())
	}
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// A child that is SIGSTOPped when the stop comes is woken with CONT, so it
// drains instead of dying at KILL.
func TestFaultStoppedChildDrains(t *testing.T) {
	p := start(t, options{env: hueyChild{task: "2s"}.env()},
		"--listen", "off", "--preset", "huey", "--grace-period", "20s", "--", self)
	l := p.waitFor(`^ready pid=\d+`, 10*time.Second)
	p.waitFor(`^task started`, 10*time.Second)
	var nspid int
	fmt.Sscanf(l.text, "ready pid=%d", &nspid)
	child := firstChild(t, p.pid)
	syscall.Kill(child, syscall.SIGSTOP)
	waitState(t, child, "T")
	p.signal(syscall.SIGTERM)
	p.waitFor(`child was stopped \(SIGSTOP\): sending CONT`, 2*time.Second)
	p.waitFor(`^task done$`, 10*time.Second)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	p.waitFor(`outcome=graceful`, time.Second)
}

// supervise's own stdout and stderr vanish (the reader goes away): it
// neither dies of SIGPIPE nor stalls; the stop still works and the exit
// status is the child's.
func TestFaultVanishedStderr(t *testing.T) {
	// The child writes nothing, so only supervise meets the closed pipe. It
	// touches a file once its TERM trap is set, so the stop cannot come
	// before it can take it.
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", binary, "--listen", "off", "--preset", "none", "--",
		"sh", "-c", `trap "exit 0" TERM; touch "$0"; while :; do sleep 0.05; done`, ready)
	r, w, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	buf := make([]byte, 4096)
	r.Read(buf) // the first log lines
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never set its trap")
		}
	}
	r.Close() // now every write gets EPIPE/SIGPIPE
	sup := firstChild(t, cmd.Process.Pid)
	// The stop makes supervise log several lines into the closed pipe.
	syscall.Kill(sup, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		// The child exits 0 on TERM; supervise reports it. Had supervise
		// died of SIGPIPE, unshare would report 141.
		if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || ws.ExitStatus() != 0 {
			t.Errorf("supervise ended with %v (%v), want exit 0", ws, err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("supervise did not exit after its output vanished")
	}
}

// HTTP abuse: 1,000 slow connections, oversized headers, malformed
// requests and a flood; supervise's RSS stays bounded and the ladder runs
// on time.
func TestFaultHTTPAbuse(t *testing.T) {
	addr := freeAddr(t)
	p := startHuey(t, "10m", nil, "--listen", addr, "--grace-period", "10s")
	waitHTTP(t, addr, "/livez", 200, 5*time.Second)
	rss0 := rssKiB(p.pid)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Write([]byte("GET /livez HTTP/1.1\r\n"))
			conns = append(conns, c)
		}
	}
	bad := []string{
		"GET /livez HTTP/1.1\r\nX: " + strings.Repeat("a", 64<<10) + "\r\n\r\n",
		"BLAH\r\n\r\n",
		"GET /livez HTTP/9.9\r\n\r\n",
		"POST /livez HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n",
		"\x00\x01\x02\xff\r\n\r\n",
	}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			c.Write([]byte(bad[i%len(bad)]))
			c.Read(make([]byte, 512))
			c.Close()
		}
	}
	// A flood of well-formed requests from 16 clients for 2 s.
	var wg sync.WaitGroup
	flood := time.Now().Add(2 * time.Second)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(flood) {
				get(t, addr, "/metrics")
			}
		}()
	}
	sent := p.signal(syscall.SIGTERM)
	wg.Wait()
	// Measured while supervise still runs: the drain outlasts the 2 s flood.
	rss1 := rssKiB(p.pid)
	got := p.waitFor(`^task interrupted$`, 10*time.Second)
	within(t, "second rung under HTTP abuse", got.at.Sub(sent), drain(t, "huey", 10*time.Second), tolerance)
	t.Logf("supervise RSS %d KiB before, %d KiB after the abuse", rss0, rss1)
	if rss1 == 0 || rss1 > rss0+16<<10 {
		t.Errorf("RSS went from %d to %d KiB", rss0, rss1)
	}
	p.exit(10 * time.Second)
}

// Every option, as a flag and as its SUPERVISE_ variable, given empty,
// wrong-typed, out-of-range and absurd values: exit 0 or 2, one line when
// 2, never a panic or a stack trace.
func TestFaultBadValues(t *testing.T) {
	options := []string{"preset", "grace-period", "drain-timeout", "stop", "stop-delay", "rewrite", "exit-zero",
		"pdeath-signal", "log-level", "log-format", "restart", "restart-max", "user", "cleanup-grace", "listen",
		"heartbeat-file", "heartbeat-max-age", "ready-tcp", "health-cmd", "health-interval", "health-timeout",
		"grace-from-api", "termination-log", "kube-container", "fast-stop", "kubelet-stop-grace"}
	values := []string{"", "x", "-1", "-5s", "0", "65", "999999999999999999999", "99999h", "TERM,0s,KILL",
		"KILL:0", "0:INT", "TERM,,KILL", "nosuchuser:nosuchgroup", "1e309", "\x01", "'", strings.Repeat("9", 400)}
	// The values each option accepts; every other one must be refused.
	// "" is the option unset (its default); files and commands are any
	// string; 65 is a whole number of seconds, an exit status, a count or
	// a uid.
	anyString := map[string]bool{"heartbeat-file": true, "health-cmd": true, "termination-log": true, "kube-container": true}
	accepted := map[string][]string{
		"grace-period": {"", "65"}, "drain-timeout": {"", "65"}, "stop": {""}, "stop-delay": {"0", "65"},
		"exit-zero": {"0", "65"}, "pdeath-signal": {""}, "log-level": {""}, "log-format": {""}, "restart-max": {"0", "65"},
		"user": {"", "0", "65"}, "cleanup-grace": {"0", "65"}, "heartbeat-max-age": {"65"}, "health-interval": {"65"},
		"health-timeout": {"65"}, "grace-from-api": {""},
		// true gets auto's generic ladder, which --fast-stop cannot time:
		// a warning, not an error.
		"fast-stop": {"", "65"}, "kubelet-stop-grace": {"", "65"},
	}
	work := t.TempDir() // where a termination log named like a bad value lands
	n, refused := 0, 0
	for _, o := range options {
		for _, v := range values {
			// Any string is a file name; a command must split into words.
			ok := anyString[o] && !(o == "health-cmd" && v == "'") || slices.Contains(accepted[o], v)
			for _, viaEnv := range []bool{false, true} {
				args := []string{"--" + o, v, "--", "true"}
				var env []string
				if viaEnv {
					args = []string{"--", "true"}
					env = []string{"SUPERVISE_" + strings.ToUpper(strings.ReplaceAll(o, "-", "_")) + "=" + v}
				}
				cmd := exec.Command(binary, args...)
				cmd.Dir = work
				cmd.Env = append(append(os.Environ(), "SUPERVISE_LISTEN=off"), env...)
				if o == "listen" && !viaEnv {
					cmd.Env = os.Environ()
				}
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				cmd.Run()
				n++
				code := cmd.ProcessState.ExitCode()
				text := stderr.String()
				where := fmt.Sprintf("--%s %q (env %v)", o, v, viaEnv)
				if strings.Contains(text, "panic") || strings.Contains(text, "goroutine ") {
					t.Errorf("%s: panic:\n%s", where, text)
					continue
				}
				if ok {
					if code != 0 {
						t.Errorf("%s: a valid value, exit %d:\n%s", where, code, text)
					}
					continue
				}
				refused++
				lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
				if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "supervise: ") || stdout.Len() != 0 {
					t.Errorf("%s: want exit 2 and exactly one line, got exit %d:\n%s", where, code, text)
				}
			}
		}
	}
	t.Logf("%d bad-value runs: %d refusals, each exit 2 with exactly one line; no panic", n, refused)
}

// A bounded soak: a real RQ worker and Redis, 300 jobs, 20 stops and
// restarts of supervise at random moments: every job accounted for.
func TestFaultRQSoak(t *testing.T) {
	r := debianRQ(t, redisServer(t))
	var secs []string
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		secs = append(secs, fmt.Sprintf("%.2f", 0.05+rng.Float64()*0.4))
	}
	ids := r.enqueue(secs...)
	races := 0
	for round := 0; round < 20; round++ {
		p := start(t, options{env: r.env()}, append([]string{"--listen", "off", "--grace-period", "10s", "--"}, r.worker()...)...)
		p.waitFor(`Listening on default`, 20*time.Second)
		time.Sleep(time.Duration(200+rng.Intn(1200)) * time.Millisecond) // a random moment
		p.signal(syscall.SIGTERM)
		code := p.exit(20 * time.Second)
		if rqIdleStopRace(p, code) {
			races++
			continue
		}
		if code != 0 {
			t.Fatalf("round %d: exit status %d", round, code)
		}
	}
	t.Logf("%d of 20 stops met RQ's idle-stop race (exit 1, no job held)", races)
	counts := map[string]int{}
	for _, line := range r.tool(append([]string{"state"}, ids...)...) {
		f := strings.Fields(line)
		counts[f[1]]++
		if f[1] == "missing" || f[2] == "nowhere" {
			t.Errorf("job %s vanished: %s", f[0], line)
		}
	}
	t.Logf("after 20 stops: %v (vanished: %d)", counts, counts["missing"])
}
