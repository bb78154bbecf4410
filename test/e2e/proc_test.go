package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests' one reader of /proc: process states, parents, children,
// zombies, resident memory and caught signals, as the host sees them.

// procInfo is one process from /proc/PID/stat.
type procInfo struct {
	pid, ppid int
	state     string
}

// statOf reads /proc/PID/stat; ok is false when the process is gone. The
// command name may hold spaces and parentheses: the fields after it
// start after the last ')'.
func statOf(pid int) (procInfo, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return procInfo{}, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procInfo{pid: pid, ppid: ppid, state: f[0]}, true
}

// procs lists every process visible in /proc.
func procs() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, ok := statOf(pid); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// alive reports whether pid exists as anything but a zombie.
func alive(pid int) bool {
	p, ok := statOf(pid)
	return ok && p.state != "Z"
}

// descendants lists the processes below root, children first.
func descendants(root int) []procInfo {
	kids := map[int][]procInfo{}
	for _, p := range procs() {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	var out []procInfo
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		for _, k := range kids[queue[0]] {
			out = append(out, k)
			queue = append(queue, k.pid)
		}
	}
	return out
}

// zombiesBelow counts the zombies among root's descendants.
func zombiesBelow(root int) int {
	n := 0
	for _, p := range descendants(root) {
		if p.state == "Z" {
			n++
		}
	}
	return n
}

// waitNoZombies waits until no process below root is a zombie.
func waitNoZombies(t *testing.T, root int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := zombiesBelow(root)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d zombies left below pid %d", n, root)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits until pid is in state (R, S, T, Z, ...).
func waitState(t *testing.T, pid int, state string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p, ok := statOf(pid); ok && p.state == state {
			return
		}
	}
	t.Fatalf("pid %d never reached state %s", pid, state)
}

// children lists pid's children. Each thread has its own children file,
// and a Go program forks from any of its threads.
func children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// firstChild waits for pid's first child and returns it.
func firstChild(t *testing.T, pid int) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if c := children(pid); len(c) > 0 {
			return c[0]
		}
	}
	t.Fatalf("pid %d started no child", pid)
	return 0
}

// statusField is one field of /proc/PID/status, trimmed; "" when the
// process or the field is gone.
func statusField(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rssKiB is a process's resident memory in KiB; 0 when gone.
func rssKiB(pid int) int {
	f := strings.Fields(statusField(pid, "VmRSS"))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// catches reports whether pid has a handler for sig (SigCgt, a
// hexadecimal mask with bit sig-1 for sig).
func catches(pid int, sig syscall.Signal) bool {
	mask, err := strconv.ParseUint(statusField(pid, "SigCgt"), 16, 64)
	return err == nil && mask&(1<<(uint(sig)-1)) != 0
}
