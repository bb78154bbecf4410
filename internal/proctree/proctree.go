// Package proctree is supervise's one reader of /proc and the code that
// acts on processes as a whole: it finds the descendants of a process
// (through prometheus/procfs), so supervise can reach processes that left
// the child's process group or session, such as RQ's work-horse, and
// signals them (KillTree); it reads a child's state, command line and
// environment; and it sets up supervise's own process (its inherited
// descriptors, its parent-death signal).
package proctree

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// Proc is one process of a tree, from one read of /proc/PID/stat.
type Proc struct {
	PID   int
	PPID  int
	State string
	// CPU is user plus system time in seconds, its own and that of the
	// children it has reaped (so it does not drop when one of them ends);
	// RSS is resident bytes.
	CPU float64
	RSS int
}

// Snapshot reads every process visible in /proc. Processes that exit while
// it reads are skipped. It blocks for the time one pass over /proc takes.
func Snapshot() ([]Proc, error) {
	fs, err := procFS()
	if err != nil {
		return nil, err
	}
	all, err := fs.AllProcs()
	if err != nil {
		return nil, err
	}
	out := make([]Proc, 0, len(all))
	for _, p := range all {
		st, err := p.Stat()
		if err != nil {
			continue
		}
		out = append(out, Proc{PID: st.PID, PPID: st.PPID, State: st.State, CPU: ticks(int(st.UTime+st.STime) + st.CUTime + st.CSTime), RSS: st.ResidentMemory()})
	}
	return out, nil
}

// ticks turns clock ticks of /proc/PID/stat into seconds (USER_HZ is 100
// on every Linux architecture, as procfs assumes too).
func ticks(n int) float64 { return float64(n) / 100 }

// ReapedCPU is the CPU time, in seconds, of the processes the calling
// process has reaped (cutime + cstime of /proc/self/stat), with what they
// had reaped in turn.
func ReapedCPU() (float64, error) {
	fs, err := procFS()
	if err != nil {
		return 0, err
	}
	p, err := fs.Self()
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, err
	}
	return ticks(st.CUTime + st.CSTime), nil
}

// Descendants returns every process below root in procs, children before
// grandchildren. Root itself is not included.
func Descendants(procs []Proc, root int) []Proc {
	kids := make(map[int][]Proc, len(procs))
	for _, p := range procs {
		kids[p.PPID] = append(kids[p.PPID], p)
	}
	var out []Proc
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, k := range kids[pid] {
			out = append(out, k)
			queue = append(queue, k.PID)
		}
	}
	return out
}

// procFS is /proc, opened once: procfs.NewDefaultFS stats and statfs'es
// the mount point each time, and the stop path reads /proc more than once.
// (A plain sync.Once, not sync.OnceValues: the generic version makes the
// type's every method reachable for reflection, and procfs.FS has hundreds:
// measured, 460 KB more binary.)
func procFS() (procfs.FS, error) {
	fsOnce.Do(func() { fsValue, fsErr = procfs.NewDefaultFS() })
	return fsValue, fsErr
}

var (
	fsOnce  sync.Once
	fsValue procfs.FS
	fsErr   error
)

// State is a process's state letter (R, S, T, Z, ...) from
// /proc/PID/stat; "" when it cannot be read (the process is gone). It
// reads the file directly, as Cmdline does: on the stop path procfs's
// extra stat calls cost more than the read (measured: 60-170 us a call).
func State(pid int) string {
	b, err := readProc(pid, "stat")
	if err != nil {
		return ""
	}
	// The command name may hold spaces and parentheses: the state is the
	// field after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return ""
	}
	return string(b[i+2])
}

// Cmdline is a process's argv from /proc/PID/cmdline; nil when it cannot
// be read or is empty (a zombie, a kernel thread).
func Cmdline(pid int) []string {
	b, err := readProc(pid, "cmdline")
	if err != nil {
		return nil
	}
	return splitCmdline(b)
}

func splitCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// readProc reads /proc/PID/NAME with three system calls: open, read until
// the end, close (os.ReadFile spends seven more: registering the file with
// the poller, which refuses it, fcntl twice, fstat for a size /proc does
// not give).
func readProc(pid int, name string) ([]byte, error) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return preadAll(fd)
}

