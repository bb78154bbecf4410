package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// health: /livez throughput and latency under load, /metrics scrape time,
// and the whole cost of one `supervise check` process. Only supervise has
// these; the peers' columns say n/a.
func (b *bench) health() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	in := initSpec{name: "supervise", argv: []string{b.sup, "--listen", addr, "--"}}
	s := b.launch(in, b.helperArgv("idle"))
	defer s.kill()
	waitUp(addr)

	// Load: 8 keep-alive clients for 3 s (1 s in a quick run).
	const clients = 8
	dur := 3 * time.Second
	if *quick {
		dur = time.Second
	}
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			var mine []float64
			for time.Now().Before(stop) {
				t0 := time.Now()
				resp, err := c.Get("http://" + addr + "/livez")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, us(time.Since(t0)))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.table.add(fmt.Sprintf("/livez requests per second (%d keep-alive clients, %s)", clients, dur), "req/s", false, goal{}, map[string]float64{"supervise": float64(len(lat)) / dur.Seconds()})
	b.table.add("/livez latency p99 under that load", "us", true, goal{}, map[string]float64{"supervise": percentile(lat, 0.99)})

	var scrape []float64
	for i := 0; i < 10**rounds; i++ {
		t0 := time.Now()
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		scrape = append(scrape, ms(time.Since(t0)))
	}
	b.table.add("/metrics scrape", "ms, median", true, goal{}, map[string]float64{"supervise": median(scrape)})

	// Peak RSS through /usr/bin/time, a small C parent: a child of this Go
	// program would report this program's own RSS as its peak (the kernel
	// keeps the pre-exec high-water mark of a vfork child).
	var wall, rss []float64
	for i := 0; i < 10**rounds; i++ {
		cmd := exec.Command("/usr/bin/time", "-f", "%M", b.sup, "check", "--listen", addr)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("supervise check: %v: %s", err, stderr.String()))
		}
		wall = append(wall, ms(time.Since(t0)))
		lines := strings.Fields(stderr.String())
		if kib, err := strconv.ParseFloat(lines[len(lines)-1], 64); err == nil {
			rss = append(rss, kib/1024)
		}
	}
	b.table.add("one `supervise check` process, wall time (vs cardfloor start + exit)", "ms, median", true, goal{card: 1.2},
		map[string]float64{"supervise": median(wall), "cardfloor": b.startMS})
	b.table.add("one `supervise check` process, peak RSS", "MiB, median", true, goal{max: 10, hasMax: true}, map[string]float64{"supervise": median(rss)})
}

func waitUp(addr string) {
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fatal(fmt.Errorf("health server at %s never came up", addr))
}
