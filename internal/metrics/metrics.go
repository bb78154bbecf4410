// Package metrics holds supervise's Prometheus metrics: counters and
// gauges the supervisor loop updates through its Hooks (each update is an
// atomic operation, so the loop never waits), and collectors that read the
// child's process tree and the cgroup's memory when /metrics is scraped.
//
// Names follow the Prometheus conventions: prefix supervise_, base units,
// _total for counters. No label ever carries a command line or an
// environment value.
package metrics

import (
	"bytes"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

const ns = "supervise"

// Metrics is the registry and every metric in it. Its methods are safe for
// concurrent use and never block.
type Metrics struct {
	reg *prometheus.Registry

	childUp       prometheus.Gauge
	childStarts   prometheus.Counter
	childExitCode prometheus.Gauge
	draining      prometheus.Gauge
	received      *prometheus.CounterVec
	forwarded     *prometheus.CounterVec
	reaped        prometheus.Counter
	rung          prometheus.Gauge
	stopStarted   prometheus.Gauge
	stopKillAt    prometheus.Gauge
	rungsSent     *prometheus.CounterVec
	drainSeconds  prometheus.Gauge
	shutdowns     *prometheus.CounterVec
	checkUp       *prometheus.GaugeVec
	checkSeconds  *prometheus.GaugeVec
	collectorErrs *prometheus.CounterVec
}

// Build is what supervise_build_info says of the binary.
type Build struct {
	Version, Revision, GoVersion string
}

// New builds the metrics in a private registry, with the Go and process
// collectors for supervise itself, the process tree below supervise, and
// the cgroup's memory (mem.Version None leaves those out).
func New(mem cgroup.Memory, build Build) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
		Help: "1, labelled with the version and revision supervise was built from and the Go that built it."},
		[]string{"version", "revision", "goversion"})
	info.WithLabelValues(build.Version, build.Revision, build.GoVersion).Set(1)
	f(info)
	m.childUp = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "child_up",
		Help: "1 while the main child runs, 0 otherwise."})
	m.childStarts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "child_starts_total",
		Help: "Times the main child was started, restarts included."})
	m.childExitCode = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "child_last_exit_code",
		Help: "Exit status of the last child as supervise reports it (128+N for signal N); -1 before any exit."})
	m.childExitCode.Set(-1)
	m.draining = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "draining",
		Help: "1 from the first stop signal on."})
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "signals_received_total",
		Help: "Signals supervise received, by signal name."}, []string{"signal"})
	m.forwarded = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "signals_forwarded_total",
		Help: "Signals forwarded to the child (after --rewrite), by signal name."}, []string{"signal"})
	m.reaped = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "zombies_reaped_total",
		Help: "Exited processes reaped, the main child and helpers included."})
	m.rung = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "stop_rung",
		Help: "Stop ladder rung reached (1 = first); 0 before any stop."})
	m.stopStarted = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "stop_started_timestamp_seconds",
		Help: "When the stop under way began (Unix time); 0 before any stop. time() minus it is the time since the stop."})
	m.stopKillAt = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "stop_kill_planned_timestamp_seconds",
		Help: "When the stop's KILL rung is planned (Unix time); 0 before any stop and while the stop has no deadline."})
	m.rungsSent = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "stop_rungs_sent_total",
		Help: "Stop ladder rungs sent, by rung number and signal."}, []string{"rung", "signal"})
	m.drainSeconds = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "stop_drain_seconds",
		Help: "Time from the stop signal to the child's exit, for the last stop."})
	m.shutdowns = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "shutdowns_total",
		Help: "Stops by outcome: graceful (first rung sufficed), escalated (a later rung), killed (SIGKILL)."}, []string{"outcome"})
	for _, o := range []string{supervisor.OutcomeGraceful, supervisor.OutcomeEscalated, supervisor.OutcomeKilled} {
		m.shutdowns.WithLabelValues(o)
	}
	m.checkUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "check_up",
		Help: "1 when the health check passed last time, by check name."}, []string{"check"})
	m.checkSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "check_duration_seconds",
		Help: "How long the check took last time, by check name."}, []string{"check"})
	for _, c := range []prometheus.Collector{m.childUp, m.childStarts, m.childExitCode, m.draining, m.received,
		m.forwarded, m.reaped, m.rung, m.stopStarted, m.stopKillAt, m.rungsSent, m.drainSeconds, m.shutdowns, m.checkUp,
		m.checkSeconds} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.collectorErrs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "collector_errors_total",
		Help: "Reads a collector could not make at scrape time (/proc for tree, the cgroup's memory files for cgroup)."}, []string{"collector"})
	f(m.collectorErrs)
	f(newTreeCollector(m.collectorErrs.WithLabelValues("tree")))
	if mem.Version != cgroup.None {
		f(newMemoryCollector(mem, m.collectorErrs.WithLabelValues("cgroup")))
	}
	return m
}

