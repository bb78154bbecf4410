// Package kube reads the pod supervise runs in from the Kubernetes API
// server, to learn when the kubelet's SIGKILL comes.
//
// Neither Docker nor Kubernetes tells a container its grace period, but
// Kubernetes records what decides it on the pod: the spec's
// terminationGracePeriodSeconds, each container's preStop hook and stop
// signal, and, once the pod is being deleted, the deletion's own grace and
// deletionTimestamp. PodInfo holds those; PlannedDeadline and
// StopDeadline turn them into the time from the kubelet's stop signal to
// its SIGKILL, by the rule their doc comments state.
//
// The request is one GET of the pod with the service account's token,
// over TLS with the mounted CA, written by hand on crypto/tls: linking
// net/http's client or client-go for a single GET would add megabytes to
// an init binary. Everything is bounded by the caller's context.
package kube
