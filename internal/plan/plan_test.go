package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/detect"
	"github.com/supervise/supervise/internal/ladder"
)

const s = time.Second

// fakeEnv is an Env of a command's environment only.
type fakeEnv map[string]string

func (e fakeEnv) Files() detect.Files {
	return detect.Files{Read: func(string) ([]byte, error) { return nil, errNone }}
}
func (e fakeEnv) LookupEnv(name string) (string, bool) { v, ok := e[name]; return v, ok }

type noFile struct{}

func (noFile) Error() string { return "no such file" }

var errNone error = noFile{}

func auto(grace time.Duration) Options {
	return Options{Preset: "auto", Timing: Timing{Budget: ladder.Budget{Grace: grace}, GraceFrom: "--grace-period"}}
}

func fields(s string) []string { return strings.Fields(s) }

// At the stop, auto looks again: a retitled worker keeps its preset and
// the start's command line (whose options were read); an entrypoint that
// exec'd a worker gets that worker's preset; an exec into a program
// auto does not know gets generic, a retitle it does not know does not.
func TestAtStop(t *testing.T) {
	o := auto(60 * s)
	never := func() bool { t.Fatal("asked whether the child exec'd, where the answer cannot matter"); return false }
	yes := func() bool { return true }
	no := func() bool { return false }
	nginx := Make(o, fields("nginx -g daemon_off;"), nil)
	sidekiq := Make(o, fields("bundle exec sidekiq -t 5 -r ./app.rb"), nil)
	entry := Make(o, fields("/entrypoint.sh"), nil)
	cases := []struct {
		name    string
		start   Plan
		now     []string
		execd   func() bool
		preset  string
		changed bool
		argv    string // the command line the plan reads, when not the start's
	}{
		{"nginx's title", nginx, []string{"nginx: master process nginx -g daemon_off;"}, never, "nginx", false, ""},
		{"sidekiq's title keeps -t 5", sidekiq, []string{"sidekiq 6.4.1 app [1 of 5 busy]", "", ""}, never, "sidekiq", false, ""},
		{"the same command line", nginx, fields("nginx -g daemon_off;"), never, "nginx", false, ""},
		{"a title auto does not know, no exec", sidekiq, fields("my-sidekiq-fork"), no, "sidekiq", false, ""},
		{"an exec into another program", sidekiq, fields("/bin/true"), yes, ladder.Generic, true, "/bin/true"},
		{"an entrypoint exec'd nginx, retitled", entry, []string{"nginx: master process nginx"}, never, "nginx", true, "nginx: master process nginx"},
		{"an entrypoint exec'd sidekiq", entry, fields("/usr/bin/ruby3.1 /usr/bin/sidekiq -t 7"), never, "sidekiq", true, "/usr/bin/ruby3.1 /usr/bin/sidekiq -t 7"},
		{"an entrypoint still running", entry, fields("/bin/sh /entrypoint.sh"), never, ladder.Generic, false, "/bin/sh /entrypoint.sh"},
		{"a zombie reads empty", nginx, nil, never, "nginx", false, ""},
	}
	for _, c := range cases {
		p, changed := c.start.AtStop(o, c.now, nil, c.execd)
		if p.Preset != c.preset || changed != c.changed {
			t.Errorf("%s: %s (%s), changed %v; want %s, changed %v", c.name, p.Preset, p.Reason, changed, c.preset, c.changed)
		}
		want := c.argv
		if want == "" {
			want = strings.Join(c.start.Argv, " ")
		}
		if got := strings.Join(p.Argv, " "); got != want {
			t.Errorf("%s: reads %q, want %q", c.name, got, want)
		}
	}
	// Sidekiq's -t read at start stays: TERM's wait is 5s + 3s.
	p, _ := sidekiq.AtStop(o, []string{"sidekiq 6.4.1 app [1 of 5 busy]"}, nil, never)
	if p.Ladder.String() != "TSTP,51s,TERM,8s,KILL" {
		t.Errorf("sidekiq -t 5 at its title: %s", p.Ladder)
	}
	// A preset given, or --stop, is never looked at again.
	given := Options{Preset: "nginx", Timing: Timing{Budget: ladder.Budget{Grace: 10 * s}}}
	p, changed := Make(given, fields("nginx"), nil).AtStop(given, fields("/bin/true"), nil, never)
	if p.Preset != "nginx" || changed {
		t.Errorf("--preset nginx at the stop: %s", p.Preset)
	}
}

