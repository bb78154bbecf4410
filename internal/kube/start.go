package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// The modes of --grace-from-api: auto reads the pod when supervise runs in
// one, on insists on it, off never asks.
const (
	ModeAuto = "auto"
	ModeOn   = "on"
	ModeOff  = "off"
)

// ParseMode reads a --grace-from-api value; empty is auto.
func ParseMode(text string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(text)); m {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeOn, ModeOff:
		return m, nil
	}
	return "", errors.New("want auto, on or off")
}

// Start is what supervise learns of its pod at start: the pod to ask at
// each stop (nil when it cannot be asked) and what its spec says.
type Start struct {
	Pod  *Pod
	Spec Spec
}

// Open finds the pod as mode says (ParseMode), with the service account in
// dir and container, when not empty, naming supervise's container in a pod
// of several. It is nil when mode is off, or auto outside a pod. In a pod
// it reads the spec once (ReadSpec). A pod that cannot be found still
// gives a Start, with a warning and no pod, so the stop plans without it
// and says why.
func Open(mode string, getenv func(string) string, dir, container string) *Start {
	if mode == ModeOff {
		return nil
	}
	pod, err := InCluster(getenv, dir)
	switch {
	case errors.Is(err, ErrNotInPod) && mode == ModeAuto:
		return nil
	case err != nil:
		return &Start{Spec: Spec{Warnings: []string{"the Kubernetes API cannot be asked (" + err.Error() + "): " + NoAPIAdvice}}}
	}
	if name := strings.TrimSpace(container); name != "" {
		pod.Container = name
	}
	return &Start{Pod: pod, Spec: pod.ReadSpec()}
}

// Apply puts the pod's plan into cfg: the spec's deadline becomes the grace
// period the ladder is planned in (a grace period given as graceOption
// that differs gets a warning: the pod spec is what the kubelet goes by),
// the container's stop signal starts a stop, and each stop asks the API
// again (GraceSource, told of the probes supervise answered). It returns
// the warnings for the log or plan's output.
func (s *Start) Apply(cfg *supervisor.Config, graceOption string, probes *Probes) []string {
	warns := s.Spec.Warnings
	if s.Pod != nil {
		cfg.GraceSource = GraceSource{Pod: s.Pod, Probes: probes, KubeletGrace: cfg.KubeletStopGrace}
	}
	if d := s.Spec.Deadline; d.After > 0 {
		grace := ladder.AtLeastMinGrace(d.After)
		if cfg.Budget.Grace > 0 && cfg.Budget.Grace != grace {
			warns = append(warns, fmt.Sprintf("%s is %s, but the kubelet's SIGKILL comes %s after its stop signal (%s): "+
				"planning with %s; remove %s, or set it to %s", graceOption, cfg.Budget.Grace, grace, d.From,
				grace, graceOption, grace))
		}
		cfg.Budget.Grace, cfg.GraceFrom, cfg.Kubelet = grace, "the pod spec: "+d.From, true
	}
	if s.Spec.StopSignal != 0 {
		cfg.StopSignals = append(cfg.StopSignals, s.Spec.StopSignal)
	}
	return warns
}

// Log logs warns, and what supervise learned of its pod at start and
// plans for the kubelet's own stops (cfg.KubeletStopGrace), to cfg.Log.
func (s *Start) Log(cfg *supervisor.Config, warns []string) {
	for _, w := range warns {
		cfg.Log.Warn(w)
	}
	if s.Pod == nil {
		return
	}
	container := s.Pod.Container
	if container == "" {
		container = "unset"
	}
	attrs := []any{"pod", s.Pod.Namespace + "/" + s.Pod.Name, "container", container, "api", s.Pod.Addr}
	if d := s.Spec.Deadline; d.After > 0 {
		attrs = append(attrs, "kill_after", d.After.String(), "from", d.From)
	}
	if s.Spec.StopSignal != 0 {
		attrs = append(attrs, "stop_signal", signals.Name(s.Spec.StopSignal))
	}
	// What the API never announces: the kubelet's own stops.
	if g := cfg.KubeletStopGrace; g > 0 {
		attrs = append(attrs, "kubelet_own_stops", "--kubelet-stop-grace "+g.String())
	} else {
		attrs = append(attrs, "kubelet_own_stops", "the pod's grace (evictions and node shutdowns give less: set --kubelet-stop-grace)")
	}
	cfg.Log.Info("Kubernetes: the ladder is planned to end before the kubelet's SIGKILL; each stop reads the pod again for its own deadline", attrs...)
}

// GraceSource asks the Kubernetes API, at each stop, when the kubelet's
// SIGKILL comes (Pod.StopDeadlineNow), telling it what supervise knows of
// the stop that the pod does not: the probes it answered and
// --kubelet-stop-grace.
type GraceSource struct {
	Pod          *Pod
	Probes       *Probes // nil: no health server
	KubeletGrace time.Duration
}

// Name implements supervisor.GraceSource.
func (g GraceSource) Name() string { return "the Kubernetes API" }

// StopGrace implements supervisor.GraceSource.
func (g GraceSource) StopGrace(ctx context.Context, stopAt time.Time) (supervisor.Grace, error) {
	own := g.Probes.Own()
	own.KubeletGrace = g.KubeletGrace
	d, warn, err := g.Pod.StopDeadlineNow(ctx, stopAt, own)
	return supervisor.Grace{Period: d.After, From: d.From, Warning: warn}, err
}

// Prober is the health server as the kubelet's probes met it.
type Prober interface {
	// KubeletProbe is when the kubelet last probed liveness, and whether
	// the answer was 200; zero when it never did.
	KubeletProbe() (time.Time, bool)
}

// Probes tells a stop's deadline rule how supervise answered the kubelet's
// probes. It is filled in once the health server listens, before the child
// starts, and read at the stops; a nil or empty Probes says no server.
type Probes struct {
	server Prober
	port   int
}

// Listening records the health server and the address it listens on.
func (p *Probes) Listening(server Prober, addr net.Addr) {
	if a, ok := addr.(*net.TCPAddr); ok {
		p.server, p.port = server, a.Port
	}
}

// Own is what the probes say of a stop.
func (p *Probes) Own() Own {
	if p == nil || p.server == nil {
		return Own{}
	}
	at, ok := p.server.KubeletProbe()
	return Own{Port: p.port, ProbedAt: at, ProbeOK: ok}
}
