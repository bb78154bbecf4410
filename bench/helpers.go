package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/supervise/supervise/internal/proctree"
)

// runHelper runs this program as a child for a measure.
func runHelper(name string, args []string) int {
	switch name {
	case "term": // exit at once on TERM
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		os.Stdout.WriteString("ready\n")
		<-sigs
		return 0
	case "termack": // one byte on stdout when TERM comes, then exit
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		os.Stdout.WriteString("ready\n")
		<-sigs
		os.Stdout.Write([]byte{'t'})
		return 0
	case "ack": // one byte on stdout per USR1
		sigs := make(chan os.Signal, 64)
		signal.Notify(sigs, syscall.SIGUSR1)
		os.Stdout.WriteString("ready\n")
		for range sigs {
			os.Stdout.Write([]byte{'a'})
		}
	case "idle":
		os.Stdout.WriteString("ready\n")
		select {}
	case "storm":
		total, _ := strconv.Atoi(args[0])
		burst, _ := strconv.Atoi(args[1])
		return storm(total, burst)
	case "spawn": // start N short processes, wait until all have exited, then exit: N zombies become orphans at once
		n, _ := strconv.Atoi(args[0])
		attr := &os.ProcAttr{Files: []*os.File{nil, nil, nil}}
		pids := make([]int, 0, n)
		for i := 0; i < n; i++ {
			p, err := os.StartProcess("/bin/true", []string{"true"}, attr)
			if err != nil {
				return 1
			}
			pids = append(pids, p.Pid)
		}
		for _, pid := range pids {
			for proctree.State(pid) != "Z" {
				time.Sleep(100 * time.Microsecond)
			}
		}
		return 0
	}
	return 2
}

// storm makes total orphans in bursts, never more than burst outstanding,
// and reports the whole time, the time the init took to reap each burst
// (the burst's processes have all exited when their parent exits, so from
// that moment to no zombie left is reaping alone; the rest is forking, the
// same under every init), and the peak of zombies seen.
func storm(total, burst int) int {
	self, _ := os.Executable()
	os.Stdout.WriteString("ready\n")
	peak := 0
	var wait time.Duration
	t0 := time.Now()
	for made := 0; made < total; made += burst {
		n := min(burst, total-made)
		p, err := os.StartProcess(self, []string{self, "helper", "spawn", strconv.Itoa(n)},
			&os.ProcAttr{Files: []*os.File{nil, nil, os.Stderr}})
		if err != nil {
			return 1
		}
		p.Wait()
		w0 := time.Now()
		for {
			z := zombies()
			peak = max(peak, z)
			if z == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		wait += time.Since(w0)
	}
	fmt.Printf("storm ms=%.1f wait=%.1f peak=%d\n", float64(time.Since(t0))/1e6, float64(wait)/1e6, peak)
	select {}
}

// zombies counts processes in state Z in this PID namespace's /proc. It
// reads each process's state alone (proctree.State): a full snapshot per
// poll would be slower than the reaping it measures.
func zombies() int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && proctree.State(pid) == "Z" {
			n++
		}
	}
	return n
}
