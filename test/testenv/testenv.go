// Package testenv finds what the end-to-end and Docker tests need from
// outside the repository: the worker releases users run, vendored beside
// the checkout because Debian does not package them and no Python package
// index is reachable. Only tests import it.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// vendored is one vendored release: the variable that names its folder,
// the folder's name beside the repository, and a file that proves it.
type vendored struct {
	env, dir, marker string
}

var (
	hueyDir    = vendored{"HUEY_SRC", "huey-3.3.0", "huey/consumer.py"}
	rqDir      = vendored{"RQ_SRC", "rq-2.10.0", "rq/worker/base.py"}
	redisPyDir = vendored{"REDIS_PY_SRC", "redis-py-7.4.1", "redis/client.py"}
	celeryDir  = vendored{"CELERY_SRC", "celery-5.6.3", "celery/apps/worker.py"}
	resqueDir  = vendored{"RESQUE_SRC", "resque-3.0.0", "lib/resque/worker.rb"}
	dramatiq   = vendored{"DRAMATIQ_SRC", "dramatiq-2.2.0", "dramatiq/cli.py"}
	arqDir     = vendored{"ARQ_SRC", "arq-0.26.1", "arq/worker.py"}
	gunicorn   = vendored{"GUNICORN_SRC", "gunicorn-26.1.0", "gunicorn/arbiter.py"}
	uvicorn    = vendored{"UVICORN_SRC", "uvicorn-0.51.0", "uvicorn/server.py"}
)

// find returns the folder: $ENV, or vendor/DIR in the shared folder
// beside the repository (seen from a test directory two levels below the
// root, as test/e2e and test/docker are). It returns "" when there is none.
func (v vendored) find() string {
	for _, c := range []string{os.Getenv(v.env), filepath.Join("../../../shared/vendor", v.dir)} {
		if c == "" {
			continue
		}
		if abs, err := filepath.Abs(c); err == nil {
			if _, err := os.Stat(filepath.Join(abs, v.marker)); err == nil {
				return abs
			}
		}
	}
	return ""
}

// HueySource is the vendored Huey 3.3.0 (standard library only for
// SqliteHuey): $HUEY_SRC or vendor/huey-3.3.0; "" when there is none.
func HueySource() string { return hueyDir.find() }

// Huey is HueySource, or a SKIP with the reason when there is none.
func Huey(t testing.TB) string {
	t.Helper()
	src := HueySource()
	if src == "" {
		t.Skip("SKIP: Huey 3.3.0 not found (set HUEY_SRC to a folder holding huey/consumer.py)")
	}
	return src
}

// Release is one release of a worker the tests run it against.
type Release struct {
	// Name says which release, for test names and logs: "debian", "2.10".
	Name string
	// Version is the release as its package reports it, for messages.
	Version string
	// Path lists the folders to put first on PYTHONPATH; none for
	// Debian's own packages, which python3 finds by itself.
	Path []string
	// Missing, when set, says in one line why the release cannot run
	// here; a test then says SKIP with it.
	Missing string
}

// Vendored reports whether the release is a vendored copy (not Debian's).
func (r Release) Vendored() bool { return len(r.Path) > 0 }

// Skip skips t when the release cannot run here, saying why.
func (r Release) Skip(t testing.TB) {
	t.Helper()
	if r.Missing != "" {
		t.Skip("SKIP: " + r.Missing)
	}
}

// RQReleases are the RQ releases the RQ tests run on: Debian's python3-rq
// (1.13, redis-py 4.3), and RQ 2.10.0 with redis-py 7.4.1 ($RQ_SRC and
// $REDIS_PY_SRC, or vendor/rq-2.10.0 and vendor/redis-py-7.4.1). The
// Debian one's Missing is left for the caller to fill in, which knows how
// it looks for the package.
func RQReleases() []Release {
	v := Release{Name: "2.10", Version: "RQ 2.10.0 with redis-py 7.4.1"}
	rq, redis := rqDir.find(), redisPyDir.find()
	switch {
	case rq == "":
		v.Missing = "RQ 2.10.0 not found (set RQ_SRC to a folder holding rq/worker/base.py)"
	case redis == "":
		v.Missing = "redis-py 7.4.1 not found (set REDIS_PY_SRC to a folder holding redis/client.py)"
	default:
		v.Path = []string{rq, redis}
	}
	return []Release{{Name: "debian", Version: "RQ 1.13 (Debian's python3-rq)"}, v}
}

