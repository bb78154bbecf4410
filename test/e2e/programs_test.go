package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// Helpers for the tests that run each preset's real program under
// supervise: nginx, php-fpm, PostgreSQL, Sidekiq, Resque, gunicorn,
// uvicorn, Dramatiq and arq.

// need skips t, naming the Debian package, when a program is missing.
func need(t *testing.T, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		t.Skipf("SKIP: %s not installed (apt-get install %s)", program, pkg)
	}
	return path
}

// needPython skips t when Debian's python3 cannot import module.
func needPython(t *testing.T, module, pkg string, env ...string) {
	t.Helper()
	cmd := exec.Command(python, "-c", "import "+module)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: python3 cannot import %s (apt-get install %s): %s", module, pkg, firstLine(string(out)))
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	waitUntil(t, "a listener on "+addr, timeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// fetched is what a request in flight got: its status, body, the bytes
// read, its error and when it ended.
type fetched struct {
	status int
	body   []byte
	err    error
	at     time.Time
}

// fetch sends GET url in the background; the request is under way (its
// connection accepted) when fetch returns. The result comes on the
// channel.
func fetch(t *testing.T, url string) <-chan fetched {
	t.Helper()
	out := make(chan fetched, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	connected := make(chan struct{})
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		close(connected)
		return c, err
	}, DisableKeepAlives: true}
	go func() {
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			out <- fetched{err: err, at: time.Now()}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- fetched{status: resp.StatusCode, body: body, err: err, at: time.Now()}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s: no connection within 10s", url)
	}
	return out
}

// result waits for a fetch's result.
func result(t *testing.T, c <-chan fetched, timeout time.Duration) fetched {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(timeout):
		t.Fatalf("the request in flight did not end within %s", timeout)
	}
	return fetched{}
}

// entrypoint writes an image's entrypoint script, which execs its
// arguments: auto knows no worker in it at start, and must recognise the
// worker at the stop from what the child has become.
func entrypoint(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "entrypoint.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nset -e\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// drainOf is the planned drain of preset at grace.
func drainOf(t *testing.T, preset string, grace time.Duration) time.Duration {
	t.Helper()
	l := planned(t, preset, ladder.Budget{Grace: grace})
	return l.Rungs[l.DrainIndex()].Wait
}

// noPresetChange fails t when supervise changed its mind about the preset
// at the stop, or the stop ran with another preset than want.
func noPresetChange(t *testing.T, p *proc, want string) {
	t.Helper()
	if l, ok := p.find(`preset changed at stop`, 0); ok {
		t.Errorf("the preset changed at the stop: %s", l.text)
	}
	p.waitFor(`stop requested.*preset=`+regexp.QuoteMeta(want)+` `, time.Second)
}

// fileWith writes data to name in dir and returns its path.
func fileWith(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	write(t, path, data)
	return path
}

// sized writes a file of n bytes (a repeated pattern) and returns its path.
func sized(t *testing.T, dir, name string, n int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, bytes.Repeat([]byte("supervise\n"), n/10+1)[:n], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// redisDo sends one command to the Redis at url (redis://HOST:PORT) and
// returns its reply: a string, an integer as text, an array's elements,
// or nil for a nil reply.
func redisDo(t *testing.T, url string, args ...string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "redis://"), 5*time.Second)
	if err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
	r := bufio.NewReader(c)
	out, err := readReply(r)
	if err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
	return out
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return []string{line[1:]}, nil
	case '-':
		return nil, fmt.Errorf("%s", line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return []string{string(buf[:n])}, nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		var out []string
		for i := 0; i < n; i++ {
			e, err := readReply(r)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply %q", line)
}

// waitTitle waits until a process's command line starts with prefix: a
// worker that rewrites its title has done so (Sidekiq at its first
// heartbeat, after its signal handlers are in place).
func waitTitle(t *testing.T, prefix string, timeout time.Duration) {
	t.Helper()
	waitUntil(t, "a process titled "+prefix+"...", timeout, func() bool {
		for _, q := range procs() {
			if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", q.pid)); strings.HasPrefix(string(cmd), prefix) {
				return true
			}
		}
		return false
	})
}

// consoleScript writes the script pip installs for a console entry point
// (module:function), the __main__ guard included (a worker that spawns
// processes imports it again), and returns its path: how a vendored
// release runs as its users run it.
func consoleScript(t *testing.T, name, module, function string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	script := "#!" + python + "\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom " + module + " import " + function +
		"\nif __name__ == \"__main__\":\n    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    sys.exit(" +
		function + "())\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// pythonPath joins PYTHONPATH entries.
func pythonPath(dirs ...string) string { return "PYTHONPATH=" + strings.Join(dirs, ":") }
