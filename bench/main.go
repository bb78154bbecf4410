// Command bench measures supervise side by side with tini, dumb-init and
// catatonit in one run, interleaved, each init as PID 1 of a new PID
// namespace, and prints one table of medians with ratios to the best peer.
//
//	go run ./bench -supervise bin/supervise [-rounds N] [-quick]
//
// The children are this program re-executed as helpers ("bench helper
// NAME"). The machine is small and noisy: every figure is a median over
// interleaved rounds, and the ratios matter more than absolute times.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// init is one init under test: how to run a command under it.
type initSpec struct {
	name string
	argv []string // prefix; the command follows
	peer bool     // a peer, not supervise
}

var (
	superviseBin = flag.String("supervise", "bin/supervise", "the supervise binary to measure")
	rounds       = flag.Int("rounds", 5, "interleaved rounds per measure (the start-up measure runs 8x as many)")
	quick        = flag.Bool("quick", false, "smaller storms and shorter idle window, for a smoke run")
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "helper" {
		os.Exit(runHelper(os.Args[2], os.Args[3:]))
	}
	flag.Parse()
	self, _ := os.Executable()
	sup, err := filepath.Abs(*superviseBin)
	if err != nil {
		fatal(err)
	}
	inits := []initSpec{
		{name: "supervise", argv: []string{sup, "--listen", "off", "--"}},
		{name: "tini", argv: []string{"tini", "--"}, peer: true},
		{name: "dumb-init", argv: []string{"dumb-init", "--"}, peer: true},
		{name: "catatonit", argv: []string{"catatonit", "--"}, peer: true},
	}
	for _, in := range inits {
		if _, err := exec.LookPath(in.argv[0]); err != nil {
			fatal(fmt.Errorf("%s not found: apt-get install tini dumb-init catatonit, and make build", in.argv[0]))
		}
	}
	if os.Getuid() != 0 {
		fatal(fmt.Errorf("needs root for unshare --pid"))
	}
	b := &bench{self: self, sup: sup, inits: inits, table: newTable(inits)}
	start := time.Now()
	b.startup()
	b.stopLatency()
	b.forwarding()
	b.reaping()
	b.idle()
	b.health()
	b.table.print(os.Stdout)
	host, _ := os.Hostname()
	fmt.Printf("\n%d rounds, %s, %d CPUs, %s, host %s, took %s\n", *rounds, runtime.Version(), runtime.NumCPU(), kernel(), host, time.Since(start).Round(time.Second))
}

// bench holds what every measure needs.
type bench struct {
	self, sup string
	inits     []initSpec
	table     *table
}

// shuffled returns the inits in a random order, for interleaving.
func (b *bench) shuffled() []initSpec {
	out := append([]initSpec{}, b.inits...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// nsCmd runs argv as PID 1 of a new PID namespace.
func nsCmd(argv ...string) *exec.Cmd {
	return exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc"}, argv...)...)
}

// helperArgv is this program as the named helper.
func (b *bench) helperArgv(name string, args ...string) []string {
	return append([]string{b.self, "helper", name}, args...)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(b))
}
