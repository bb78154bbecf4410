package main

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/supervisor"
)

// runCLI runs the command line in-process and returns its exit status,
// stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"supervise"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUnknownEnvSuggests(t *testing.T) {
	got := unknownEnv([]string{"SUPERVISE_GRACE_PERIDO=30s", "SUPERVISE_GRACE_PERIOD=30s", "SUPERVISE_XYZZY=1", "HOME=/root"}, runFlags())
	if len(got) != 2 {
		t.Fatalf("warnings %q, want 2", got)
	}
	if !strings.Contains(got[0], "SUPERVISE_GRACE_PERIDO is set but") || !strings.Contains(got[0], "did you mean SUPERVISE_GRACE_PERIOD?") {
		t.Errorf("typo warning: %q", got[0])
	}
	if strings.Contains(got[1], "did you mean") {
		t.Errorf("no near name should be offered for SUPERVISE_XYZZY: %q", got[1])
	}
}

func TestUnknownFlagSuggests(t *testing.T) {
	code, _, stderr := runCLI("--grace-perod", "30s", "--", "true")
	if code != 2 || strings.Count(stderr, "\n") != 1 ||
		!strings.Contains(stderr, "unknown option --grace-perod; did you mean --grace-period?") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI("--presett", "rq", "--", "true")
	if code != 2 || !strings.Contains(stderr, "did you mean --preset?") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// A likely typo gets urfave/cli's nearest name; a word like none of them
// gets none.
func TestSuggest(t *testing.T) {
	for word, want := range map[string]string{"grace-perod": "grace-period", "presett": "preset", "grace-perido": "grace-period",
		"stop-dealy": "stop-delay", "listn": "listen", "xyzzy": "", "q": "", "bogus": ""} {
		if got := suggest(word, runFlags()); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}

// Options after "--", long or short, and a second "--", are refused with
// one line, unless the word really is an executable.
func TestOptionAfterDashes(t *testing.T) {
	for _, c := range []struct{ args, want []string }{
		{[]string{"-g", "rq", "worker"}, []string{`"-g" is an option of supervise`, "SUPERVISE_GROUP"}},
		{[]string{"-s", "rq"}, []string{`"-s" is an option of supervise`, "SUPERVISE_SUBREAPER"}},
		{[]string{"-e", "143", "rq"}, []string{`"-e" is an option of supervise`, "SUPERVISE_EXIT_ZERO"}},
		{[]string{"-v", "rq"}, []string{`"-v" is an option of supervise`}},
		{[]string{"--", "rq", "worker"}, []string{`a second "--"`}},
		{[]string{"--stop-delay=5s", "rq"}, []string{`"--stop-delay=5s" is an option of supervise`, "SUPERVISE_STOP_DELAY"}},
	} {
		code, _, stderr := runCLI(append([]string{"--"}, c.args...)...)
		if code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: no %q in %q", c.args, w, stderr)
			}
		}
	}
	// A program whose name looks like an option is still run when it
	// exists: here by its path.
	dir := t.TempDir()
	prog := dir + "/-g"
	os.WriteFile(prog, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	if _, ok := ownOption(prog, runOptions); ok {
		t.Errorf("%s, an executable, was taken for an option", prog)
	}
	code, _, stderr := runCLI("--", "--grace-period", "30s", "rq", "worker")
	if code != 2 || !strings.Contains(stderr, `"--grace-period" is an option of supervise`) || !strings.Contains(stderr, "SUPERVISE_GRACE_PERIOD") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestErrorsNameTheSource(t *testing.T) {
	t.Setenv("SUPERVISE_LISTEN", "nope")
	code, _, stderr := runCLI("--", "true")
	if code != 2 || !strings.HasPrefix(stderr, `supervise: invalid SUPERVISE_LISTEN "nope"`) {
		t.Errorf("from the environment: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI("--listen", "nope", "--", "true")
	if code != 2 || !strings.HasPrefix(stderr, `supervise: invalid --listen "nope"`) {
		t.Errorf("from the command line: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("SUPERVISE_GRACE_PERIOD", "soon")
	code, _, stderr = runCLI("plan", "--", "rq", "worker")
	if code != 2 || !strings.HasPrefix(stderr, `supervise: invalid SUPERVISE_GRACE_PERIOD: invalid duration "soon"`) {
		t.Errorf("plan: exit %d, stderr %q", code, stderr)
	}
}

// hueyAt is the huey preset's ladder at grace, as ladder.Size makes it,
// and when its KILL lands: every expected rung in these tests comes from
// here, so a change of the margin touches internal/ladder alone.
func hueyAt(grace time.Duration) (ladder.Ladder, time.Duration) {
	p, _ := ladder.Lookup("huey")
	b := ladder.Budget{Grace: grace}
	l, _ := ladder.Size(p, b)
	return l, l.KillAt(b)
}

func TestPlan(t *testing.T) {
	l10, kill10 := hueyAt(10 * time.Second)
	l300, kill300 := hueyAt(300 * time.Second)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"plan", "--grace-period", "10s", "--", "huey_consumer", "app.huey"}, []string{
			"preset:       huey (auto: program huey_consumer)",
			"grace period: 10s, from --grace-period",
			"ladder:       " + l10.String(),
			"deadline:     KILL lands " + kill10.String() + " after the stop signal, " + (10*time.Second - kill10).String() + " before the",
			"The worker drains for up to " + l10.Rungs[0].Wait.String() + ".",
			"must be at least 10s",
			"Warnings: none."}},
		{[]string{"--grace-period", "300s", "plan", "huey_consumer", "app.huey"}, []string{
			"ladder:       " + l300.String(), "KILL lands " + kill300.String() + " after the stop signal"}},
		{[]string{"plan", "--", "huey_consumer", "app.huey"}, []string{
			"grace period: unset", "supervise keeps no deadline of its", "ladder:       INT,…,INT,…,KILL", "on a repeated stop signal  INT",
			"lasts until the orchestrator's SIGKILL"}},
		{[]string{"plan", "--grace-period", "3s", "--", "rq", "worker"}, []string{
			"grace period 3s is short for the rq ladder"}},
		{[]string{"plan", "--", "my-server"}, []string{"preset:       generic", "passed on as received"}},
		{[]string{"plan", "--preset", "none", "--grace-period", "10s", "--", "rq", "worker"}, []string{"forwarded as received, with no timer"}},
	}
	for _, c := range cases {
		code, out, stderr := runCLI(c.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: no %q in\n%s", c.args, w, out)
			}
		}
	}
	if code, _, _ := runCLI("plan"); code != 2 {
		t.Errorf("plan without a command: exit %d, want 2", code)
	}
}

// supervise plan names where the fast stop came from: the option or its
// variable, never the grace period's source.
func TestPlanFastStopFrom(t *testing.T) {
	_, out, _ := runCLI("plan", "--grace-period", "10s", "--fast-stop", "7s", "--", "celery", "-A", "app", "worker")
	if !strings.Contains(out, "fast stop:    7s after QUIT, from --fast-stop\n") {
		t.Errorf("--fast-stop:\n%s", out)
	}
	t.Setenv("SUPERVISE_FAST_STOP", "7s")
	t.Setenv("SUPERVISE_GRACE_PERIOD", "10s")
	_, out, _ = runCLI("plan", "--", "celery", "-A", "app", "worker")
	if !strings.Contains(out, "fast stop:    7s after QUIT, from SUPERVISE_FAST_STOP\n") || !strings.Contains(out, "from SUPERVISE_GRACE_PERIOD") {
		t.Errorf("SUPERVISE_FAST_STOP:\n%s", out)
	}
}

func TestPresetsAtThreeGraces(t *testing.T) {
	code, out, _ := runCLI("presets", "--grace-period", "45s")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	at := func(grace time.Duration) string { l, _ := hueyAt(grace); return l.String() }
	for _, w := range []string{"grace 10s:           " + at(10*time.Second), "grace 30s:           " + at(30*time.Second),
		"grace 5m0s:          " + at(5*time.Minute), "grace 45s (yours):   " + at(45*time.Second),
		"no grace period:     INT,…,INT,…,KILL", "supervise plan", "docs/workers.md"} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in presets output", w)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len([]rune(l)) > 80 {
			t.Errorf("line over 80 columns: %q", l)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		code, out, _ := runCLI(args...)
		if code != 0 || !strings.Contains(out, "--grace-period") {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, l := range strings.Split(out, "\n") {
			if len([]rune(l)) > 79 {
				t.Errorf("%v: line over 79 columns: %q", args, l)
			}
		}
	}
	_, v1, _ := runCLI("version")
	code, v2, _ := runCLI("--version")
	if code != 0 || !strings.HasPrefix(v1, "supervise ") || !strings.Contains(v1, "linux/") {
		t.Errorf("version %q", v1)
	}
	// --version is read by dockerd as its init's version: split at " - ",
	// "tini version " before, "git." and the commit after, each part
	// whole (moby daemon/info_unix.go parseInitVersion).
	line := strings.TrimSpace(v2)
	before, after, ok := strings.Cut(line, " - ")
	git := strings.Split(after, ".")
	if code != 0 || strings.Count(v2, "\n") != 1 || !ok || !strings.HasPrefix(before, "tini version ") ||
		len(git) != 2 || git[0] != "git" || git[1] == "" || strings.Contains(after, " ") {
		t.Errorf("--version exit %d %q: not a line dockerd reads", code, v2)
	}
	if code, _, stderr := runCLI("check", "--url", "localhost:9797"); code != 2 || !strings.Contains(stderr, "invalid --url") {
		t.Errorf("check with a bad URL: exit %d %q", code, stderr)
	}
}

// Every run option is in one of --help's groups.
func TestHelpGroupsCoverEveryOption(t *testing.T) {
	for _, o := range runOptions {
		if !slices.Contains(helpOrder, o.group) {
			t.Errorf("--%s is in no help group (%q)", o.name, o.group)
		}
	}
}

// The --cleanup-grace default is written as a constant; it must say what
// the supervisor uses when the option is absent.
func TestCleanupGraceDefault(t *testing.T) {
	d, err := time.ParseDuration(defaultCleanupGrace)
	if err != nil || d != supervisor.DefaultCleanupGrace {
		t.Fatalf("--cleanup-grace default %q is %v (%v), the supervisor's is %v", defaultCleanupGrace, d, err, supervisor.DefaultCleanupGrace)
	}
}

// With a grace period that is one of the three shown anyway, presets
// marks that row rather than printing it twice.
func TestPresetsYourGraceOnce(t *testing.T) {
	_, out, _ := runCLI("presets", "--grace-period", "30s")
	if n := strings.Count(out, "grace 30s (yours):"); n != len(ladder.Names())-2 {
		t.Errorf("%d rows \"grace 30s (yours)\", want one per preset with a ladder:\n%s", n, out)
	}
	if strings.Contains(out, "grace 30s:") {
		t.Errorf("the 30s row is printed twice:\n%s", out)
	}
}
