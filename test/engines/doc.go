// Package engines holds the tests of supervise as a container engine's
// own init: a second dockerd of Debian's docker.io, started by the tests
// with its own configuration, data root, exec root (and so its own
// containerd), socket and --init-path naming the binary under test, for
// `docker run --init`, compose's `init: true` and `docker info`/`docker
// version`; and Debian's podman with its own --root and --runroot, for
// `podman run --init --init-path` and --preserve-fds. Nothing of the
// machine's own engines is touched. Build tag engines; `make
// e2e-engines` runs them.
package engines
