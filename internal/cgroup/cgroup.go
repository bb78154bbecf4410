// Package cgroup reads the memory accounting of the cgroup supervise runs
// in: usage, limit and OOM kills, from cgroup v2 (memory.current,
// memory.max, memory.events) or v1 (memory.usage_in_bytes,
// memory.limit_in_bytes, memory.oom_control).
//
// A Memory value is safe for concurrent use; every call reads the files
// afresh (a few small reads, no caching).
package cgroup

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/supervise/supervise/internal/proctree"
)

// Version is the cgroup hierarchy a Memory reads.
type Version int

// The cgroup versions.
const (
	None Version = iota
	V1
	V2
)

// Memory reads one cgroup's memory files.
type Memory struct {
	Version Version
	// Dir is the directory whose files are read: supervise's cgroup, or
	// on v2 the nearest cgroup above it that accounts memory, when its own
	// does not (Note says so). E.g. /sys/fs/cgroup/memory/docker/abc.
	Dir string
	// Root is the hierarchy as this process sees it (/sys/fs/cgroup, or
	// /sys/fs/cgroup/memory on v1): limits are looked for from Dir up to
	// it, no further.
	Root string
	// Note, when set, is one line for the start-up log: which cgroup's
	// accounting is read and why, or why there is none and what that
	// costs.
	Note string
	// NamespaceRoot is true when Dir is the root of a cgroup namespace
	// (v2: /proc/self/cgroup says "0::/" and that cgroup accounts memory,
	// which the hierarchy's true root never does), as Docker and
	// containerd run containers: a limit set above it, a pod's or a
	// slice's, applies but cannot be read from here.
	NamespaceRoot bool
}

// unlimited is the smallest value v1 uses for "no limit" (it reports
// PAGE_COUNTER_MAX pages, rounded, near 2^63).
const unlimited = 1 << 62

// Detect finds the memory cgroup of the calling process under root
// (normally /sys/fs/cgroup) from /proc/self/cgroup, and checks that the
// files it will read are there.
//
// On v2 a cgroup whose parent does not enable the memory controller for
// it has no memory.current (rootless Podman without memory delegation);
// then the nearest cgroup above it that has one is read, as far up as the
// hierarchy shows (its usage includes this one's). A cgroup namespace
// whose /sys/fs/cgroup is the whole hierarchy (mounted before the
// namespace) shows the process at "/", the root cgroup, which accounts no
// memory. Where no cgroup can be read, Version is None and Note says why.
func Detect(root string) Memory {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Memory{}
	}
	return detect(root, string(b), proctree.Mountinfo)
}

// detect is Detect with /proc/self/cgroup's text, and mountinfo giving
// /proc/self/mountinfo's, read only when root/memory is not the v1
// memory hierarchy.
func detect(root, procCgroup string, mountinfo func() string) Memory {
	v1, v2 := ParseProcCgroup(procCgroup)
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil && v2 != "" {
		own := filepath.Join(root, v2)
		for dir := own; ; dir = filepath.Dir(dir) {
			if has(dir, "memory.current") {
				m := Memory{Version: V2, Dir: dir, Root: root, NamespaceRoot: dir == root}
				if dir != own {
					m.Note = "memory accounting from " + dir + ", the nearest cgroup above supervise's " + own +
						" that has it: the memory controller is not enabled for " + own
				}
				return m
			}
			if dir == root || !strings.HasPrefix(dir, root) {
				break
			}
		}
		why := "the memory controller is not enabled for it or any cgroup above it (rootless without memory delegation?)"
		if own == root {
			why = "supervise's cgroup shows as the hierarchy's root, which accounts no memory: a cgroup namespace " +
				"whose " + root + " was mounted outside it shows the whole hierarchy"
		}
		return Memory{Note: "no memory accounting: " + own + "/memory.current is missing, " + why +
			"; no memory metrics, and an OOM kill of the child is reported as a KILL"}
	}
	if v1 != "" {
		mroot := filepath.Join(root, "memory")
		dir := filepath.Join(mroot, v1)
		if !has(mroot, "memory.usage_in_bytes") {
			// The memory controller mounted with others ("cpu,memory")
			// and no "memory" link to it: its mount point is in
			// mountinfo, and supervise's cgroup under it is the path
			// /proc/self/cgroup gives less the mount's own root.
			// mountinfo also lists mounts hidden under later ones: the
			// one whose files can be read is the one.
			for _, m := range MemoryMountsV1(mountinfo()) {
				if !has(m.At, "memory.usage_in_bytes") {
					continue
				}
				mroot, dir = m.At, filepath.Join(m.At, v1)
				if r, ok := strings.CutPrefix(v1, m.Root); ok && (m.Root == "/" || r == "" || r[0] == '/') {
					dir = filepath.Join(m.At, r)
				}
				break
			}
		}
		if has(dir, "memory.usage_in_bytes") {
			return Memory{Version: V1, Dir: dir, Root: mroot}
		}
		// Inside a cgroup namespace the path may not exist as printed.
		if has(mroot, "memory.usage_in_bytes") {
			return Memory{Version: V1, Dir: mroot, Root: mroot}
		}
		return Memory{Note: "no memory accounting: " + dir + "/memory.usage_in_bytes is missing" +
			"; no memory metrics, and an OOM kill of the child is reported as a KILL"}
	}
	return Memory{Note: "no memory cgroup in /proc/self/cgroup: no memory metrics, and an OOM kill of the child is reported as a KILL"}
}

