package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/supervise/supervise/internal/proctree"
)

// started is an init running a helper, with the helper's output.
type started struct {
	cmd  *exec.Cmd
	out  *bufio.Reader
	init int // the init's pid as the host sees it
}

// launch starts argv under the init as PID 1 and waits for "ready".
func (b *bench) launch(in initSpec, argv []string) *started {
	cmd := nsCmd(append(append([]string{}, in.argv...), argv...)...)
	r, w, err := os.Pipe()
	if err != nil {
		fatal(err)
	}
	cmd.Stdout = w
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	w.Close()
	s := &started{cmd: cmd, out: bufio.NewReader(r)}
	s.init = childOf(cmd.Process.Pid)
	if line, err := s.out.ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready") {
		fatal(fmt.Errorf("%s: helper did not start: %q %v", in.name, line, err))
	}
	return s
}

// childOf waits for the only child of pid (unshare's child: the init).
func childOf(pid int) int {
	for i := 0; i < 5000; i++ {
		if c := proctree.Children(pid); len(c) > 0 {
			return c[0]
		}
		time.Sleep(time.Millisecond)
	}
	fatal(fmt.Errorf("no child of %d", pid))
	return 0
}

func (s *started) kill() {
	syscall.Kill(s.init, syscall.SIGKILL)
	s.cmd.Wait()
}

// startup: INIT -- /bin/true, start to exit, against the bare command.
func (b *bench) startup() {
	n := *rounds * 8
	samples := map[string][]float64{}
	for i := 0; i < n; i++ {
		for _, in := range append(b.order(i), initSpec{name: "bare"}) {
			cmd := nsCmd(append(append([]string{}, in.argv...), "/bin/true")...)
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				fatal(fmt.Errorf("%s -- /bin/true: %v", in.name, err))
			}
			samples[in.name] = append(samples[in.name], ms(time.Since(t0)))
		}
	}
	bare := median(samples["bare"])
	total, over := map[string]float64{}, map[string]float64{}
	for _, in := range b.inits {
		total[in.name] = median(samples[in.name])
		over[in.name] = total[in.name] - bare
	}
	b.table.add(fmt.Sprintf("start-up + exit, INIT -- /bin/true in a new PID namespace (bare: %.2f ms)", bare), "ms, median", true, goal{card: 1.10}, total)
	b.table.add("  overhead over the bare command", "ms", true, goal{}, over)
	b.startMS = total["cardfloor"]
}

// stopLatency: SIGTERM to the init until the child has it (it writes a
// byte to its stdout at once), and until the init exits; the child exits
// on TERM.
func (b *bench) stopLatency() {
	first, exit := map[string][]float64{}, map[string][]float64{}
	for i := 0; i < *rounds*4; i++ {
		for _, in := range b.order(i) {
			s := b.launch(in, b.helperArgv("termack"))
			t0 := time.Now()
			syscall.Kill(s.init, syscall.SIGTERM)
			if _, err := s.out.ReadByte(); err != nil {
				fatal(fmt.Errorf("%s: the child never had TERM: %v", in.name, err))
			}
			first[in.name] = append(first[in.name], us(time.Since(t0)))
			s.cmd.Wait()
			exit[in.name] = append(exit[in.name], ms(time.Since(t0)))
		}
	}
	b.table.add("first rung, SIGTERM to the child having it", "µs, median", true, goal{card: 1.15}, medians(first))
	b.table.add("stop latency, SIGTERM to exit (child exits on TERM)", "ms, median", true, goal{card: 1.15}, medians(exit))
}

// forwarding: send USR1 to the init, the child acks on its stdout.
func (b *bench) forwarding() {
	per := 2000 / *rounds
	samples := map[string][]float64{}
	for i := 0; i < *rounds; i++ {
		for _, in := range b.order(i) {
			s := b.launch(in, b.helperArgv("ack"))
			for j := 0; j < per; j++ {
				t0 := time.Now()
				syscall.Kill(s.init, syscall.SIGUSR1)
				if _, err := s.out.ReadByte(); err != nil {
					fatal(fmt.Errorf("%s: no ack: %v", in.name, err))
				}
				samples[in.name] = append(samples[in.name], us(time.Since(t0)))
			}
			s.kill()
		}
	}
	p := func(q float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range samples {
			out[k] = percentile(v, q)
		}
		return out
	}
	b.table.add(fmt.Sprintf("signal forwarding latency p50 (%d signals)", per**rounds), "us", true, goal{}, p(0.5))
	b.table.add("signal forwarding latency p99", "us", true, goal{gofloor: 1.0}, p(0.99))
	b.table.add("signal forwarding latency max", "us", true, goal{}, p(1))
}

// reaping: a storm of orphans; time until 0 zombies, peak zombies.
func (b *bench) reaping() {
	total := 20000
	if *quick {
		total = 3000
	}
	times, waits, peaks := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for i := 0; i < max(1, *rounds/2); i++ {
		for _, in := range b.order(i) {
			s := b.launch(in, b.helperArgv("storm", strconv.Itoa(total), "2500"))
			line, err := s.out.ReadString('\n')
			if err != nil {
				fatal(fmt.Errorf("%s: storm: %v", in.name, err))
			}
			var ms, wait, peak float64
			fmt.Sscanf(line, "storm ms=%g wait=%g peak=%g", &ms, &wait, &peak)
			times[in.name] = append(times[in.name], ms)
			waits[in.name] = append(waits[in.name], wait)
			peaks[in.name] = append(peaks[in.name], peak)
			s.kill()
		}
	}
	b.table.add(fmt.Sprintf("zombie storm, %d orphans in bursts of 2500: reaping, each burst of zombies orphaned to 0 left, summed", total),
		"ms, median", true, goal{peer: 1.0}, medians(waits))
	b.table.add("  the whole storm, forking included", "ms, median", true, goal{}, medians(times))
	b.table.add("  peak zombies seen", "count, median", true, goal{}, medians(peaks))
}

func medians(samples map[string][]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range samples {
		out[k] = median(v)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
