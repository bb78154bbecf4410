package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// uvicornEnv is one uvicorn release serving testdata/web/asgi.py.
type uvicornEnv struct {
	rel     testenv.Release
	program string
	addr    string
	env     []string
}

// eachUvicorn runs f for Debian's uvicorn and Uvicorn 0.51.0.
func eachUvicorn(t *testing.T, f func(t *testing.T, u *uvicornEnv)) {
	rels := testenv.UvicornReleases()
	if _, err := exec.LookPath("uvicorn"); err != nil {
		rels[0].Missing = "uvicorn not installed (apt-get install uvicorn)"
	}
	uvicornReleases(t, rels, f)
}

// vendoredUvicorn runs f for Uvicorn 0.51.0 only, for what Debian's 0.17
// does not have.
func vendoredUvicorn(t *testing.T, f func(t *testing.T, u *uvicornEnv)) {
	var rels []testenv.Release
	for _, rel := range testenv.UvicornReleases() {
		if rel.Name != "debian" { // kept when missing, to say SKIP
			rels = append(rels, rel)
		}
	}
	uvicornReleases(t, rels, f)
}

func uvicornReleases(t *testing.T, rels []testenv.Release, f func(t *testing.T, u *uvicornEnv)) {
	for _, rel := range rels {
		t.Run(rel.Name, func(t *testing.T) {
			rel.Skip(t)
			web, _ := filepath.Abs("testdata/web")
			u := &uvicornEnv{rel: rel, program: "uvicorn", addr: freeAddr(t),
				env: []string{pythonPath(append(append([]string{}, rel.Path...), web)...)}}
			if rel.Vendored() {
				u.program = consoleScript(t, "uvicorn", "uvicorn.main", "main")
			}
			f(t, u)
		})
	}
}

func (u *uvicornEnv) argv(opts ...string) []string {
	host, port, _ := strings.Cut(u.addr, ":")
	return append([]string{u.program, "asgi:app", "--host", host, "--port", port}, opts...)
}

// uvicorn under supervise as PID 1 at Docker's 10 s grace, on Debian's
// 0.17.6 and on 0.51.0. TERM makes uvicorn stop accepting and wait for
// its connections; a second INT forces its exit.
func TestUvicorn(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "uvicorn", grace)
	// The request in flight finishes, then the app's lifespan shutdown
	// runs. 0.29 and later end a clean stop by raising the caught TERM
	// again (uvicorn/server.py capture_signals): the exit status is 143,
	// and supervise reports the stop graceful.
	t.Run("drain kept", func(t *testing.T) {
		eachUvicorn(t, func(t *testing.T, u *uvicornEnv) {
			p := start(t, options{env: u.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, u.argv()...)...)
			waitListening(t, u.addr, 30*time.Second)
			got := fetch(t, "http://"+u.addr+"/?3")
			p.waitFor(`request started 3`, 10*time.Second)
			sent := p.signal(syscall.SIGTERM)
			p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
			noPresetChange(t, p, "uvicorn")
			r := result(t, got, drain+5*time.Second)
			if r.err != nil || !strings.Contains(string(r.body), "done 3") {
				t.Errorf("the request in flight: %d %q %v; want it done", r.status, r.body, r.err)
			}
			code := p.exit(grace)
			p.waitFor(`lifespan shutdown`, 0)
			end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
			want := 0
			if u.rel.Vendored() {
				want = 128 + int(syscall.SIGTERM)
			}
			if code != want {
				t.Errorf("exit status %d, want %d", code, want)
			}
			t.Logf("%s: request done %s, uvicorn exited %s after the stop, status %d", u.rel.Version, r.at.Sub(sent).Round(time.Millisecond),
				end.at.Sub(sent).Round(time.Millisecond), code)
		})
	})
	// Uvicorn 0.51 takes --timeout-graceful-shutdown from
	// UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN too (click's auto_envvar_prefix;
	// 0.17 has no such option). supervise reads it there: 9 s cannot fit
	// the 7.5 s drain and the start-up log says what to set; 1 s makes
	// uvicorn give the request up and exit by itself, before the INT rung.
	t.Run("own timeout from the environment", func(t *testing.T) {
		vendoredUvicorn(t, func(t *testing.T, u *uvicornEnv) {
			env := append([]string{"UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN=9"}, u.env...)
			p := start(t, options{env: env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, u.argv()...)...)
			p.waitFor(`WARN.*--timeout-graceful-shutdown 9s \(in UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN\).*set UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN=6 or less`, 5*time.Second)
			p.signal(syscall.SIGTERM)
			p.exit(grace)

			env = append([]string{"UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN=1"}, u.env...)
			p = start(t, options{env: env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, u.argv()...)...)
			waitListening(t, u.addr, 30*time.Second)
			got := fetch(t, "http://"+u.addr+"/?30")
			p.waitFor(`request started 30`, 10*time.Second)
			sent := p.signal(syscall.SIGTERM)
			r := result(t, got, grace)
			code := p.exit(grace)
			end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
			if took := end.at.Sub(sent); took < time.Second || took >= drain {
				t.Errorf("uvicorn exited %s after the stop: want its own 1 s timeout, before the drain's %s", took, drain)
			}
			if r.err == nil && r.status == 200 {
				t.Errorf("the 30 s request was answered: %q", r.body)
			}
			t.Logf("%s: uvicorn gave up and exited %s after the stop, status %d; the client: %d %v", u.rel.Version,
				end.at.Sub(sent).Round(time.Millisecond), code, r.status, r.err)
		})
	})
	// A request longer than the drain: the preset's INT at the deadline
	// forces the exit, and the connection is closed with no response.
	// With --workers 2 the parent stops reading signals after TERM, so
	// INT goes to the process group, where each worker process acts on it;
	// uvicorn exits by itself, no KILL.
	for _, workers := range []string{"", "2"} {
		name := "cut"
		if workers != "" {
			name = "cut, --workers " + workers
		}
		t.Run(name, func(t *testing.T) {
			eachUvicorn(t, func(t *testing.T, u *uvicornEnv) {
				var opts []string
				if workers != "" {
					opts = []string{"--workers", workers}
				}
				p := start(t, options{env: u.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, u.argv(opts...)...)...)
				waitListening(t, u.addr, 30*time.Second)
				got := fetch(t, "http://"+u.addr+"/?30")
				p.waitFor(`request started 30`, 10*time.Second)
				sent := p.signal(syscall.SIGTERM)
				cut := p.waitFor(`stop rung: escalating.*signal=INT.*cause="drain deadline hit`, drain+5*time.Second)
				within(t, "INT rung", cut.at.Sub(sent), drain, tolerance)
				r := result(t, got, grace)
				if r.err == nil && r.status == 200 {
					t.Errorf("the long request was answered: %q", r.body)
				}
				code := p.exit(grace)
				end := p.waitFor(`child stopped.*outcome=escalated`, time.Second)
				if n := p.count(`signal=KILL`); n != 0 {
					t.Errorf("KILL sent: uvicorn did not exit after INT")
				}
				t.Logf("%s: INT to exit %s, status %d; the client: %d %v", u.rel.Version, end.at.Sub(cut.at).Round(time.Millisecond), code, r.status, r.err)
			})
		})
	}
}
