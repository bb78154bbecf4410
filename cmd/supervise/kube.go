package main

import (
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/supervise/supervise/internal/kube"
	"github.com/supervise/supervise/internal/supervisor"
)

// graceSource reads --grace-from-api: auto (the default) asks the
// Kubernetes API for each stop's grace period when supervise runs in a
// pod, on insists on it, off never asks.
func (in input) graceSource(log *slog.Logger) (supervisor.GraceSource, error) {
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
		log.Warn("grace period from the Kubernetes API is off: "+err.Error(), "grace_from_api", mode)
		return nil, nil
	}
	log.Info("grace period: read from the Kubernetes API at each stop (deletionGracePeriodSeconds)",
		"pod", pod.Namespace+"/"+pod.Name, "api", pod.Addr, "fallback", graceFallback(in))
	return pod, nil
}

func graceFallback(in input) string {
	if g := in.c.String("grace-period"); g != "" {
		return g + " from " + in.source("grace-period")
	}
	return "none (untimed)"
}
