# supervise: build, test, fuzz, run the example.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN      := bin/supervise
# urfave_cli_no_docs leaves out urfave/cli's man-page and Markdown
# generators (and their Markdown parser): smaller, faster to start.
TAGS     := urfave_cli_no_docs
# The version and commit are stamped into internal/version.
PKGVERSION := github.com/supervise/supervise/internal/version
LDFLAGS  := -s -w -X $(PKGVERSION).version=$(VERSION) -X $(PKGVERSION).commit=$(shell git rev-parse --short=12 HEAD 2>/dev/null)
# An execution count, not a duration: go1.26's fuzz coordinator can report
# a spurious "context deadline exceeded" when a -fuzztime duration runs out
# mid-execution (golang/go#75804, fixed in go1.27). A count has no deadline.
FUZZTIME ?= 200000x

.PHONY: build release release-check dist dist-check publish actionlint image test test-deps vet fmt-check unit e2e fuzz rules example e2e-docker e2e-engines e2e-swarm e2e-kube e2e-kubelet e2e-prometheus e2e-cgroup2 mutants faults soak bench clean

# The static binary, bin/supervise: a few seconds (about 3 s warm).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags='$(LDFLAGS)' -o $(BIN) ./cmd/supervise

# The other presets' programs, each run under supervise by test/e2e: nginx,
# php-fpm (with cgi-fcgi, a FastCGI client), PostgreSQL, Sidekiq and the
# Ruby that Resque 3.0 (vendored) runs on, gunicorn, uvicorn, and the
# redis-py that Dramatiq 2.2 and arq 0.26 (vendored) use. Declared before
# TEST_DEBS: a := variable expands what is defined above it only.
PROGRAM_DEBS := nginx php8.2-fpm libfcgi-bin postgresql-15 postgresql-client-15 \
	ruby ruby-sidekiq rake ruby-redis ruby-redis-namespace ruby-mono-logger ruby-multi-json \
	gunicorn python3-gunicorn uvicorn python3-uvicorn python3-h11 python3-redis
# Debian packages each suite needs; scripts/need-debs installs the missing
# ones (as root) and says so in one line.
# The vendored RQ 2.10 and Celery 5.6 beside the repository run on Debian's
# python3 with Debian's click, croniter, amqp, dateutil, tzlocal and
# packaging.
TEST_DEBS := redis-server redis-tools python3-rq python3-celery util-linux procps gcc libc6-dev \
	python3-croniter python3-click python3-click-didyoumean python3-click-repl python3-click-plugins \
	python3-amqp python3-dateutil python3-tzlocal python3-packaging $(PROGRAM_DEBS)
# Unpacked for the tests that want it, never installed: setproctitle
# renames every Python worker that can import it.
TEST_UNPACKED := python3-setproctitle
DOCKER_DEBS := debootstrap

# Static binaries for every Linux architecture and SHA256SUMS in dist/:
# about 20 s.
release:
	scripts/release dist

# Each binary runs (foreign ones under qemu-user-static; arm64 also as PID
# 1), and a second build of the commit gives the same bytes.
# 386 runs natively, or, on a kernel without IA32 emulation, in Debian's
# kernel under qemu-system (test/vm). About 75 s.
release-check: release
	@scripts/need-debs qemu-user-static util-linux qemu-system-x86 busybox-static
	scripts/release-check dist

# Everything a release page carries, into dist/: the seven binaries, a
# .deb, .rpm and .apk for each, an SPDX SBOM of each binary, the release
# notes (CHANGELOG.md) and SHA256SUMS. nfpm and syft are Go tools pinned in
# tools/nfpm and tools/syft (their first build takes a few minutes);
# about 70 s after that.
dist:
	scripts/dist dist

# The packages proven: their fields and files (dpkg-deb, rpm -qpi/-qpl,
# tar on the .apk), lintian, the same bytes from a second run, the amd64
# .deb installed with dpkg into a Debian root filesystem where a real RQ
# worker then stops gracefully under it in Docker, and the image index
# published to Debian's docker-registry on loopback, pulled per platform
# and used by a worker Dockerfile (SKIP without a Docker engine); gcc for
# the README's go install without CGO_ENABLED=0, a cgo build. About
# 4 minutes, make dist included.
DIST_DEBS := lintian rpm docker-registry debootstrap qemu-user-static gcc libc6-dev
dist-check: dist
	@scripts/need-debs $(DIST_DEBS)
	SUPERVISE_DIST=$(abspath dist) $(GO) test -tags dist -count=1 -v -timeout 30m ./test/release/

