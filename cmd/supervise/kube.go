package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/health"
	"github.com/supervise/supervise/internal/kube"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// podGrace asks the Kubernetes API, at each stop, when the kubelet's
// SIGKILL comes (kube.Pod.StopDeadlineNow); own says what supervise knows
// of the stop that the pod does not.
type podGrace struct {
	pod *kube.Pod
	own func() kube.Own
}

// Name implements supervisor.GraceSource.
func (g podGrace) Name() string { return "the Kubernetes API" }

// StopGrace implements supervisor.GraceSource.
func (g podGrace) StopGrace(ctx context.Context, stopAt time.Time) (supervisor.Grace, error) {
	d, warn, err := g.pod.StopDeadlineNow(ctx, stopAt, g.own())
	return supervisor.Grace{Period: d.After, From: d.From, Warning: warn}, err
}

// probeView tells a stop's deadline rule how supervise answered the
// kubelet's probes: it is filled in once the health server listens, before
// the child starts, and read at the stops.
type probeView struct {
	server *health.Server
	port   int
}

// listening records the health server, if it listens.
func (v *probeView) listening(hp *healthParts) {
	if hp.server == nil || hp.ln == nil {
		return
	}
	if a, ok := hp.ln.Addr().(*net.TCPAddr); ok {
		v.server, v.port = hp.server, a.Port
	}
}

func (v *probeView) own() kube.Own {
	if v.server == nil {
		return kube.Own{}
	}
	at, ok := v.server.KubeletProbe()
	return kube.Own{Port: v.port, ProbedAt: at, ProbeOK: ok}
}

// kubePlan is the pod supervise runs in, what its spec says before any
// stop, and --kubelet-stop-grace (apply sets it from the Config).
type kubePlan struct {
	pod          *kube.Pod
	spec         kube.Spec
	kubeletGrace time.Duration
}

// readPod reads --grace-from-api: auto (the default) reads the pod when
// supervise runs in one, on insists on it, off never asks. In a pod it
// reads the spec once (kube.Pod.ReadSpec); the pod is nil outside one or
// when off. A pod that cannot be read still returns the pod, so each stop
// asks again.
func (in input) readPod() (*kubePlan, error) {
	mode := strings.ToLower(strings.TrimSpace(in.c.String("grace-from-api")))
	switch mode {
	case "off":
		return nil, nil
	case "", "auto", "on":
	default:
		return nil, usagef("invalid %s %q: want auto, on or off", in.source("grace-from-api"), in.c.String("grace-from-api"))
	}
	pod, err := kube.InCluster(os.Getenv, in.c.String("kube-serviceaccount-dir"))
	switch {
	case errors.Is(err, kube.ErrNotInPod) && mode == "auto":
		return nil, nil
	case err != nil:
		return &kubePlan{spec: kube.Spec{Warnings: []string{"the Kubernetes API cannot be asked (" + err.Error() + "): " + kube.NoAPIAdvice}}}, nil
	}
	if name := strings.TrimSpace(in.c.String("kube-container")); name != "" {
		pod.Container = name
	}
	return &kubePlan{pod: pod, spec: pod.ReadSpec()}, nil
}

// apply puts the pod's plan into cfg: the deadline becomes the grace
// period the ladder is planned in (a SUPERVISE_GRACE_PERIOD that differs
// gets a warning: the pod spec is what the kubelet goes by), the
// container's stop signal starts a stop, and each stop asks the API again,
// telling it how supervise answered the kubelet's probes (own). It
// returns the warnings for the log or plan's output.
func (kp *kubePlan) apply(cfg *supervisor.Config, in input, own func() kube.Own) []string {
	warns := kp.spec.Warnings
	kp.kubeletGrace = cfg.KubeletStopGrace
	if kp.pod != nil {
		cfg.GraceSource = podGrace{pod: kp.pod, own: func() kube.Own {
			o := own()
			o.KubeletGrace = kp.kubeletGrace
			return o
		}}
	}
	if d := kp.spec.Deadline; d.After > 0 {
		grace := ladder.AtLeastMinGrace(d.After)
		if cfg.Budget.Grace > 0 && cfg.Budget.Grace != grace {
			warns = append(warns, fmt.Sprintf("%s is %s, but the kubelet's SIGKILL comes %s after its stop signal (%s): "+
				"planning with %s; remove %s, or set it to %s", in.source("grace-period"), cfg.Budget.Grace, grace, d.From,
				grace, in.source("grace-period"), grace))
		}
		cfg.Budget.Grace, cfg.GraceFrom, cfg.Kubelet = grace, "the pod spec: "+d.From, true
	}
	if kp.spec.StopSignal != 0 {
		cfg.StopSignals = append(cfg.StopSignals, kp.spec.StopSignal)
	}
	return warns
}

// log logs what supervise learned of its pod at start.
func (kp *kubePlan) log(cfg *supervisor.Config, warns []string) {
	for _, w := range warns {
		cfg.Log.Warn(w)
	}
	if kp.pod == nil {
		return
	}
	attrs := []any{"pod", kp.pod.Namespace + "/" + kp.pod.Name, "container", plan.OrUnset(kp.pod.Container), "api", kp.pod.Addr}
	if d := kp.spec.Deadline; d.After > 0 {
		attrs = append(attrs, "kill_after", d.After.String(), "from", d.From)
	}
	if kp.spec.StopSignal != 0 {
		attrs = append(attrs, "stop_signal", signals.Name(kp.spec.StopSignal))
	}
	// What the API never announces: the kubelet's own stops.
	if kp.kubeletGrace > 0 {
		attrs = append(attrs, "kubelet_own_stops", "--kubelet-stop-grace "+kp.kubeletGrace.String())
	} else {
		attrs = append(attrs, "kubelet_own_stops", "the pod's grace (evictions and node shutdowns give less: set --kubelet-stop-grace)")
	}
	cfg.Log.Info("Kubernetes: the ladder is planned to end before the kubelet's SIGKILL; each stop reads the pod again for its own deadline", attrs...)
}
