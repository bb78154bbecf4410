//go:build soak

package e2e

import (
	"fmt"
	"math/rand"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// soakWorker is one worker of the soak under supervise as PID 1, started
// again after each stop.
type soakWorker struct {
	name  string
	grace time.Duration
	start func() *proc

	mu sync.Mutex
	p  *proc
}

// rungLateness is how late each rung after the first came against its
// plan, over every stop of the soak.
type rungLateness struct {
	mu     sync.Mutex
	d      []time.Duration
	drains []time.Duration
}

func (r *rungLateness) add(d time.Duration) { r.mu.Lock(); r.d = append(r.d, d); r.mu.Unlock() }

func (r *rungLateness) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	quantiles := func(d []time.Duration) string {
		d = append([]time.Duration{}, d...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		q := func(f float64) time.Duration { return d[min(len(d)-1, int(f*float64(len(d))))] }
		return fmt.Sprintf("p50 %s, p99 %s, max %s", q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond),
			d[len(d)-1].Round(time.Microsecond))
	}
	out := "no stop needed a rung after the first"
	if len(r.d) > 0 {
		out = fmt.Sprintf("%d rungs after the first: lateness against plan %s", len(r.d), quantiles(r.d))
	}
	if len(r.drains) > 0 {
		out += fmt.Sprintf("; %d drains (stop signal to exit): %s", len(r.drains), quantiles(r.drains))
	}
	return out
}

var (
	ladderRe = regexp.MustCompile(`msg="stop requested: starting the stop ladder".* ladder=(\S+)`)
	rungRe   = regexp.MustCompile(`msg="stop rung: [^"]*" rung=(\d+)/\d+ .*since_stop=(\S+) cause="(?:drain deadline|the previous rung)`)
)

// plannedRungs reads a ladder string ("TERM,7.5s,TERM,1.5s,KILL") into
// the time each rung is due after the stop signal.
func plannedRungs(ladder string) []time.Duration {
	var out []time.Duration
	var at time.Duration
	for i, part := range strings.Split(ladder, ",") {
		if i%2 == 0 {
			out = append(out, at)
		} else if d, err := time.ParseDuration(part); err == nil {
			at += d
		}
	}
	return out
}

// restoredRe is Celery's line for the cut tasks it gives back to the queue
// (kombu/transport/virtual/base.py QoS.restore_unacked).
var restoredRe = regexp.MustCompile(`Restoring (\d+) unacknowledged message`)

var drainRe = regexp.MustCompile(`msg="child stopped" .*drain=(\S+)`)

// measure adds the lateness of each deadline rung of one stop's log, and
// its drain (stop signal to the child's exit).
func (r *rungLateness) measure(t *testing.T, out string) {
	if m := drainRe.FindStringSubmatch(out); m != nil {
		if d, err := time.ParseDuration(m[1]); err == nil {
			r.mu.Lock()
			r.drains = append(r.drains, d)
			r.mu.Unlock()
		}
	}
	m := ladderRe.FindStringSubmatch(out)
	if m == nil {
		return
	}
	plan := plannedRungs(m[1])
	for _, rm := range rungRe.FindAllStringSubmatch(out, -1) {
		i, _ := strconv.Atoi(rm[1])
		got, err := time.ParseDuration(rm[2])
		if err != nil || i-1 >= len(plan) {
			continue
		}
		r.add(got - plan[i-1])
	}
}

// soakSeconds draws a job's length: mostly short jobs, a fifth of 1-8 s,
// and one in ten longer than any drain of the soak (15-40 s, against
// drains of 6-27.5 s), so a share of the stops cut running work.
func soakSeconds(rng *rand.Rand) string {
	switch n := rng.Intn(10); {
	case n == 0:
		return fmt.Sprintf("%.2f", 15+rng.Float64()*25)
	case n <= 2:
		return fmt.Sprintf("%.2f", 1+rng.Float64()*7)
	default:
		return fmt.Sprintf("%.2f", 0.05+rng.Float64()*0.95)
	}
}

