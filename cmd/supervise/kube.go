package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/supervise/supervise/internal/kube"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// startupLookup bounds the GET of the pod at start. The child waits for
// it, so it is short; an API server that does not answer in time only
// costs the start-up plan, never the stop (which asks again).
const startupLookup = time.Second

// podGrace asks the Kubernetes API, at each stop, when the kubelet's
// SIGKILL comes (kube.PodInfo.StopDeadline).
type podGrace struct{ pod *kube.Pod }

// Name implements supervisor.GraceSource.
func (g podGrace) Name() string { return "the Kubernetes API" }

// StopGrace implements supervisor.GraceSource.
func (g podGrace) StopGrace(ctx context.Context, stopAt time.Time) (supervisor.Grace, error) {
	info, rd, err := g.pod.Get(ctx)
	if err != nil {
		return supervisor.Grace{}, err
	}
	rd.Stop = stopAt
	c, warn := info.Container(g.pod.Container)
	d := info.StopDeadline(c, rd)
	return supervisor.Grace{Period: d.After, From: d.From, Warning: joinWarnings(warn, d.Warning)}, nil
}

func joinWarnings(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// kubePlan is what the pod spec says before any stop.
type kubePlan struct {
	pod *kube.Pod
	// deadline is when the kubelet's SIGKILL would come after its stop
	// signal at a deletion with the spec's grace.
	deadline kube.Deadline
	// stopSignal is the container's stop signal when it is not TERM.
	stopSignal syscall.Signal
	// warnings are lines for the log (or plan's Warnings).
	warnings []string
}

// readPod reads --grace-from-api: auto (the default) reads the pod when
// supervise runs in one, on insists on it, off never asks. In a pod it
// GETs the pod once, bounded by startupLookup, for the plan; the pod is
// nil outside one or when off. A pod that cannot be read still returns
// the pod, so each stop asks again.
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
		return &kubePlan{warnings: []string{"the Kubernetes API cannot be asked (" + err.Error() + "): " + noAPIAdvice}}, nil
	}
	if name := strings.TrimSpace(in.c.String("kube-container")); name != "" {
		pod.Container = name
	}
	kp := &kubePlan{pod: pod}
	ctx, cancel := context.WithTimeout(context.Background(), startupLookup)
	defer cancel()
	info, _, err := pod.Get(ctx)
	if err != nil {
		kp.warnings = append(kp.warnings, "cannot read pod "+pod.Namespace+"/"+pod.Name+" at start ("+err.Error()+
			"); each stop asks again; if it fails then too: "+noAPIAdvice)
		return kp, nil
	}
	c, warn := info.Container(pod.Container)
	if warn != "" {
		kp.warnings = append(kp.warnings, warn)
	}
	kp.deadline = info.PlannedDeadline(c)
	if kp.deadline.Warning != "" {
		kp.warnings = append(kp.warnings, kp.deadline.Warning)
	}
	for _, g := range c.ProbeGraces {
		if g < kp.deadline.After {
			kp.warnings = append(kp.warnings, fmt.Sprintf("a restart after a failed liveness or startup probe gets the probe's "+
				"terminationGracePeriodSeconds %s, less than a deletion's %s: supervise tells them apart at the stop by reading the pod; "+
				"if it cannot, it plans with %s", g, kp.deadline.After, kp.deadline.After))
			break
		}
	}
	if c.StopSignal != "" {
		s, err := signals.Parse(c.StopSignal)
		switch {
		case err != nil:
			kp.warnings = append(kp.warnings, fmt.Sprintf("the container's stopSignal %q is not a signal supervise knows: %v", c.StopSignal, err))
		case s != syscall.SIGTERM:
			kp.stopSignal = s
		}
	}
	return kp, nil
}

// noAPIAdvice says what to do when supervise cannot read its pod.
const noAPIAdvice = "set SUPERVISE_GRACE_PERIOD to terminationGracePeriodSeconds minus the preStop hook's time " +
	"(the kubelet takes the hook's time out of the grace, and waits at least 2s after its stop signal), " +
	"or give the pod's service account get on pods"

// apply puts the pod's plan into cfg: the deadline becomes the grace
// period the ladder is planned in (a SUPERVISE_GRACE_PERIOD that differs
// gets a warning: the pod spec is what the kubelet goes by), the
// container's stop signal starts a stop, and each stop asks the API again.
// It returns the warnings for the log or plan's output.
func (kp *kubePlan) apply(cfg *supervisor.Config, in input) []string {
	warns := kp.warnings
	if kp.pod != nil {
		cfg.GraceSource = podGrace{kp.pod}
	}
	if d := kp.deadline; d.After > 0 {
		grace := max(d.After, ladder.MinGrace)
		if cfg.Budget.Grace > 0 && cfg.Budget.Grace != grace {
			warns = append(warns, fmt.Sprintf("%s is %s, but the kubelet's SIGKILL comes %s after its stop signal (%s): "+
				"planning with %s; remove %s, or set it to %s", in.source("grace-period"), cfg.Budget.Grace, grace, d.From,
				grace, in.source("grace-period"), grace))
		}
		cfg.Budget.Grace, cfg.GraceFrom, cfg.Kubelet = grace, "the pod spec: "+d.From, true
	}
	if kp.stopSignal != 0 {
		cfg.StopSignals = append(cfg.StopSignals, kp.stopSignal)
	}
	return warns
}

// logKube logs what supervise learned of its pod at start.
func (kp *kubePlan) log(cfg *supervisor.Config, warns []string) {
	for _, w := range warns {
		cfg.Log.Warn(w)
	}
	if kp.pod == nil {
		return
	}
	attrs := []any{"pod", kp.pod.Namespace + "/" + kp.pod.Name, "container", orUnknown(kp.pod.Container), "api", kp.pod.Addr}
	if kp.deadline.After > 0 {
		attrs = append(attrs, "kill_after", kp.deadline.After.String(), "from", kp.deadline.From)
	}
	if kp.stopSignal != 0 {
		attrs = append(attrs, "stop_signal", signals.Name(kp.stopSignal))
	}
	cfg.Log.Info("Kubernetes: the ladder is planned to end before the kubelet's SIGKILL; each stop reads the pod again for its own deadline", attrs...)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
