package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// idle: every init (and supervise with its health server on) sits idle at
// once for a window; context switches per second, RSS, PSS, binary size.
func (b *bench) idle() {
	window := 10 * time.Second
	if *quick {
		window = 3 * time.Second
	}
	specs := append([]initSpec{}, b.inits...)
	specs = append(specs, initSpec{name: "supervise+http", argv: []string{b.sup, "--listen", "127.0.0.1:0", "--"}})
	running := map[string]*started{}
	for _, in := range specs {
		running[in.name] = b.launch(in, b.helperArgv("idle"))
	}
	time.Sleep(500 * time.Millisecond) // let start-up settle
	before := map[string]int{}
	for name, s := range running {
		before[name] = switches(s.init)
	}
	time.Sleep(window)
	wake, rss, pss, size := map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
	anon, file := map[string]float64{}, map[string]float64{}
	for _, in := range specs {
		s := running[in.name]
		wake[in.name] = float64(switches(s.init)-before[in.name]) / window.Seconds()
		m := rollup(s.init)
		rss[in.name], pss[in.name] = m.rss/1024, m.pss/1024
		anon[in.name], file[in.name] = m.anon/1024, (m.rss-m.anon)/1024
		s.kill()
		if path, err := lookBinary(in.argv[0]); err == nil {
			if st, err := os.Stat(path); err == nil {
				size[in.name] = float64(st.Size()) / (1 << 20)
			}
		}
	}
	httpRSS, httpWake := rss["supervise+http"], wake["supervise+http"]
	for _, m := range []map[string]float64{rss, pss, wake, size, anon, file} {
		delete(m, "supervise+http") // it has rows of its own
	}
	b.table.add(fmt.Sprintf("idle wakeups, context switches over %s", window), "per s", true, goal{max: 0, hasMax: true}, wake)
	b.table.add("  supervise with the health server on", "per s", true, goal{max: 0, hasMax: true}, map[string]float64{"supervise": httpWake})
	b.table.add("idle RSS", "MiB", true, goal{card: 1.20}, rss)
	b.table.add("  supervise with the health server on (vs cardfloor idle)", "MiB", true, goal{card: 1.20},
		map[string]float64{"supervise": httpRSS, "cardfloor": rss["cardfloor"]})
	// RSS in two parts. Anonymous memory is what the program allocates
	// (heap, stacks, runtime). The file-backed part is the binary's pages
	// mapped so far: the kernel maps a 64 KiB window around each page
	// first touched, so this part moves with where code and tables fall
	// in the binary, by a few hundred KiB from one build to the next
	// (BENCHMARKS.md), while nothing that runs has changed.
	b.table.add("  of which anonymous (heap, stacks, runtime)", "MiB", true, goal{}, anon)
	b.table.add("  of which the binary's pages (file-backed)", "MiB", true, goal{}, file)
	b.table.add("idle PSS", "MiB", true, goal{}, pss)
	b.table.add("binary size on disk", "MiB", true, goal{card: 1.30}, size)
}

// switches sums voluntary and involuntary context switches of all threads.
func switches(pid int) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	n := 0
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(strings.SplitN(l, ":", 2)[0], "ctxt_switches") {
				v, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(l, ":", 2)[1]))
				n += v
			}
		}
	}
	return n
}

// memory is a process's smaps_rollup figures, in KiB.
type memory struct{ rss, pss, anon float64 }

// rollup reads Rss, Pss and Anonymous (KiB) from smaps_rollup.
func rollup(pid int) memory {
	var m memory
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "Rss:":
			m.rss = v
		case "Pss:":
			m.pss = v
		case "Anonymous:":
			m.anon = v
		}
	}
	return m
}

func lookBinary(name string) (string, error) {
	if strings.Contains(name, "/") {
		return filepath.EvalSymlinks(name)
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return filepath.EvalSymlinks(p)
		}
	}
	return "", os.ErrNotExist
}