// The worker's own shutdown timeout: read from its command line (or
// GUNICORN_CMD_ARGS), its default when absent, with a margin for what
// the worker does after it; the advice is a value the worker accepts.
func TestTimeoutCheck(t *testing.T) {
	cases := []struct {
		argv  string
		env   fakeEnv
		grace time.Duration
		want  string // a warning's words; "" for none
	}{
		{"gunicorn app:app", nil, 10 * s,
			"gunicorn's --graceful-timeout 30s (its default, unless graceful_timeout in gunicorn.conf.py sets it, which supervise cannot read) and the 1s it takes after it do not fit the planned drain, 6s: supervise's QUIT would cut what gunicorn still does; set --graceful-timeout 5 or less, or raise the grace period to at least 35s"},
		{"gunicorn --graceful-timeout 5 app:app", nil, 10 * s, ""},
		{"gunicorn --graceful-timeout 6 app:app", nil, 10 * s, "--graceful-timeout 6s (on its command line)"},
		{"gunicorn app:app", fakeEnv{"GUNICORN_CMD_ARGS": "--bind=:8000 --graceful-timeout=4"}, 10 * s, ""},
		{"gunicorn app:app", fakeEnv{"GUNICORN_CMD_ARGS": "--graceful-timeout 20"}, 10 * s, "--graceful-timeout 20s (in GUNICORN_CMD_ARGS)"},
		{"gunicorn app:app", nil, 60 * s, ""},
		{"gunicorn app:app", nil, 0, ""},
		{"sidekiq -r ./app.rb", nil, 10 * s,
			"sidekiq's -t 25s (its default, unless :timeout: in config/sidekiq.yml sets it, which supervise cannot read) and the 3s it takes after it do not fit the time from TERM to supervise's KILL, 9s: supervise's KILL would cut what sidekiq still does; set -t 6 or less, or raise the grace period to at least 29s"},
		{"sidekiq -t 6 -r ./app.rb", nil, 10 * s, ""},
		{"sidekiq -t 7.5", nil, 10 * s, "set -t 6 or less"},
		{"sidekiq", nil, 30 * s, ""},
		{"dramatiq tasks", nil, 10 * s, "set --worker-shutdown-timeout 4500 or less"},
		{"dramatiq tasks --worker-shutdown-timeout 4500", nil, 10 * s, ""},
		{"uvicorn app:app", nil, 10 * s, ""},
		{"uvicorn --timeout-graceful-shutdown 9 app:app", nil, 10 * s, "set --timeout-graceful-shutdown 6 or less"},
		{"uvicorn app:app", fakeEnv{"UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN": "9"}, 10 * s,
			"uvicorn's --timeout-graceful-shutdown 9s (in UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN) and the 1s it takes after it do not fit the planned drain, 7.5s: supervise's INT would cut what uvicorn still does; set UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN=6 or less"},
		{"uvicorn app:app", fakeEnv{"UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN": "6"}, 10 * s, ""},
		{"uvicorn --timeout-graceful-shutdown 5 app:app", fakeEnv{"UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN": "9"}, 10 * s, ""},
		{"sidekiq", nil, 2 * s, "set a longer grace period: not even 1 second of -t fits"},
		// Resque waits RESQUE_TERM_TIMEOUT (4s by default) after INT only
		// with TERM_CHILD set, to any value.
		{"rake resque:work", nil, 10 * s, ""},
		{"rake resque:work", fakeEnv{"TERM_CHILD": ""}, 10 * s, ""},
		{"rake resque:work", fakeEnv{"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "2.5"}, 10 * s, ""},
		{"rake resque:work", fakeEnv{"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "30"}, 20 * s,
			"resque's RESQUE_TERM_TIMEOUT 30s (in its environment) and the 2s it takes after it do not fit the time from INT to supervise's KILL, 1.5s: supervise's KILL would cut what resque still does; set RESQUE_TERM_TIMEOUT=15 or less, or raise the grace period to at least 51s"},
		{"rake resque:work", fakeEnv{"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "15"}, 20 * s, ""},
	}
	for _, c := range cases {
		p := Make(auto(c.grace), fields(c.argv), c.env)
		got := strings.Join(p.Warnings, "\n")
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%q in %s (env %v): warnings %q, want %q", c.argv, c.grace, c.env, got, c.want)
		}
	}
}

// What supervise cannot read is named, with the value to set, whatever
// the plan: arq's job_completion_wait, php-fpm's process_control_timeout.
func TestTimeoutNotes(t *testing.T) {
	cases := map[string]string{
		"arq tasks.WorkerSettings": "arq's job_completion_wait (WorkerSettings.job_completion_wait in Python, which supervise cannot read; its default is no wait at all) must fit the planned drain, 9s: set job_completion_wait = 8 or less",
		"php-fpm8.2 -F":            "php-fpm's process_control_timeout (php-fpm.conf's [global] section, which supervise cannot read; its default is no wait at all) must fit the planned drain, 7s: set process_control_timeout = 6s or less",
	}
	for argv, want := range cases {
		p := Make(auto(10*s), fields(argv), nil)
		if len(p.Notes) != 1 || p.Notes[0] != want || len(p.Warnings) != 0 {
			t.Errorf("%q: notes %q warnings %q, want the note %q", argv, p.Notes, p.Warnings, want)
		}
		if p := Make(auto(0), fields(argv), nil); len(p.Notes) != 0 {
			t.Errorf("%q untimed: notes %q", argv, p.Notes)
		}
	}
}

// Within keeps what was read at start (GUNICORN_CMD_ARGS) and the notes,
// planned in the new grace.
func TestWithinKeepsTimeout(t *testing.T) {
	p := Make(auto(60*s), fields("gunicorn app:app"), fakeEnv{"GUNICORN_CMD_ARGS": "--graceful-timeout 20"})
	q := p.Within(ladder.Budget{Grace: 10 * s}, "the pod")
	if len(q.Warnings) != 1 || !strings.Contains(q.Warnings[0], "--graceful-timeout 20s (in GUNICORN_CMD_ARGS)") || q.GraceFrom != "the pod" {
		t.Errorf("within 10s: %q from %q", q.Warnings, q.GraceFrom)
	}
}

func FuzzOptionValue(f *testing.F) {
	f.Add("25")
	f.Add("1e300")
	f.Add("NaN")
	f.Fuzz(func(t *testing.T, v string) {
		d, err := optionValue(v, time.Millisecond)
		if err == nil && (d < 0 || d > 365*24*time.Hour) {
			t.Fatalf("optionValue(%q) = %s", v, d)
		}
	})
}

// Resque's "stop now" (INT) waits RESQUE_TERM_TIMEOUT for the job only
// when TERM_CHILD is set, even empty (Ruby's ENV[...] is then ""
// and true): the ladder gives INT that wait and 2s, read at start and
// again at the stop from the child's environment.
func TestResqueTermChild(t *testing.T) {
	never := func() bool { t.Fatal("asked whether the child exec'd, where the answer cannot matter"); return false }
	cases := []struct {
		env    fakeEnv
		ladder string
		fast   string
	}{
		{nil, "QUIT,7s,INT,2s,KILL", "2s after INT, the resque preset's"},
		{fakeEnv{"RESQUE_TERM_TIMEOUT": "8"}, "QUIT,7s,INT,2s,KILL", "2s after INT, the resque preset's"},
		{fakeEnv{"TERM_CHILD": "1"}, "QUIT,3s,INT,6s,KILL", "6s after INT: resque's RESQUE_TERM_TIMEOUT 4s (its default)"},
		{fakeEnv{"TERM_CHILD": ""}, "QUIT,3s,INT,6s,KILL", "RESQUE_TERM_TIMEOUT 4s (its default)"},
		{fakeEnv{"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "2.5"}, "QUIT,4.5s,INT,4.5s,KILL", "RESQUE_TERM_TIMEOUT 2.5s (in its environment)"},
		{fakeEnv{"TERM_CHILD": "1", "RESQUE_TERM_TIMEOUT": "soon"}, "QUIT,3s,INT,6s,KILL", "RESQUE_TERM_TIMEOUT 4s (its default)"},
	}
	for _, c := range cases {
		p := Make(auto(10*s), fields("rake resque:work"), c.env)
		if p.Preset != "resque" || p.Ladder.String() != c.ladder || !strings.Contains(p.fastStop(), c.fast) {
			t.Errorf("env %v: %s %s, fast stop %q; want %s, %q", c.env, p.Preset, p.Ladder, p.fastStop(), c.ladder, c.fast)
		}
		if q, _ := p.AtStop(auto(10*s), []string{"resque-3.0.0: Processing default since 1700000000 [CheckpointJob]"}, c.env, never); q.Ladder.String() != c.ladder {
			t.Errorf("env %v at the stop, retitled: %s, want %s", c.env, q.Ladder, c.ladder)
		}
	}
	// --fast-stop wins over what the environment says.
	o := auto(10 * s)
	o.Budget.FastStop = 3 * s
	if p := Make(o, fields("rake resque:work"), fakeEnv{"TERM_CHILD": "1"}); p.Ladder.String() != "QUIT,6s,INT,3s,KILL" {
		t.Errorf("--fast-stop 3s with TERM_CHILD: %s", p.Ladder)
	}
}
