package metrics

import (
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/supervise/supervise/internal/proctree"
)

// treeCollector reports the processes below supervise: how many, their
// CPU time and resident memory, read through procfs at scrape time.
type treeCollector struct {
	procs, cpu, rss *prometheus.Desc
	errors          prometheus.Counter // /proc could not be read
}

func newTreeCollector(errors prometheus.Counter) *treeCollector {
	return &treeCollector{
		procs: prometheus.NewDesc(prometheus.BuildFQName(ns, "tree", "processes"), "Processes below supervise (the child and its descendants).", nil, nil),
		cpu: prometheus.NewDesc(prometheus.BuildFQName(ns, "tree", "cpu_seconds_total"),
			"User and system CPU time of the processes below supervise, those that ended included.", nil, nil),
		rss:    prometheus.NewDesc(prometheus.BuildFQName(ns, "tree", "resident_memory_bytes"), "Resident memory of the processes below supervise, summed.", nil, nil),
		errors: errors,
	}
}

func (c *treeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.procs
	ch <- c.cpu
	ch <- c.rss
}

func (c *treeCollector) Collect(ch chan<- prometheus.Metric) {
	all, err := proctree.Snapshot()
	if err != nil {
		c.errors.Inc()
		return
	}
	// The counter is the tree's CPU now plus what supervise has reaped, so
	// it does not drop when a process ends: a process's own figure holds
	// what it reaped, and what supervise reaped is in its cutime. (Only a
	// process auto-reaped by a parent that ignores SIGCHLD is lost.)
	cpu, err := proctree.ReapedCPU()
	if err != nil {
		c.errors.Inc()
	}
	var n, rss int
	for _, p := range proctree.Descendants(all, os.Getpid()) {
		n++
		cpu += p.CPU
		rss += p.RSS
	}
	ch <- prometheus.MustNewConstMetric(c.procs, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, cpu)
	ch <- prometheus.MustNewConstMetric(c.rss, prometheus.GaugeValue, float64(rss))
}
