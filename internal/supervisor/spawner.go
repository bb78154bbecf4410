package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spawner runs short helper commands (the --health-cmd) for other
// goroutines. The loop starts and reaps them, so wait4 keeps its one owner
// and a helper's status is never taken by the general reaper. Create it
// with NewSpawner, pass it in Config.Spawner; Run is safe for concurrent use.
type Spawner struct {
	reqs chan *spawnReq
	done chan struct{}
}

// NewSpawner returns a Spawner for one Run.
func NewSpawner() *Spawner {
	return &Spawner{reqs: make(chan *spawnReq), done: make(chan struct{})}
}

// SpawnResult is how a helper command ended.
type SpawnResult struct {
	Status unix.WaitStatus
	// Output is the start of what it wrote to stdout and stderr.
	Output string
}

type spawnReq struct {
	argv    []string
	out     *os.File
	started chan error
	pid     int // set by the loop when started
	exited  chan unix.WaitStatus
	kill    *spawnReq // when set, this request asks to kill that one
}

// maxOutput bounds what Run keeps of a helper's output.
const maxOutput = 4096

// Run starts argv (no shell), waits for it to exit, and returns its status
// and output. When ctx ends first, the helper's process group is killed and
// Run returns ctx's error. It blocks; it returns an error at once if the
// supervisor has finished.
func (s *Spawner) Run(ctx context.Context, argv []string) (SpawnResult, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return SpawnResult{}, err
	}
	defer r.Close()
	req := &spawnReq{argv: argv, out: w, started: make(chan error, 1), exited: make(chan unix.WaitStatus, 1)}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		w.Close()
		return SpawnResult{}, ctx.Err()
	case <-s.done:
		w.Close()
		return SpawnResult{}, errors.New("supervisor has finished")
	}
	err = <-req.started
	w.Close()
	if err != nil {
		return SpawnResult{}, err
	}
	output := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, maxOutput))
		output <- string(b)
	}()
	var ws unix.WaitStatus
	select {
	case ws = <-req.exited:
	case <-ctx.Done():
		select {
		case s.reqs <- &spawnReq{kill: req}:
		case <-s.done:
		}
		r.SetReadDeadline(time.Now())
		return SpawnResult{}, ctx.Err()
	case <-s.done:
		return SpawnResult{}, errors.New("supervisor has finished")
	}
	// Grandchildren may hold the pipe open: do not wait for them.
	r.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	return SpawnResult{Status: ws, Output: <-output}, nil
}

// spawn serves one request on the loop.
func (l *loop) spawn(req *spawnReq) {
	if req.kill != nil {
		if _, ok := l.aux[req.kill.pid]; ok {
			unix.Kill(-req.kill.pid, unix.SIGKILL)
		}
		return
	}
	if !l.m.acceptsHelpers() {
		req.started <- errors.New("supervise is exiting")
		return
	}
	path, err := lookPath(req.argv[0], l.cfg.Env)
	if err != nil {
		req.started <- err
		return
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		req.started <- err
		return
	}
	defer devnull.Close()
	pid, err := syscall.ForkExec(path, req.argv, &syscall.ProcAttr{
		Env:   l.cfg.Env,
		Files: []uintptr{devnull.Fd(), req.out.Fd(), req.out.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Credential: l.cfg.Credential},
	})
	if err != nil {
		req.started <- execError(req.argv[0], err)
		return
	}
	req.pid = pid
	l.aux[pid] = req
	req.started <- nil
}

// auxExited hands a helper's status to its requester; false if pid is not
// a helper.
func (l *loop) auxExited(pid int, ws unix.WaitStatus) bool {
	req, ok := l.aux[pid]
	if !ok {
		return false
	}
	delete(l.aux, pid)
	req.exited <- ws
	return true
}
