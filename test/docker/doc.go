// Package docker tests examples/ against a real Docker engine: the RQ
// compose stack is built from images made here (a debootstrapped Debian
// root filesystem with python3-rq and redis-server, imported once and
// cached), started, loaded with jobs and stopped with Docker's default
// stop signal, and every job is counted afterwards.
//
// The Docker tests carry the build tag "docker" (make e2e-docker) and skip
// with the reason when no engine answers. The Kubernetes manifest checks
// need no engine and run with every go test.
package docker
