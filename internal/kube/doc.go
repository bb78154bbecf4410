// Package kube asks the Kubernetes API server for the grace period of the
// pod supervise runs in, at the moment a stop arrives.
//
// Neither Docker nor Kubernetes tells a container its grace period, but
// Kubernetes records it on the pod: once a pod is being deleted,
// metadata.deletionGracePeriodSeconds holds the grace the kubelet will
// honour, including a `kubectl delete --grace-period=N` that overrides
// the spec. A container restarted without a deletion (a failed liveness
// probe) gets the spec's terminationGracePeriodSeconds.
//
// The request is one GET of the pod with the service account's token,
// over TLS with the mounted CA, written by hand on crypto/tls: linking
// net/http's client or client-go for a single GET would add megabytes to
// an init binary. Everything is bounded by the caller's context.
package kube
