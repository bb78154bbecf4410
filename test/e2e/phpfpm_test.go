package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// phpFPM is one php-fpm pool on a loopback port, and a script that
// sleeps as long as its query string says (a signal that interrupts
// usleep does not end it early: only the request's end does).
type phpFPM struct {
	bin, conf, script, addr string
}

func newPHPFPM(t *testing.T, controlTimeout string) phpFPM {
	t.Helper()
	bins, _ := filepath.Glob("/usr/sbin/php-fpm*")
	if len(bins) == 0 {
		t.Skip("SKIP: php-fpm not installed (apt-get install php8.2-fpm)")
	}
	need(t, "cgi-fcgi", "libfcgi-bin")
	dir := t.TempDir()
	f := phpFPM{bin: bins[0], addr: freeAddr(t)}
	f.script = fileWith(t, dir, "slow.php", `<?php
$t = floatval($_GET['t'] ?? 0);
$end = microtime(true) + $t;
while (($left = $end - microtime(true)) > 0) { usleep((int)($left * 1000000)); }
echo "done $t\n";
`)
	pct := ""
	if controlTimeout != "" {
		pct = "process_control_timeout = " + controlTimeout
	}
	f.conf = fileWith(t, dir, "php-fpm.conf", fmt.Sprintf(`[global]
pid = %s/php-fpm.pid
error_log = /proc/self/fd/2
daemonize = no
%s
[www]
listen = %s
pm = static
pm.max_children = 2
`, dir, pct, f.addr))
	return f
}

// argv is php-fpm in the foreground, as the official images run it; -R
// lets the test's root run it.
func (f phpFPM) argv() []string { return []string{f.bin, "-F", "-R", "-y", f.conf} }

// request sends one FastCGI request for the script, sleeping seconds, in
// the background; its output and error come on the channel.
func (f phpFPM) request(t *testing.T, seconds string) <-chan fetched {
	t.Helper()
	out := make(chan fetched, 1)
	cmd := exec.Command("cgi-fcgi", "-bind", "-connect", f.addr)
	cmd.Env = append(os.Environ(), "SCRIPT_FILENAME="+f.script, "REQUEST_METHOD=GET", "QUERY_STRING=t="+seconds)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		err := cmd.Wait()
		out <- fetched{body: buf.Bytes(), err: err, at: time.Now()}
	}()
	return out
}

// waitRequest waits until a child of the pool serves a request: it holds
// the accepted connection beside its listening socket.
func (f phpFPM) waitRequest(t *testing.T) {
	t.Helper()
	waitUntil(t, "a php-fpm child serving the request", 10*time.Second, func() bool {
		for _, q := range procs() {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", q.pid))
			if !strings.HasPrefix(string(cmd), "php-fpm: pool www") {
				continue
			}
			fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", q.pid))
			sockets := 0
			for _, fd := range fds {
				if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", q.pid, fd.Name())); strings.HasPrefix(l, "socket:") {
					sockets++
				}
			}
			if sockets >= 2 {
				return true
			}
		}
		return false
	})
}

// php-fpm (Debian's 8.2) under supervise as PID 1 at Docker's 10 s grace.
// php-fpm always rewrites its title ("php-fpm: master process (...)").
// QUIT lets a child finish its request for process_control_timeout, which
// supervise cannot read (php-fpm.conf) and names with the value to set;
// the tests set it as that line says.
func TestPHPFPM(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "php-fpm", grace)
	advised := fmt.Sprintf("%ds", int((drain-time.Second)/time.Second))
	// Started by an entrypoint that execs php-fpm: the title keeps the
	// preset at the stop, and the request in flight finishes.
	t.Run("drain kept, via an entrypoint", func(t *testing.T) {
		f := newPHPFPM(t, advised)
		p := start(t, options{}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--", entrypoint(t)}, f.argv()...)...)
		p.waitFor(`ready to handle connections`, 10*time.Second)
		got := f.request(t, "3")
		f.waitRequest(t)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`preset changed at stop.*from=generic to=php-fpm reason="auto: process title`, 2*time.Second)
		p.waitFor(`stop rung: draining.*signal=QUIT`, time.Second)
		r := result(t, got, drain+5*time.Second)
		if r.err != nil || !strings.Contains(string(r.body), "done 3") {
			t.Errorf("the request in flight: %v, %q; want it done", r.err, r.body)
		}
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		t.Logf("request done %s after the stop", r.at.Sub(sent).Round(time.Millisecond))
	})
	// Run directly: auto picks php-fpm from the program and says at start
	// what to set process_control_timeout to. A request longer than that
	// is ended by php-fpm itself when its process_control_timeout runs
	// out, before supervise's TERM: php-fpm terminates the child and
	// exits without a line for it, so the cut is seen where the request
	// came from: the FastCGI client (a web server in front logs a 502)
	// gets the connection closed with no response.
	t.Run("cut", func(t *testing.T) {
		f := newPHPFPM(t, advised)
		p := start(t, options{}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, f.argv()...)...)
		p.waitFor(`set process_control_timeout = `+advised+` or less`, 5*time.Second)
		p.waitFor(`ready to handle connections`, 10*time.Second)
		got := f.request(t, "30")
		f.waitRequest(t)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=QUIT`, 2*time.Second)
		noPresetChange(t, p, "php-fpm")
		r := result(t, got, grace)
		if r.err == nil || strings.Contains(string(r.body), "done") {
			t.Errorf("the long request: %v, %q; want it cut with no response", r.err, r.body)
		}
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if end.at.Sub(sent) >= drain {
			t.Errorf("php-fpm ended %s after the stop, not by its own process_control_timeout before the drain's end %s", end.at.Sub(sent), drain)
		}
		t.Logf("cut %s after the stop by php-fpm (process_control_timeout = %s); the client: %v %q", r.at.Sub(sent).Round(time.Millisecond),
			advised, r.err, r.body)
	})
}