// preadAll reads fd from its start to its end.
func preadAll(fd int) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		n, err := unix.Pread(fd, buf[len(buf):cap(buf)], int64(len(buf)))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// CmdlineFile is a process's /proc/PID/cmdline held open from its start,
// so that reading its command line at a stop is one pread. The first open
// of a file of a new process's /proc directory costs the kernel 70-140 µs
// here (measured: a pread on a file opened earlier took 30-75 µs, an open
// and read at the moment 100-175 µs); the stop reads the child's command
// line before its first rung. A read after the process execs sees the new
// command line (the file follows the process, not the program); after the
// process is reaped it fails, and a pid used again by another process
// never shows through it. Not safe for concurrent use.
type CmdlineFile struct{ fd int }

// OpenCmdline opens pid's /proc/PID/cmdline; nil when it cannot.
func OpenCmdline(pid int) *CmdlineFile {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/cmdline", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return &CmdlineFile{fd: fd}
}

// Argv reads the command line as it is now; nil when it cannot.
func (f *CmdlineFile) Argv() []string {
	if f == nil {
		return nil
	}
	b, err := preadAll(f.fd)
	if err != nil {
		return nil
	}
	return splitCmdline(b)
}

// Close closes the file; a nil CmdlineFile is fine.
func (f *CmdlineFile) Close() {
	if f != nil {
		unix.Close(f.fd)
	}
}

// FileID names a file: its device and inode.
type FileID struct{ Dev, Ino uint64 }

// Exe is the identity of the program pid runs (the file /proc/PID/exe
// names); false when it cannot be read. It changes when the process
// execs another program, and not when the process rewrites its title.
func Exe(pid int) (FileID, bool) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st); err != nil {
		return FileID{}, false
	}
	return FileID{Dev: st.Dev, Ino: st.Ino}, true
}

// Children lists the pids whose parent is pid, from one pass over /proc.
func Children(pid int) []int {
	all, err := Snapshot()
	if err != nil {
		return nil
	}
	var out []int
	for _, p := range all {
		if p.PPID == pid {
			out = append(out, p.PID)
		}
	}
	return out
}

// LookupEnv reads one variable from a process's environment as it
// started (/proc/PID/environ, at most 64 KiB), and whether it is set;
// unset when unreadable. Only the named variable is returned:
// environments hold secrets.
func LookupEnv(pid int, name string) (string, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Mount is one line of /proc/PID/mountinfo (proc(5): "ID PARENT MAJ:MIN
// ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER"), its paths
// unescaped.
type Mount struct {
	// Root is the directory of the filesystem mounted there ("/", or a
	// subtree: a bind mount's source, a container's cgroup).
	Root string
	// Point is where it is mounted.
	Point string
	// Type and Source are the filesystem's type and source.
	Type, Source string
	// Super are its super options (for cgroup v1, the controllers).
	Super []string
}

// ParseMountinfo reads the text of /proc/PID/mountinfo, the one reader of
// that format: the cgroup v1 memory mounts and the container a pod's
// termination-log mount names are both found with it. A line that does
// not parse is skipped.
func ParseMountinfo(text string) []Mount {
	var out []Mount
	for _, line := range strings.Split(text, "\n") {
		before, after, found := strings.Cut(line, " - ")
		f, tail := strings.Fields(before), strings.Fields(after)
		if !found || len(f) < 5 || len(tail) < 3 {
			continue
		}
		out = append(out, Mount{Root: unescapeMount(f[3]), Point: unescapeMount(f[4]), Type: tail[0], Source: unescapeMount(tail[1]),
			Super: strings.Split(tail[2], ",")})
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline
// and backslash (\040, \011, \012, \134).
func unescapeMount(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Mountinfo is the text of /proc/self/mountinfo: the calling process's
// mounts; "" when it cannot be read.
func Mountinfo() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	return string(b)
}

// IgnoredAtStart reads which signals the calling process ignores now
// (the SigIgn mask of /proc/self/status), as a set. Read before any
// signal.Notify, it tells which signals supervise was started with
// ignored, for those the Go runtime has not taken over by then (HUP, INT,
// TTIN, TTOU, TSTP and the other signals it leaves alone until asked).
func IgnoredAtStart() map[unix.Signal]bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	out := map[unix.Signal]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(l, "SigIgn:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil
		}
		for s := unix.Signal(1); s <= 64; s++ {
			if mask&(1<<(s-1)) != 0 {
				out[s] = true
			}
		}
	}
	return out
}