func has(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// MountV1 is a mount of a cgroup v1 hierarchy: its mount point, and the
// cgroup at the mount's root ("/" unless a container was given a
// subtree).
type MountV1 struct{ At, Root string }

// MemoryMountsV1 lists the mounts of the cgroup v1 hierarchy that holds the
// memory controller in the text of /proc/PID/mountinfo (proc(5): "ID
// PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE
// SUPER"): those of type cgroup whose super options name memory, in
// mountinfo's order, unescaped. Mounts hidden under later ones are listed
// too.
func MemoryMountsV1(mountinfo string) []MountV1 {
	var out []MountV1
	for _, m := range proctree.ParseMountinfo(mountinfo) {
		if m.Type == "cgroup" && slices.Contains(m.Super, "memory") {
			out = append(out, MountV1{At: m.Point, Root: m.Root})
		}
	}
	return out
}

// ParseProcCgroup reads /proc/PID/cgroup and returns the v1 memory
// controller's path and the v2 unified path ("" when absent).
func ParseProcCgroup(text string) (v1, v2 string) {
	for _, line := range strings.Split(text, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1 = parts[2]
			}
		}
	}
	return v1, v2
}

// Usage is the cgroup's memory use in bytes.
func (m Memory) Usage() (uint64, bool) {
	switch m.Version {
	case V2:
		return readUint(filepath.Join(m.Dir, "memory.current"))
	case V1:
		return readUint(filepath.Join(m.Dir, "memory.usage_in_bytes"))
	}
	return 0, false
}

// LimitText says the memory limit that applies, for the OOM diagnosis
// and the stop report: "67108864 bytes (64.0 MiB), set by DIR"; or, when
// none can be read, "none", or inside a cgroup namespace, that none is
// visible and one above the namespace may be what was hit.
func (m Memory) LimitText() string {
	if n, from, ok := m.Limit(); ok {
		return fmt.Sprintf("%d bytes (%.1f MiB), set by %s", n, float64(n)/(1<<20), from)
	}
	if m.NamespaceRoot {
		return "none visible: supervise is at the root of a cgroup namespace, and a limit set above it " +
			"(a pod's or a slice's) applies but cannot be read from here"
	}
	return "none"
}

// Limit is the memory limit that applies to the cgroup, in bytes, and the
// cgroup that sets it; false when there is none. On v2 that is the
// smallest memory.max of the cgroup and every cgroup above it that the
// hierarchy shows (a pod's or a slice's limit applies to its containers
// too); on v1 the cgroup's own memory.limit_in_bytes.
func (m Memory) Limit() (uint64, string, bool) {
	switch m.Version {
	case V2:
		var best uint64
		from := ""
		for dir := m.Dir; ; dir = filepath.Dir(dir) {
			// "max" fails to parse: no limit there.
			if n, ok := readUint(filepath.Join(dir, "memory.max")); ok && (from == "" || n < best) {
				best, from = n, dir
			}
			if m.Root == "" || dir == m.Root || !strings.HasPrefix(dir, m.Root) || dir == filepath.Dir(dir) {
				break
			}
		}
		return best, from, from != ""
	case V1:
		n, ok := readUint(filepath.Join(m.Dir, "memory.limit_in_bytes"))
		if !ok || n >= unlimited {
			return 0, "", false
		}
		return n, m.Dir, true
	}
	return 0, "", false
}

// OOMGroup reports whether the cgroup kills as a group (v2
// memory.oom.group = 1, which the kubelet sets on every container's cgroup
// since Kubernetes 1.28): one OOM kill then ends every process of the
// cgroup, supervise included, before it can log a word.
func (m Memory) OOMGroup() bool {
	if m.Version != V2 {
		return false
	}
	n, ok := readUint(filepath.Join(m.Dir, "memory.oom.group"))
	return ok && n == 1
}

// OOMGroupWarning is what supervise says at start, and supervise plan
// among its warnings, of a cgroup that kills as a group.
func (m Memory) OOMGroupWarning() string {
	return "memory.oom.group is 1 in " + m.Dir + " (the kubelet sets it on cgroup v2 since Kubernetes 1.28): " +
		"an OOM kill ends every process of the container, supervise included, so supervise cannot report it; " +
		"the kubelet's OOMKilled reason is the record. For supervise's diagnosis, run the kubelet with " +
		"singleProcessOOMKill: true (Kubernetes 1.32)"
}

// Warnings are what the cgroup gives to say at start and in supervise
// plan: no memory accounting, and a cgroup that kills as a group.
func (m Memory) Warnings() []string {
	var out []string
	if m.Version == None && m.Note != "" {
		out = append(out, m.Note)
	}
	if m.OOMGroup() {
		out = append(out, m.OOMGroupWarning())
	}
	return out
}

// OOMKills is the number of processes the OOM killer has killed in the
// cgroup (v2 memory.events oom_kill; v1 memory.oom_control oom_kill,
// kernel 4.13 and later).
func (m Memory) OOMKills() (uint64, bool) {
	var file string
	switch m.Version {
	case V2:
		file = "memory.events"
	case V1:
		file = "memory.oom_control"
	default:
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(m.Dir, file))
	if err != nil {
		return 0, false
	}
	n, ok := ParseKeyValues(string(b))["oom_kill"]
	return n, ok
}

// ParseKeyValues reads "key value" lines of unsigned numbers, as in
// memory.events, memory.oom_control and memory.stat. Malformed lines are
// skipped.
func ParseKeyValues(text string) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = n
		}
	}
	return out
}

func readUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
