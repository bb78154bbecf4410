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
	case "spawn": // start N short processes and exit: they become orphans
		n, _ := strconv.Atoi(args[0])
		attr := &os.ProcAttr{Files: []*os.File{nil, nil, nil}}
		for i := 0; i < n; i++ {
			if _, err := os.StartProcess("/bin/true", []string{"true"}, attr); err != nil {
				return 1
			}
		}
		return 0
	}
	return 2
}

// storm makes total orphans in bursts, never more than burst outstanding,
// and reports how long until none is left unreaped and the peak seen.
func storm(total, burst int) int {
	self, _ := os.Executable()
	os.Stdout.WriteString("ready\n")
	peak := 0
	t0 := time.Now()
	for made := 0; made < total; made += burst {
		n := min(burst, total-made)
		p, err := os.StartProcess(self, []string{self, "helper", "spawn", strconv.Itoa(n)},
			&os.ProcAttr{Files: []*os.File{nil, nil, os.Stderr}})
		if err != nil {
			return 1
		}
		p.Wait()
		for {
			z := zombies()
			peak = max(peak, z)
			if z == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Printf("storm ms=%.1f peak=%d\n", float64(time.Since(t0))/1e6, peak)
	select {}
}

// zombies counts processes in state Z in this PID namespace's /proc.
func zombies() int {
	procs, _ := proctree.Snapshot()
	n := 0
	for _, p := range procs {
		if p.State == "Z" {
			n++
		}
	}
	return n
}
