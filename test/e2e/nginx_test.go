package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxEnv is one nginx server's files: its configuration, a folder of
// files served at 1 MB/s (so a download's length is its size), and its
// access log, which records each request's bytes and whether it
// completed.
type nginxEnv struct {
	conf, access, addr string
}

// rate is nginx's limit_rate in the tests' configuration, in bytes a
// second: a download of n bytes takes n/rate seconds.
const nginxRate = 1 << 20

func newNginx(t *testing.T) nginxEnv {
	t.Helper()
	need(t, "nginx", "nginx")
	dir := t.TempDir()
	sized(t, dir, "short", 2*nginxRate)
	sized(t, dir, "long", 40*nginxRate)
	n := nginxEnv{addr: freeAddr(t), access: filepath.Join(dir, "access.log")}
	n.conf = fileWith(t, dir, "nginx.conf", fmt.Sprintf(`daemon off;
user root;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log stderr notice;
events {}
http {
  log_format done '$request_uri $status $body_bytes_sent completion=$request_completion';
  access_log %[2]s done;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen %[3]s; root %[1]s; limit_rate %[4]d; }
}
`, dir, n.access, n.addr, nginxRate))
	return n
}

// argv is how the test starts nginx: in the foreground, as images do.
func (n nginxEnv) argv() []string { return []string{"nginx", "-c", n.conf, "-e", "stderr"} }

// accessLine is the access log's line for path; "" when there is none.
func (n nginxEnv) accessLine(path string) string {
	b, _ := os.ReadFile(n.access)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, path+" ") {
			return l
		}
	}
	return ""
}

// nginx (Debian's 1.22) under supervise as PID 1 at Docker's 10 s grace.
// nginx always rewrites its title ("nginx: master process ..."), so at
// the stop auto sees no command line it knows; the title keeps the nginx
// preset, whose QUIT is nginx's graceful shutdown.
func TestNginx(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "nginx", grace)
	// A download shorter than the drain finishes: QUIT lets nginx finish
	// in-flight requests, where generic's TERM is its fast shutdown.
	t.Run("drain kept", func(t *testing.T) {
		n := newNginx(t)
		p := start(t, options{}, "--listen", "off", "--grace-period", grace.String(), "--", "nginx", "-c", n.conf, "-e", "stderr")
		p.waitFor(`stop protocol.*preset=nginx reason="auto: program nginx"`, 5*time.Second)
		waitListening(t, n.addr, 10*time.Second)
		got := fetch(t, "http://"+n.addr+"/short")
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=QUIT`, 2*time.Second)
		noPresetChange(t, p, "nginx")
		r := result(t, got, drain+5*time.Second)
		if r.err != nil || r.status != 200 || len(r.body) != 2*nginxRate {
			t.Errorf("the download in flight: status %d, %d bytes, %v; want 200 and all %d bytes", r.status, len(r.body), r.err, 2*nginxRate)
		}
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		t.Logf("download done %s after the stop, nginx exited %s after it", r.at.Sub(sent).Round(time.Millisecond),
			end.at.Sub(sent).Round(time.Millisecond))
		if l := n.accessLine("/short"); !strings.Contains(l, "completion=OK") {
			t.Errorf("access log: %q, want the request completed", l)
		}
	})
	// Started by an entrypoint script that execs nginx: auto knows no
	// worker at start, and at the stop only nginx's title tells what runs.
	// A download longer than the drain is cut by TERM at the deadline.
	// nginx's fast shutdown aborts the connection without logging the
	// request (no access log line): its error log records the cut, an
	// alert for each connection left open.
	t.Run("cut, via an entrypoint", func(t *testing.T) {
		n := newNginx(t)
		p := start(t, options{}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--", entrypoint(t)}, n.argv()...)...)
		p.waitFor(`stop protocol.*preset=generic`, 5*time.Second)
		waitListening(t, n.addr, 10*time.Second)
		got := fetch(t, "http://"+n.addr+"/long")
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`preset changed at stop.*from=generic to=nginx reason="auto: process title \\"nginx: master process \.\.\.\\""`, 2*time.Second)
		p.waitFor(`stop rung: draining.*signal=QUIT`, time.Second)
		cut := p.waitFor(`stop rung: escalating.*signal=TERM.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "TERM rung", cut.at.Sub(sent), drain, tolerance)
		r := result(t, got, 10*time.Second)
		if r.err == nil || len(r.body) >= 40*nginxRate {
			t.Errorf("the long download: %d bytes, %v; want it cut", len(r.body), r.err)
		}
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0 (nginx's fast shutdown)", code)
		}
		p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		alert := p.waitFor(`\[alert\] .*open socket #\d+ left in connection`, time.Second)
		if l := n.accessLine("/long"); l != "" {
			t.Errorf("access log: %q for the cut download, want none", l)
		}
		t.Logf("cut at %s after the stop: the client got %d of %d bytes; nginx: %s", cut.at.Sub(sent).Round(time.Millisecond),
			len(r.body), 40*nginxRate, alert.text)
	})
}
