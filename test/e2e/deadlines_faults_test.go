//go:build faults

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// socketsOf counts the sockets process pid holds.
func socketsOf(pid int) int {
	n := 0
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// The health server's two longer deadlines (SECURITY.md's bounds): an
// idle keep-alive connection is closed 30 s after its last answer, and a
// client that stops reading gets its connection closed 10 s after an
// answer could not be written, so neither holds a slot for long.
func TestFaultHTTPDeadlines(t *testing.T) {
	addr := freeAddr(t)
	p := start(t, options{host: true, env: signalsChild{exitOn: "TERM"}.env()}, "--listen", addr, "--", self)
	waitHTTP(t, addr, "/livez", 200, 10*time.Second)
	base := socketsOf(p.pid)

	// Keep-alive: one request, its whole answer, then nothing.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	answered := time.Now()

	// A reader that stops: a small receive buffer, answers pipelined
	// until the server's writes block.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	stuck, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	go func() {
		for i := 0; i < 5000; i++ {
			stuck.SetWriteDeadline(time.Now().Add(40 * time.Second))
			if _, err := io.WriteString(stuck, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				return
			}
		}
	}()
	waitUntil(t, "both connections held by supervise", 5*time.Second, func() bool { return socketsOf(p.pid) >= base+2 })
	blocked := time.Now()
	waitUntil(t, "the stuck reader's connection closed", 20*time.Second, func() bool { return socketsOf(p.pid) <= base+1 })
	t.Logf("a reader that stopped: closed %s after its writes began", time.Since(blocked).Round(100*time.Millisecond))
	if time.Since(blocked) < 9*time.Second {
		t.Errorf("closed after %s, before the 10 s write deadline", time.Since(blocked))
	}

	idle.SetReadDeadline(time.Now().Add(45 * time.Second))
	_, err = br.ReadByte()
	closed := time.Since(answered)
	if err != io.EOF || closed < 29*time.Second || closed > 40*time.Second {
		t.Errorf("idle keep-alive: %v after %s, want EOF 30 s after the answer", err, closed)
	}
	t.Logf("an idle keep-alive: closed %s after its answer", closed.Round(100*time.Millisecond))
	waitHTTP(t, addr, "/livez", 200, 5*time.Second)
	p.signal(syscall.SIGTERM)
	p.exit(10 * time.Second)
}
