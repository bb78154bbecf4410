package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/supervise/supervise/internal/cgroup"
)

// memoryCollector reports the cgroup's memory at scrape time.
type memoryCollector struct {
	mem                cgroup.Memory
	usage, limit, ooms *prometheus.Desc
	errors             prometheus.Counter // a cgroup file could not be read
}

func newMemoryCollector(mem cgroup.Memory, errors prometheus.Counter) *memoryCollector {
	v := prometheus.Labels{"cgroup_version": map[cgroup.Version]string{cgroup.V1: "1", cgroup.V2: "2"}[mem.Version]}
	name := func(n string) string { return prometheus.BuildFQName(ns, "cgroup", n) }
	return &memoryCollector{
		mem:   mem,
		usage: prometheus.NewDesc(name("memory_usage_bytes"), "Memory use of supervise's cgroup (memory.current or memory.usage_in_bytes).", nil, v),
		limit: prometheus.NewDesc(name("memory_limit_bytes"), "Memory limit that applies to the cgroup: the smallest memory.max "+
			"of it and the cgroups above it (v2), or memory.limit_in_bytes (v1); absent when unlimited.", nil, v),
		ooms: prometheus.NewDesc(name("oom_kills_total"), "OOM kills the kernel counted in the cgroup (memory.events or "+
			"memory.oom_control oom_kill). Under memory.oom.group = 1 one group kill counts the process that set it off "+
			"twice (two processes read as 3).", nil, v),
		errors: errors,
	}
}

func (c *memoryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.usage
	ch <- c.limit
	ch <- c.ooms
}

func (c *memoryCollector) Collect(ch chan<- prometheus.Metric) {
	// Usage and the OOM count always exist when the cgroup's version is
	// known; the limit is absent when unlimited, which is no error.
	if n, ok := c.mem.Usage(); ok {
		ch <- prometheus.MustNewConstMetric(c.usage, prometheus.GaugeValue, float64(n))
	} else {
		c.errors.Inc()
	}
	if n, _, ok := c.mem.Limit(); ok {
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(n))
	}
	if n, ok := c.mem.OOMKills(); ok {
		ch <- prometheus.MustNewConstMetric(c.ooms, prometheus.CounterValue, float64(n))
	} else {
		c.errors.Inc()
	}
}
