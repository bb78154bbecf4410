// Package proctree finds the descendants of a process by reading /proc
// (through prometheus/procfs), so supervise can reach processes that left
// the child's process group or session, such as RQ's work-horse.
package proctree

import (
	"github.com/prometheus/procfs"
)

// Proc is one process of a tree, from one read of /proc/PID/stat.
type Proc struct {
	PID   int
	PPID  int
	State string
	// CPU is user plus system time in seconds; RSS is resident bytes.
	CPU float64
	RSS int
}

// Snapshot reads every process visible in /proc. Processes that exit while
// it reads are skipped. It blocks for the time one pass over /proc takes.
func Snapshot() ([]Proc, error) {
	fs, err := procfs.NewDefaultFS()
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
		out = append(out, Proc{PID: st.PID, PPID: st.PPID, State: st.State, CPU: st.CPUTime(), RSS: st.ResidentMemory()})
	}
	return out, nil
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