// CeleryReleases are the Celery releases the Celery tests run on:
// Debian's python3-celery (5.2.6), and Celery 5.6.3 with kombu, billiard
// and vine ($CELERY_SRC or vendor/celery-5.6.3) and redis-py 7.4.1, which
// its Redis result backend needs.
func CeleryReleases() []Release {
	v := Release{Name: "5.6", Version: "Celery 5.6.3 (kombu 5.6.2, billiard 4.2.4) with redis-py 7.4.1"}
	celery, redis := celeryDir.find(), redisPyDir.find()
	switch {
	case celery == "":
		v.Missing = "Celery 5.6.3 not found (set CELERY_SRC to a folder holding celery/apps/worker.py)"
	case redis == "":
		v.Missing = "redis-py 7.4.1 not found (set REDIS_PY_SRC to a folder holding redis/client.py)"
	default:
		v.Path = []string{celery, redis}
	}
	return []Release{{Name: "debian", Version: "Celery 5.2.6 (Debian's python3-celery)"}, v}
}

// Vendored is one vendored release a test runs: the folder holding it,
// or a SKIP with the reason when there is none.
func vendoredOrSkip(t testing.TB, v vendored, what string) string {
	t.Helper()
	src := v.find()
	if src == "" {
		t.Skipf("SKIP: %s not found (set %s to a folder holding %s)", what, v.env, v.marker)
	}
	return src
}

// Resque is the vendored Resque 3.0.0 (its lib/ folder's parent), or a
// SKIP with the reason.
func Resque(t testing.TB) string { return vendoredOrSkip(t, resqueDir, "Resque 3.0.0") }

// Dramatiq is the vendored Dramatiq 2.2.0, or a SKIP with the reason.
func Dramatiq(t testing.TB) string { return vendoredOrSkip(t, dramatiq, "Dramatiq 2.2.0") }

// Arq is the vendored arq 0.26.1, or a SKIP with the reason.
func Arq(t testing.TB) string { return vendoredOrSkip(t, arqDir, "arq 0.26.1") }

// GunicornSource is the vendored Gunicorn 26.1.0; "" when there is none.
func GunicornSource() string { return gunicorn.find() }

// UvicornSource is the vendored Uvicorn 0.51.0; "" when there is none.
func UvicornSource() string { return uvicorn.find() }

// RedisPy is the vendored redis-py 7.4.1; "" when there is none.
func RedisPy() string { return redisPyDir.find() }

// setproctitleDirs are where `make e2e` unpacks Debian's
// python3-setproctitle (scripts/unpack-deb), not installed system-wide:
// only the tests that want renamed workers put it on PYTHONPATH.
var setproctitleDirs = []string{"/var/cache/supervise-test/debs/python3-setproctitle/usr/lib/python3/dist-packages"}

// Setproctitle is a folder holding the setproctitle module for Debian's
// python3 ($SETPROCTITLE_PATH, or where scripts/unpack-deb puts it), or
// a SKIP with the reason.
func Setproctitle(t testing.TB) string {
	t.Helper()
	for _, d := range append([]string{os.Getenv("SETPROCTITLE_PATH")}, setproctitleDirs...) {
		if d == "" {
			continue
		}
		if m, _ := filepath.Glob(filepath.Join(d, "setproctitle", "_setproctitle*.so")); len(m) > 0 {
			return d
		}
	}
	t.Skip("SKIP: setproctitle not found (scripts/unpack-deb python3-setproctitle, or set SETPROCTITLE_PATH)")
	return ""
}

// GunicornReleases are the gunicorn releases the gunicorn tests run on:
// Debian's (20.1, the gunicorn package), and Gunicorn 26.1.0
// ($GUNICORN_SRC or vendor/gunicorn-26.1.0). The Debian one's Missing
// is left for the caller to fill in.
func GunicornReleases() []Release {
	v := Release{Name: "26.1", Version: "Gunicorn 26.1.0"}
	if src := gunicorn.find(); src == "" {
		v.Missing = "Gunicorn 26.1.0 not found (set GUNICORN_SRC to a folder holding gunicorn/arbiter.py)"
	} else {
		v.Path = []string{src}
	}
	return []Release{{Name: "debian", Version: "Gunicorn 20.1.0 (Debian's gunicorn)"}, v}
}

// UvicornReleases are the uvicorn releases the uvicorn tests run on:
// Debian's (0.17.6, the uvicorn package), and Uvicorn 0.51.0
// ($UVICORN_SRC or vendor/uvicorn-0.51.0).
func UvicornReleases() []Release {
	v := Release{Name: "0.51", Version: "Uvicorn 0.51.0"}
	if src := uvicorn.find(); src == "" {
		v.Missing = "Uvicorn 0.51.0 not found (set UVICORN_SRC to a folder holding uvicorn/server.py)"
	} else {
		v.Path = []string{src}
	}
	return []Release{{Name: "debian", Version: "Uvicorn 0.17.6 (Debian's uvicorn)"}, v}
}