# The image index of dist/ to REGISTRY/supervise (VERSION and latest):
# make publish REGISTRY=ghcr.io/supervise [DIST=dist]. As long as the
# upload takes: a few seconds on loopback.
DIST ?= dist
publish:
	@test -n "$(REGISTRY)" || { echo "make publish REGISTRY=host[:port][/path]"; exit 2; }
	scripts/publish $(REGISTRY) $(DIST)

# The workflows in .github/ checked by actionlint (pinned in
# tools/actionlint), with shellcheck on their run: steps. About 1 s once
# actionlint is built (its first build, about a minute).
actionlint:
	@scripts/need-debs shellcheck
	cd tools/actionlint && $(GO) tool actionlint -config-file ../../.github/actionlint.yaml ../../.github/workflows/*.yml

# supervise:VERSION and supervise:latest, FROM scratch: the binary and its
# licence only, for this machine's architecture: the image needs one
# binary, so only that one is built (`make release` builds all seven).
# About 5 s.
image:
	scripts/image

# The whole suite: static checks, then every test (unit, then end to end,
# under -race), then each fuzz target for a short bounded time. About
# 12 minutes on 2 cores, most of it make e2e.
test: test-deps vet fmt-check actionlint unit e2e fuzz rules

# The Debian packages of TEST_DEBS, and setproctitle unpacked: under a
# second when all are there, a few minutes on a new machine.
test-deps:
	@scripts/need-debs $(TEST_DEBS)
	@scripts/unpack-deb $(TEST_UNPACKED)

# The Prometheus rules of examples/prometheus: checked, and every alert
# unit-tested with promtool (Debian's prometheus package). About 1 s.
rules:
	@scripts/need-debs prometheus
	cd examples/prometheus && promtool check rules supervise.rules.yml && promtool test rules supervise.rules.test.yml
	cd examples/prometheus && promtool check config prometheus-compose.yml >/dev/null && promtool check config prometheus-swarm.yml >/dev/null

# A real Prometheus on loopback scrapes supervise over real workers and
# evaluates the rules: readiness, OOM and crash-loop alerts fire, a healthy
# worker raises none. About 35 s.
e2e-prometheus: test-deps
	@scripts/need-debs prometheus
	$(GO) test -tags prometheus -count=1 -v -timeout 15m -run '^TestPrometheus' ./test/e2e/

# Every build tag's tests too: a suite that needs a machine of its own
# still compiles and vets here. About 3 s warm.
vet:
	$(GO) vet ./...
	$(GO) vet -tags docker,swarm,kube,faults,soak,prometheus,cgroup2,dist,engines ./...
	cd tools/registry && $(GO) vet ./...

# gofmt over the tree: under a second.
fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Unit tests only: the packages, under -race. About 35 s.
unit:
	$(GO) test -race -count=1 $(TESTFLAGS) ./cmd/... ./internal/...

# The end-to-end tests of the default build: the binary as a real PID 1,
# real workers, real Redis, every preset's real program (and test/docker's
# checks that need no engine). About 9 minutes on 2 cores.
e2e: test-deps
	$(GO) test -race -count=1 -timeout 30m $(TESTFLAGS) ./test/...

# Each fuzz target runs alone (go test -fuzz takes one at a time), for
# FUZZTIME executions: about 3 minutes.
fuzz:
	@for pkg in $$($(GO) list ./internal/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || \
	      { echo "$$out" | tail -40; exit 1; }; \
	  done; \
	done

# A real RQ worker under supervise as PID 1: a job runs, SIGTERM arrives,
# the job still finishes. About 10 s.
example: build
	@scripts/need-debs redis-server redis-tools python3-rq util-linux
	examples/local/rq-stop.sh $(BIN)

# examples/ against a real Docker engine (skips with the reason without one).
# About 4 minutes.
e2e-docker:
	@scripts/need-debs $(DOCKER_DEBS) python3-rq
	$(GO) test -tags docker -count=1 -v -timeout 20m ./test/docker/

# supervise as the engines' own init, without touching the machine's
# engines: a second dockerd (its own config, data root, exec root and
# containerd, socket, --init-path the binary under test) for docker run
# --init, compose's init: true and docker info/version; podman with its
# own --root and --runroot for --init --init-path and --preserve-fds. The
# containers run the cached Debian root filesystem (test/kube/rootfs.sh,
# about two minutes the first time); about three minutes after that.
ENGINE_DEBS := docker.io podman docker-compose debootstrap redis-server python3-rq
e2e-engines:
	@scripts/need-debs $(ENGINE_DEBS)
	$(GO) test -tags engines -count=1 -v -timeout 20m ./test/engines/

# The RQ example as a Docker Swarm stack: rolling restart and scale-down
# while jobs run. Joins a one-node swarm if the engine is in none, and
# leaves it afterwards. About 4 minutes.
e2e-swarm:
	@scripts/need-debs $(DOCKER_DEBS) python3-rq redis-tools
	$(GO) test -tags docker,swarm -count=1 -v -timeout 30m -run '^TestSwarm' ./test/docker/

# supervise on a pure cgroup v2 hierarchy in a real kernel: Debian's, under
# qemu (TCG), with an initramfs the test makes (busybox-static, supervise,
# a memory hog); memory metrics, OOM kills with and without a cgroup
# namespace, a parent's limit, memory.oom.group, no memory accounting.
# The kernel is fetched once (test/vm/kernel.sh, cached outside the
# repository); 20 s to a minute under TCG.
e2e-cgroup2:
	@scripts/need-debs qemu-system-x86 busybox-static
	$(GO) test -tags cgroup2 -count=1 -v -timeout 10m ./test/vm/

# supervise against a real kube-apiserver and etcd: the grace period of
# each pod deletion, read from the API at the stop. The first run builds
# kube-apiserver from k8s.io/kubernetes (a few minutes; cached in
# /var/cache/supervise-test); about 30 s after that.
e2e-kube:
	@scripts/need-debs etcd-server $(TEST_DEBS)
	$(GO) test -tags kube -count=1 -v -timeout 30m -run '^TestKube$$' ./test/e2e/

# supervise as PID 1 of real pods on a real node: etcd, kube-apiserver, a
# kubelet and a containerd of its own, on loopback, fenced in so the host's
# sysctls, iptables and directories stay as they are (test/kube/node.sh).
# The first run builds the kubelet and kube-controller-manager (cached
# beside kube-apiserver) and debootstraps the worker image's root
# filesystem (about two minutes, cached); about 5 minutes after that.
KUBELET_DEBS := etcd-server containerd runc debootstrap iptables $(TEST_DEBS)
e2e-kubelet:
	@scripts/need-debs $(KUBELET_DEBS)
	$(GO) test -tags kube -count=1 -v -timeout 40m -run '^TestKubelet' ./test/e2e/

# Deliberate bugs (test/mutants/*.patch), each applied to a scratch copy
# and run against the tests that must catch it; prints caught/missed.
# About 8 minutes on 2 cores (7.5 min measured for 49 patches on a quiet
# machine; longer beside other work). .ci/run checks only that each patch still
# applies (scripts/mutants-apply, seconds).
mutants: test-deps
	scripts/mutants

# The soak: 8 real RQ 2.10 workers, 2 Celery 5.6 workers and a Huey
# consumer with threads and one with processes, each under supervise as
# PID 1; 1,100 jobs; 60 stops and restarts at random moments at 10 s and
# 30 s graces; every job accounted for. About seven minutes; not part of
# make test.
soak: test-deps
	$(GO) test -tags soak -count=1 -v -timeout 30m -run '^TestSoak$$' ./test/e2e/

# The fault suite: storms, misbehaving children, HTTP abuse, bad values,
# an RQ soak; a few minutes, under a real PID 1.
faults: test-deps
	$(GO) test -tags faults -count=1 -v -timeout 15m -run '^TestFault' ./test/e2e/

# supervise against tini, dumb-init and catatonit and against the Go
# floors of its design (gofloor: the Go runtime alone; cardfloor: plus the
# libraries supervise links), in one interleaved run; prints a Markdown
# table with ratios and the goals met: about 3 minutes.
# BENCHFLAGS=-quick: a 30 s smoke run.
BENCHFLAGS ?= -rounds 5
bench: build
	@scripts/need-debs tini dumb-init catatonit strace time
	@for f in gofloor cardfloor; do \
	  CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags='-s -w' -o bin/$$f ./bench/floor/$$f || exit 1; done
	$(GO) build -o bin/bench ./bench
	bin/bench -supervise $(BIN) -gofloor bin/gofloor -cardfloor bin/cardfloor $(BENCHFLAGS)

clean:
	rm -rf bin dist
