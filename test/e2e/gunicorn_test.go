package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// gunicornEnv is one gunicorn release serving testdata/web/wsgi.py.
type gunicornEnv struct {
	rel     testenv.Release
	program string
	addr    string
	path    []string // PYTHONPATH, the release first
	// home: 26.x puts its control socket under $HOME/.gunicorn.
	home string
}

// eachGunicorn runs f for Debian's gunicorn and Gunicorn 26.1.0.
func eachGunicorn(t *testing.T, f func(t *testing.T, g *gunicornEnv)) {
	rels := testenv.GunicornReleases()
	if _, err := exec.LookPath("gunicorn"); err != nil {
		rels[0].Missing = "gunicorn not installed (apt-get install gunicorn)"
	}
	for _, rel := range rels {
		t.Run(rel.Name, func(t *testing.T) {
			rel.Skip(t)
			web, _ := filepath.Abs("testdata/web")
			g := &gunicornEnv{rel: rel, program: "gunicorn", addr: freeAddr(t), path: append(append([]string{}, rel.Path...), web),
				home: "HOME=" + t.TempDir()}
			if rel.Vendored() {
				g.program = consoleScript(t, "gunicorn", "gunicorn.app.wsgiapp", "run")
			}
			f(t, g)
		})
	}
}

// argv is gunicorn with two sync workers and its own options.
func (g *gunicornEnv) argv(opts ...string) []string {
	return append(append([]string{g.program, "-b", g.addr, "-w", "2"}, opts...), "wsgi:app")
}

// gunicorn under supervise as PID 1 at Docker's 10 s grace, on Debian's
// 20.1 and on 26.1.0. TERM is gunicorn's graceful stop, bounded by its
// --graceful-timeout (30 s by default, which supervise says cannot fit
// and names the value that does); the tests set it as advised.
func TestGunicorn(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "gunicorn", grace)
	advised := fmt.Sprint(int((drain - time.Second) / time.Second))
	// With setproctitle importable, as many images have it, gunicorn is
	// "gunicorn: master [wsgi:app]" at the stop: the preset holds, and
	// the request in flight finishes.
	t.Run("drain kept, renamed", func(t *testing.T) {
		eachGunicorn(t, func(t *testing.T, g *gunicornEnv) {
			env := []string{pythonPath(append(g.path, testenv.Setproctitle(t))...), g.home}
			p := start(t, options{env: env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"},
				g.argv("--graceful-timeout", advised)...)...)
			waitListening(t, g.addr, 30*time.Second)
			waitTitle(t, "gunicorn: master", 10*time.Second)
			got := fetch(t, "http://"+g.addr+"/?3")
			p.waitFor(`request started 3`, 10*time.Second)
			sent := p.signal(syscall.SIGTERM)
			p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
			noPresetChange(t, p, "gunicorn")
			r := result(t, got, drain+5*time.Second)
			if r.err != nil || r.status != 200 || !strings.Contains(string(r.body), "done 3") {
				t.Errorf("the request in flight: %d %q %v; want it done", r.status, r.body, r.err)
			}
			if code := p.exit(grace); code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
			t.Logf("%s: request done %s, gunicorn exited %s after the stop", g.rel.Version, r.at.Sub(sent).Round(time.Millisecond),
				end.at.Sub(sent).Round(time.Millisecond))
		})
	})
	// A request longer than --graceful-timeout: gunicorn's arbiter kills
	// its worker when that runs out, before supervise's QUIT, with no line
	// of its own for the request (its access log has completed requests
	// only): the client sees the connection closed with no response, and
	// gunicorn's log its shutdown at its timeout with no "Worker exiting"
	// for the busy worker.
	t.Run("cut", func(t *testing.T) {
		eachGunicorn(t, func(t *testing.T, g *gunicornEnv) {
			p := start(t, options{env: []string{pythonPath(g.path...), g.home}}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"},
				g.argv("--graceful-timeout", advised)...)...)
			waitListening(t, g.addr, 30*time.Second)
			got := fetch(t, "http://"+g.addr+"/?30")
			p.waitFor(`request started 30`, 10*time.Second)
			sent := p.signal(syscall.SIGTERM)
			r := result(t, got, grace)
			if r.err == nil && r.status == 200 {
				t.Errorf("the long request was answered: %q", r.body)
			}
			code := p.exit(grace)
			end := p.waitFor(`child stopped`, time.Second)
			if code != 0 || end.at.Sub(sent) >= drain || p.count(`stop rung: escalating`) != 0 {
				t.Errorf("gunicorn ended %s after the stop with status %d; want 0 by its own --graceful-timeout %s, before the drain's end %s",
					end.at.Sub(sent), code, advised, drain)
			}
			p.waitFor(`Shutting down: Master`, 0)
			if n := p.count(`Worker exiting`); n != 1 {
				t.Errorf("%d workers logged their exit, want only the idle one", n)
			}
			t.Logf("%s: cut %s after the stop: %v", g.rel.Version, r.at.Sub(sent).Round(time.Millisecond), r.err)
		})
	})
	// Left at gunicorn's default --graceful-timeout 30, which supervise
	// warns cannot fit and says what to set: the preset's QUIT at the
	// drain deadline is 26.1's quick shutdown, which gunicorn bounds at
	// 2.0 s by itself; the preset waits 3 s for it, so gunicorn exits on
	// its own before KILL. Debian's 20.1 queues QUIT until its own graceful
	// timeout, so there KILL ends it.
	t.Run("QUIT at the deadline", func(t *testing.T) {
		eachGunicorn(t, func(t *testing.T, g *gunicornEnv) {
			p := start(t, options{env: []string{pythonPath(g.path...), g.home}}, append([]string{"--listen", "off", "--grace-period",
				grace.String(), "--"}, g.argv()...)...)
			p.waitFor(`level=WARN msg="gunicorn's --graceful-timeout 30s \(its default.*set --graceful-timeout `+advised+` or less`, 5*time.Second)
			waitListening(t, g.addr, 30*time.Second)
			got := fetch(t, "http://"+g.addr+"/?30")
			p.waitFor(`request started 30`, 10*time.Second)
			sent := p.signal(syscall.SIGTERM)
			quit := p.waitFor(`stop rung: escalating.*signal=QUIT.*cause="drain deadline hit`, drain+5*time.Second)
			within(t, "QUIT rung", quit.at.Sub(sent), drain, tolerance)
			result(t, got, grace)
			code := p.exit(grace)
			end := p.waitFor(`child stopped`, time.Second)
			if g.rel.Vendored() {
				if code != 0 || p.count(`signal=KILL`) != 0 {
					t.Errorf("exit %d, %d KILL: want gunicorn to end its quick shutdown by itself", code, p.count(`signal=KILL`))
				}
			} else if code != 128+int(syscall.SIGKILL) {
				t.Errorf("exit %d: Debian's 20.1 ignores QUIT during its drain, want KILL (137)", code)
			}
			t.Logf("%s: QUIT to the end %s, exit status %d", g.rel.Version, end.at.Sub(quit.at).Round(time.Millisecond), code)
		})
	})
}
