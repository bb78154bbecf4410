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
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// Dir is the cgroup's directory, e.g. /sys/fs/cgroup/memory/docker/abc.
	Dir string
}

// unlimited is the smallest value v1 uses for "no limit" (it reports
// PAGE_COUNTER_MAX pages, rounded, near 2^63).
const unlimited = 1 << 62

// Detect finds the memory cgroup of the calling process under root
// (normally /sys/fs/cgroup) from /proc/self/cgroup.
func Detect(root string) Memory {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Memory{}
	}
	v1, v2 := ParseProcCgroup(string(b))
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil && v2 != "" {
		return Memory{Version: V2, Dir: filepath.Join(root, v2)}
	}
	if v1 != "" {
		dir := filepath.Join(root, "memory", v1)
		if _, err := os.Stat(filepath.Join(dir, "memory.usage_in_bytes")); err == nil {
			return Memory{Version: V1, Dir: dir}
		}
		// Inside a cgroup namespace the path may not exist as printed.
		if _, err := os.Stat(filepath.Join(root, "memory", "memory.usage_in_bytes")); err == nil {
			return Memory{Version: V1, Dir: filepath.Join(root, "memory")}
		}
	}
	return Memory{}
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

// Limit is the cgroup's memory limit in bytes; false when there is none.
func (m Memory) Limit() (uint64, bool) {
	var n uint64
	var ok bool
	switch m.Version {
	case V2:
		n, ok = readUint(filepath.Join(m.Dir, "memory.max")) // "max" fails to parse: no limit
	case V1:
		n, ok = readUint(filepath.Join(m.Dir, "memory.limit_in_bytes"))
	}
	if !ok || n >= unlimited {
		return 0, false
	}
	return n, true
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
