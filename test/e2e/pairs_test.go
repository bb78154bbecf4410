package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Options that change another's behaviour, each pair tested where a user
// would see it: the credentials a real child and a real health command
// run with, the exit status a restart policy sees after -e, the signal a
// rewritten stop sends first.

// --user NAME runs the child with NAME's primary group from /etc/passwd,
// not a group numbered like the uid: Debian's sync is uid 4, gid 65534
// (nogroup), and group 4 is adm, which reads the system logs. The kernel
// says so of the child itself (/proc/PID/status).
func TestUserPrimaryGroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("SKIP: --user needs root")
	}
	passwd, _ := os.ReadFile("/etc/passwd")
	if !strings.Contains(string(passwd), "\nsync:x:4:65534:") {
		t.Skip("SKIP: no sync user with uid 4 and gid 65534 in /etc/passwd")
	}
	p := start(t, options{}, "--listen", "off", "--user", "sync", "--", "sh", "-c", `grep -E '^(Uid|Gid|Groups):' /proc/self/status`)
	if code := p.exit(10 * time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	p.waitFor(`^Uid:\s+4\s+4\s+4\s+4$`, time.Second)
	p.waitFor(`^Gid:\s+65534\s+65534\s+65534\s+65534$`, time.Second)
	if l := p.waitFor(`^Groups:`, time.Second); strings.Contains(" "+strings.Fields(l.text + " x")[1]+" ", " 4 ") {
		t.Errorf("the child is in group 4 (adm): %s", l.text)
	}
}

// --health-cmd runs as the child's user (--user), with that user's
// primary group and supplementary groups, never as root: the command
// records its own /proc/self/status.
func TestHealthCmdAsUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("SKIP: --user needs root")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		os.Chmod(d, 0o777)
	}
	out := filepath.Join(dir, "ids")
	addr := freeAddr(t)
	p := start(t, options{}, "--listen", addr, "--user", "sync", "--health-interval", "200ms",
		"--health-cmd", `sh -c "grep -E '^(Uid|Gid|Groups):' /proc/self/status > `+out+`"`, "--", "sleep", "30")
	waitHTTP(t, addr, "/readyz", 200, 10*time.Second)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := string(b)
	for _, want := range []string{"Uid:\t4\t4\t4\t4", "Gid:\t65534\t65534\t65534\t65534"} {
		if !strings.Contains(ids, want) {
			t.Errorf("the health command ran with\n%s\nwant %q", ids, want)
		}
	}
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
}

// -e maps a status before the restart policy sees it: with -e 3,
// on-failure does not restart a child that exits 3 and supervise exits
// 0; a child that exits 4 is restarted.
func TestRestartAfterExitZero(t *testing.T) {
	p := start(t, options{}, "--listen", "off", "-e", "3", "--restart", "on-failure", "--restart-max", "2", "--", "sh", "-c", "exit 3")
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d, want 0 (3 mapped by -e)", code)
	}
	if n := p.count(`msg="started child"`); n != 1 {
		t.Errorf("%d starts, want 1: a status -e maps to 0 is no failure", n)
	}
	p = start(t, options{}, "--listen", "off", "-e", "3", "--restart", "on-failure", "--restart-max", "1", "--", "sh", "-c", "exit 4")
	if code := p.exit(15 * time.Second); code != 4 {
		t.Errorf("exit status %d, want 4", code)
	}
	if n := p.count(`msg="started child"`); n != 2 {
		t.Errorf("%d starts, want 2: exit 4 is a failure", n)
	}
}

// --rewrite applies before the ladder: with -r HUP:TERM, HUP is a stop,
// and the generic ladder's first rung for a program auto does not know
// is the stop signal after the rewrite, TERM, never HUP (often "reload").
func TestRewriteToStopGeneric(t *testing.T) {
	p := start(t, options{env: signalsChild{exitOn: "TERM"}.env()}, "--listen", "off", "-r", "HUP:TERM", "--grace-period", "10s", "--", self)
	p.waitFor(`^child ready`, 10*time.Second)
	p.signal(syscall.SIGHUP)
	p.waitFor(`stop requested.*signal=HUP preset=generic`, 2*time.Second)
	p.waitFor(`stop rung: draining.*signal=TERM`, time.Second)
	got := p.waitFor(`^child signal `, 2*time.Second)
	if got.text != "child signal TERM" {
		t.Errorf("the child's first signal: %q, want TERM", got.text)
	}
	if code := p.exit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// After a burst of connections past the health server's bound (64), each
// refused one frees its slot when it closes: probes answer again.
func TestHealthBoundRecovers(t *testing.T) {
	addr := freeAddr(t)
	p := start(t, options{env: signalsChild{exitOn: "TERM"}.env()}, "--listen", addr, "--", self)
	waitHTTP(t, addr, "/livez", 200, 10*time.Second)
	var conns []net.Conn
	for i := 0; i < 128; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// Every slot is taken (each accepted connection waits up to 2 s for
	// its request) and the rest are refused: closed at accept, which the
	// client sees as the end of its connection at once.
	refused := make(chan bool, len(conns))
	for _, c := range conns {
		go func(c net.Conn) {
			c.SetReadDeadline(time.Now().Add(time.Second))
			_, err := c.Read(make([]byte, 1))
			refused <- err != nil && !os.IsTimeout(err)
		}(c)
	}
	n := 0
	for range conns {
		if <-refused {
			n++
		}
	}
	if n < len(conns)-64 {
		t.Fatalf("%d of %d connections refused at once, want at least %d past the bound", n, len(conns), len(conns)-64)
	}
	for _, c := range conns {
		c.Close()
	}
	// Probes on connections of their own, as the kubelet's and Docker's
	// are (a pooled keep-alive connection would pass the accept).
	// The slots free as the server sees each close: the first probe may
	// wait for that, then every probe must answer.
	probe := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ok := func() error {
		resp, err := probe.Get("http://" + addr + "/livez")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	waitUntil(t, "a probe answered after the burst", 5*time.Second, func() bool { return ok() == nil })
	for i := 0; i < 60; i++ {
		if err := ok(); err != nil {
			t.Fatalf("probe %d after the burst: %v", i, err)
		}
	}
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
}

// The start line names where --fast-stop came from, not the grace's
// source.
func TestFastStopFromLogged(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  []string
		from string
	}{
		{[]string{"--fast-stop", "7s"}, nil, "--fast-stop"},
		{nil, []string{"SUPERVISE_FAST_STOP=7s"}, "SUPERVISE_FAST_STOP"},
	} {
		args := append(append([]string{"--listen", "off", "--preset", "celery", "--grace-period", "10s"}, c.args...), "--", "true")
		p := start(t, options{env: c.env}, args...)
		p.waitFor(fmt.Sprintf(`stop protocol.* fast_stop=7s fast_stop_from=%s `, c.from), 5*time.Second)
		p.exit(10 * time.Second)
	}
}