// TestSoak runs the workers users run, at the scale they run them: eight
// real RQ 2.10 workers (redis-py 7) against one Redis, two Celery 5.6
// workers (prefork, task_acks_late) against another, and a real Huey
// consumer with threads and one with processes against SQLite, each under
// its own supervise as PID 1; 1,100 jobs of 0.05-40 s, a tenth of them
// longer than any drain; 60 stops and restarts at random moments, at grace
// periods of 10 s and 30 s. Every stop must end with the worker's own exit
// (status 0), never supervise's KILL. At the end every job is accounted
// for: finished, cut and recorded (left in one of RQ's registries, given
// back to Celery's queue, recorded by Huey's interrupted signal), or still
// queued. Nothing vanishes, and no supervise is outlived by a process of
// its tree (p.exit fails the test when one holds its output).
func TestSoak(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	rq := latestRQ(t, redisServer(t))
	celeryRel := celeryReleases()[1]
	celeryRel.Skip(t)
	cel := newCelery(t, celeryRel, redisServer(t))

	var rqSecs []string
	for i := 0; i < 800; i++ {
		rqSecs = append(rqSecs, soakSeconds(rng))
	}
	var rqIDs []string
	for i := 0; i < len(rqSecs); i += 200 {
		rqIDs = append(rqIDs, rq.enqueue(rqSecs[i:min(i+200, len(rqSecs))]...)...)
	}
	var celerySecs []string
	for i := 0; i < 100; i++ {
		celerySecs = append(celerySecs, soakSeconds(rng))
	}
	celeryIDs := cel.send(celerySecs...)

	hueys := map[string]*hueyApp{}
	hueyTags := map[string][]string{}
	for _, kind := range []string{"thread", "process"} {
		h := newHueyApp(t)
		hueys[kind] = h
		var pairs []string
		for i := 0; i < 100; i++ {
			tag := fmt.Sprintf("%s%03d", kind, i)
			hueyTags[kind] = append(hueyTags[kind], tag)
			pairs = append(pairs, tag, soakSeconds(rng))
		}
		h.enqueue(pairs...)
	}

	graces := []time.Duration{10 * time.Second, 30 * time.Second}
	var workers []*soakWorker
	for i := 0; i < 8; i++ {
		w := &soakWorker{name: fmt.Sprintf("rq%d", i), grace: graces[i%2]}
		g := w.grace
		w.start = func() *proc {
			p := start(t, options{env: rq.env()}, append([]string{"--listen", "off", "--grace-period", g.String(), "--"}, rq.worker()...)...)
			p.waitFor(`Listening on default`, 30*time.Second)
			return p
		}
		workers = append(workers, w)
	}
	for i := 0; i < 2; i++ {
		w := &soakWorker{name: fmt.Sprintf("celery%d", i), grace: graces[i%2]}
		g, name := w.grace, w.name
		w.start = func() *proc {
			argv := append(append([]string{"--listen", "off", "--grace-period", g.String(), "--"}, cel.worker()...), "-n", name+"@%h")
			p := start(t, options{env: cel.env}, argv...)
			p.waitFor(`@\S+ ready\.`, 30*time.Second)
			return p
		}
		workers = append(workers, w)
	}
	for i, kind := range []string{"thread", "process"} {
		h, k := hueys[kind], kind
		w := &soakWorker{name: "huey-" + kind, grace: graces[i]}
		g := w.grace
		w.start = func() *proc { return h.consumer(k, 2, "--grace-period", g.String()) }
		workers = append(workers, w)
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.p = w.start() }()
	}
	wg.Wait()

	// 60 stops and restarts, two at a time, of workers picked at random,
	// each at a random moment.
	late := &rungLateness{}
	var stopsMu sync.Mutex
	outcomes := map[string]int{}
	stops := make(chan int, 60)
	for i := 0; i < 60; i++ {
		stops <- i
	}
	close(stops)
	var picks sync.Mutex
	stop := func(w *soakWorker) {
		w.p.signal(syscall.SIGTERM)
		code := w.p.exit(w.grace + 10*time.Second)
		out := w.p.output()
		late.measure(t, out)
		outcome := "?"
		if m := regexp.MustCompile(`msg="child stopped".* outcome=(\w+)`).FindStringSubmatch(out); m != nil {
			outcome = m[1]
		}
		kind := strings.TrimRight(w.name, "0123456789")
		stopsMu.Lock()
		outcomes[kind+" "+outcome]++
		for _, m := range restoredRe.FindAllStringSubmatch(out, -1) {
			n, _ := strconv.Atoi(m[1])
			outcomes["celery messages restored"] += n
		}
		stopsMu.Unlock()
		if (code != 0 && !rqIdleStopRace(w.p, code)) || outcome == "killed" {
			t.Errorf("%s: exit status %d after a stop (outcome %s): the worker did not end by itself", w.name, code, outcome)
		}
	}
	t0 := time.Now()
	for s := 0; s < 2; s++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for range stops {
				var w *soakWorker
				for w == nil {
					picks.Lock()
					w = workers[rng.Intn(len(workers))]
					picks.Unlock()
					if !w.mu.TryLock() {
						w = nil // the other stopper has it: pick again
					}
				}
				time.Sleep(time.Duration(200+r.Intn(3000)) * time.Millisecond)
				stop(w)
				w.p = w.start()
				w.mu.Unlock()
			}
		}(int64(s))
	}
	wg.Wait()
	stopped := time.Since(t0)

	// Let the workers finish what is queued, then stop them all.
	deadline := time.Now().Add(10 * time.Minute)
	for {
		queued := 0
		for _, s := range rq.states(rqIDs) {
			if s.status == "queued" {
				queued++
			}
		}
		for _, l := range cel.tool(append([]string{"where"}, celeryIDs...)...) {
			if strings.Fields(l)[1] == "queued" {
				queued++
			}
		}
		for _, h := range hueys {
			if p := h.tool("pending"); p != "" {
				queued += len(strings.Fields(p))
			}
		}
		if queued == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); stop(w) }()
	}
	wg.Wait()

	// Account for every job.
	rqCounts := map[string]int{}
	for _, s := range rq.states(rqIDs) {
		rqCounts[s.status+"/"+s.where]++
		if s.status == "missing" || s.where == "nowhere" {
			t.Errorf("RQ job %s vanished: %+v", s.id, s)
		}
	}
	celeryCounts := map[string]int{}
	for _, l := range cel.tool(append([]string{"where"}, celeryIDs...)...) {
		f := strings.Fields(l)
		celeryCounts[f[1]+"/"+f[2]]++
		// unacked: taken by a worker that is gone, given back only after
		// the broker's visibility timeout (an hour): as good as lost.
		if f[1] == "nowhere" || f[1] == "unacked" {
			t.Errorf("Celery task %s vanished: %s", f[0], l)
		}
	}
	hueyCounts := map[string]int{}
	for kind, h := range hueys {
		pending := map[string]bool{}
		for _, tag := range strings.Fields(h.tool("pending")) {
			pending[tag] = true
		}
		for _, tag := range hueyTags[kind] {
			switch {
			case h.has("finished", tag):
				hueyCounts[kind+" finished"]++
			case h.has("interrupted", tag):
				hueyCounts[kind+" interrupted and recorded"]++
			case pending[tag]:
				hueyCounts[kind+" queued"]++
			default:
				t.Errorf("Huey task %s vanished (started: %v)", tag, h.has("started", tag))
			}
		}
	}
	t.Logf("60 stops and restarts in %s, then a stop of each worker; outcomes by worker: %v", stopped.Round(time.Second), outcomes)
	t.Logf("RQ 2.10, 800 jobs (status/registry): %v", rqCounts)
	t.Logf("Celery 5.6, 100 tasks (place/state): %v", celeryCounts)
	t.Logf("Huey 3.3, 2 x 100 tasks: %v", hueyCounts)
	t.Logf("stop timings: %s", late.summary())
}
