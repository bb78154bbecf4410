// Command bench measures supervise side by side with tini, dumb-init and
// catatonit, and with the Go floors of its design (gofloor: the Go runtime
// alone; cardfloor: that plus the libraries supervise links), in one run,
// interleaved with the start order rotated every round, each init as PID 1
// of a new PID namespace. It prints one table of medians with ratios to the
// best C peer and to cardfloor, and the goals met and missed.
//
//	bench -supervise bin/supervise -gofloor bin/gofloor -cardfloor bin/cardfloor [-rounds N] [-quick]
//
// The children are this program re-executed as helpers ("bench helper
// NAME"). The machine is small and noisy: every figure is a median over
// interleaved rounds, and the ratios matter more than absolute times.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// initSpec is one init under test: how to run a command under it.
type initSpec struct {
	name string
	argv []string // prefix; the command follows
	peer bool     // a C peer
}

var (
	superviseBin = flag.String("supervise", "bin/supervise", "the supervise binary to measure")
	gofloorBin   = flag.String("gofloor", "bin/gofloor", "the Go runtime floor (bench/floor/gofloor)")
	cardBin      = flag.String("cardfloor", "bin/cardfloor", "the floor with supervise's libraries (bench/floor/cardfloor)")
	rounds       = flag.Int("rounds", 5, "interleaved rounds per measure (the start-up measure runs 8x as many)")
	quick        = flag.Bool("quick", false, "a smoke run of about 30 s: 2 rounds, small storms, short windows")
	extra        = flag.String("extra", "", "extra supervise options for the measures, space-separated (experiments)")
	only         = flag.String("only", "", "run only these measures, comma-separated: start,stop,forward,reap,idle,health")
	before       = flag.String("before", "", "another supervise build, measured beside this one in the same run (a before and after)")
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "helper" {
		os.Exit(runHelper(os.Args[2], os.Args[3:]))
	}
	flag.Parse()
	if *quick {
		*rounds = 2
	}
	self, _ := os.Executable()
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			fatal(err)
		}
		return a
	}
	sup := abs(*superviseBin)
	inits := []initSpec{
		{name: "supervise", argv: append(append([]string{sup, "--listen", "off"}, strings.Fields(*extra)...), "--")},
		{name: "cardfloor", argv: []string{abs(*cardBin)}},
		{name: "gofloor", argv: []string{abs(*gofloorBin)}},
		{name: "tini", argv: []string{"tini", "--"}, peer: true},
		{name: "dumb-init", argv: []string{"dumb-init", "--"}, peer: true},
		{name: "catatonit", argv: []string{"catatonit", "--"}, peer: true},
	}
	if *before != "" {
		inits = append(inits, initSpec{name: "before", argv: append(append([]string{abs(*before), "--listen", "off"}, strings.Fields(*extra)...), "--")})
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
	measures := []struct {
		name string
		run  func()
	}{{"start", b.startup}, {"stop", b.stopLatency}, {"forward", b.forwarding}, {"reap", b.reaping}, {"idle", b.idle}, {"health", b.health}}
	for _, m := range measures {
		if *only == "" || strings.Contains(","+*only+",", ","+m.name+",") {
			m.run()
		}
	}
	b.table.print(os.Stdout)
	host, _ := os.Hostname()
	out, _ := exec.Command(sup, "version").Output()
	fmt.Printf("\n%s; %d rounds, %s, %d CPUs, %s, %s, host %s, %s, took %s\n", strings.TrimSpace(string(out)), *rounds, runtime.Version(),
		runtime.NumCPU(), cpuModel(), kernel(), host, time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second))
}

// bench holds what every measure needs.
type bench struct {
	self, sup string
	inits     []initSpec
	table     *table
	startMS   float64 // cardfloor's start + exit, for the check goal
}

// order returns the inits for round i, rotated by i so that every init
// runs in every position equally often: interleaved runs cancel slow
// drifts of the machine, and rotation cancels any advantage of going
// first or last.
func (b *bench) order(i int) []initSpec {
	n := len(b.inits)
	out := make([]initSpec, n)
	for j := range out {
		out[j] = b.inits[(i+j)%n]
	}
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

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(b))
}
