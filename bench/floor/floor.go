// Package floor is the least a Go init of this design can be, for make
// bench to measure supervise against: fork and exec one child, forward
// every signal to it with signal.Notify, reap with wait4, exit with the
// child's status. Nothing else: no ladder, no health server, no logging.
//
// Two programs run it. gofloor is the Go runtime alone; cardfloor adds
// blank imports of the libraries supervise links, so the difference
// between cardfloor and supervise is supervise's own.
package floor

import (
	"os"
	"os/signal"
	"syscall"
)

// Main runs argv as the child and returns the exit status.
func Main(argv []string) int {
	if len(argv) == 0 {
		os.Stderr.WriteString("usage: floor COMMAND [ARG...]\n")
		return 2
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	path := argv[0]
	if p, err := lookPath(path); err == nil {
		path = p
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		os.Stderr.WriteString("floor: " + err.Error() + "\n")
		return 127
	}
	for s := range sigs {
		sig := s.(syscall.Signal)
		if sig != syscall.SIGCHLD && sig != syscall.SIGURG {
			syscall.Kill(pid, sig)
			continue
		}
		for {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 0
}

func lookPath(name string) (string, error) {
	for _, dir := range []string{"/usr/local/bin", "/usr/bin", "/bin"} {
		if st, err := os.Stat(dir + "/" + name); err == nil && !st.IsDir() {
			return dir + "/" + name, nil
		}
	}
	return "", os.ErrNotExist
}
