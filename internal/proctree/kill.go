package proctree

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Leftovers lists the processes below self that are still alive (not
// zombies, not dead). It blocks for one pass over /proc.
func Leftovers(self int) ([]Proc, error) {
	all, err := Snapshot()
	if err != nil {
		return nil, err
	}
	var out []Proc
	for _, p := range Descendants(all, self) {
		if p.State != "Z" && p.State != "X" {
			out = append(out, p)
		}
	}
	return out, nil
}

// KillTree sends sig to every process below self, including those that
// left the child's process group or session (RQ's work-horse). As PID 1
// (pid1) that is kill(-1), which reaches every process in the namespace
// but the caller; it returns -1 then. Otherwise it signals child's process
// group and every process of tree (the leftovers the caller has just
// listed, or nil to list them here), then looks twice more for processes
// forked or re-parented meanwhile, and returns how many it signalled.
func KillTree(sig unix.Signal, self, child int, tree []Proc, pid1 bool) (int, error) {
	if pid1 {
		if err := unix.Kill(-1, sig); err != nil && err != unix.ESRCH {
			return -1, err
		}
		return -1, nil
	}
	// The tree is listed before the first kill: once a parent dies its
	// children are re-parented, and a list taken in that moment can miss
	// them.
	sent := map[int]bool{}
	if tree == nil {
		tree, _ = Leftovers(self)
	}
	if child != 0 && unix.Kill(-child, sig) == nil {
		sent[child] = true
	}
	for pass := 0; pass < 3 && len(tree) > 0; pass++ {
		for _, p := range tree {
			if !sent[p.PID] && unix.Kill(p.PID, sig) == nil {
				sent[p.PID] = true
			}
		}
		now, _ := Leftovers(self)
		var fresh []Proc
		for _, p := range now {
			if !sent[p.PID] {
				fresh = append(fresh, p)
			}
		}
		tree = fresh
	}
	return len(sent), nil
}

// Cwd is the path through which pid's working directory is read.
func Cwd(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/cwd" }