// Text gathers the registry and renders it in the Prometheus text format
// (version 0.0.4). Safe for concurrent use.
func (m *Metrics) Text() ([]byte, error) {
	mfs, err := m.reg.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// SignalReceived counts a received signal.
func (m *Metrics) SignalReceived(s syscall.Signal) { m.received.WithLabelValues(signals.Name(s)).Inc() }

// SignalForwarded counts a forwarded signal.
func (m *Metrics) SignalForwarded(s syscall.Signal) {
	m.forwarded.WithLabelValues(signals.Name(s)).Inc()
}

// Reaped counts n reaped processes.
func (m *Metrics) Reaped(n int) { m.reaped.Add(float64(n)) }

// ChildStarted marks the child up and counts the start.
func (m *Metrics) ChildStarted() { m.childUp.Set(1); m.childStarts.Inc() }

// ChildExited marks the child down with its exit status.
func (m *Metrics) ChildExited(code int) { m.childUp.Set(0); m.childExitCode.Set(float64(code)) }

// Rung records a stop ladder rung (index from 0).
func (m *Metrics) Rung(index int, s syscall.Signal) {
	m.rung.Set(float64(index + 1))
	m.rungsSent.WithLabelValues(strconv.Itoa(index+1), signals.Name(s)).Inc()
}

// Stopped records how a stop ended.
func (m *Metrics) Stopped(outcome string, drain time.Duration) {
	m.shutdowns.WithLabelValues(outcome).Inc()
	m.drainSeconds.Set(drain.Seconds())
}

// Draining marks the start of a stop, before the first rung.
func (m *Metrics) Draining() { m.draining.Set(1) }

// StopPlanned records when the stop began and when its KILL is planned.
func (m *Metrics) StopPlanned(stopAt, killAt time.Time) {
	m.stopStarted.Set(unixSeconds(stopAt))
	m.stopKillAt.Set(unixSeconds(killAt))
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// HeartbeatAge exports the heartbeat's age, as age reports it at scrape
// time (false: none to report), as supervise_heartbeat_age_seconds.
func (m *Metrics) HeartbeatAge(age func() (time.Duration, bool)) {
	m.reg.MustRegister(heartbeatCollector{age: age, desc: prometheus.NewDesc(prometheus.BuildFQName(ns, "heartbeat", "age_seconds"),
		"Time since the heartbeat file was last modified (since the child started while it was never written).", nil, nil)})
}

// heartbeatCollector reports the heartbeat's age when there is one.
type heartbeatCollector struct {
	age  func() (time.Duration, bool)
	desc *prometheus.Desc
}

func (c heartbeatCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c heartbeatCollector) Collect(ch chan<- prometheus.Metric) {
	if a, ok := c.age(); ok {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, a.Seconds())
	}
}

// Check records a health check's result.
func (m *Metrics) Check(name string, ok bool, took time.Duration) {
	v := 0.0
	if ok {
		v = 1
	}
	m.checkUp.WithLabelValues(name).Set(v)
	m.checkSeconds.WithLabelValues(name).Set(took.Seconds())
}
