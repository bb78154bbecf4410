package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// supervise exits with the child's status, 128+N for a signal, 0 for codes
// listed with -e, 127 and 126 when the command cannot run.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	notExec := dir + "/script"
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	cases := []struct {
		name string
		env  []string
		args []string
		want int
	}{
		{"code", exitChild{code: 3}.env(), []string{"--", self}, 3},
		{"zero", exitChild{code: 0}.env(), []string{"--", self}, 0},
		{"signal", nil, []string{"--", "sh", "-c", "kill -USR1 $$"}, 128 + 10},
		{"remapped", exitChild{code: 3}.env(), []string{"-e", "3", "--", self}, 0},
		{"remapped signal", nil, []string{"-e", "138", "-e", "4", "--", "sh", "-c", "kill -USR1 $$"}, 0},
		{"not remapped", exitChild{code: 4}.env(), []string{"-e", "3", "--", self}, 4},
		{"not found", nil, []string{"--", "no-such-command-here"}, 127},
		{"not found path", nil, []string{"--", dir + "/missing"}, 127},
		{"not executable", nil, []string{"--", notExec}, 126},
		{"directory", nil, []string{"--", dir}, 126},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := start(t, options{env: c.env}, c.args...)
			if got := p.exit(10 * time.Second); got != c.want {
				t.Errorf("exit status %d, want %d", got, c.want)
			}
		})
	}
}

// Bad input: exit 2, one line on stderr naming the value, no stack trace.
func TestBadInput(t *testing.T) {
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{}, nil, "no command given"},
		{[]string{"--no-such-flag", "true"}, nil, "no-such-flag"},
		{[]string{"--grace-period", "soon", "true"}, nil, `"soon"`},
		{[]string{"--grace-period", "-5s", "true"}, nil, "negative"},
		{[]string{"--grace-period", "0", "true"}, nil, "at least 1s"},
		{[]string{"--grace-period", "9000h", "true"}, nil, "too large"},
		{[]string{"--drain-timeout", "1ms", "true"}, nil, "at least"},
		{[]string{"--stop-delay", "x", "true"}, nil, `"x"`},
		{[]string{"--fast-stop", "1s", "true"}, nil, "at least 1.5s"},
		{[]string{"--grace-period", "8s", "--fast-stop", "7s", "celery", "worker"}, nil, `--fast-stop "7s" (grace period from --grace-period): fast stop 7s does not fit the grace period 8s`},
		{[]string{"true"}, []string{"SUPERVISE_GRACE_PERIOD=30s", "SUPERVISE_DRAIN_TIMEOUT=25s", "SUPERVISE_FAST_STOP=6s", "SUPERVISE_PRESET=celery"}, "do not fit the grace period 30s"},
		{[]string{"--preset", "arq", "--fast-stop", "3s", "true"}, nil, `preset arq has no "stop now" rung`},
		{[]string{"--stop", "TERM,5s,KILL", "--fast-stop", "3s", "true"}, nil, "--fast-stop and --stop both given"},
		{[]string{"--stop", "TERM,5s,QUIT", "true"}, nil, "end in KILL"},
		{[]string{"--stop", "TERM,100ms,KILL", "true"}, nil, "minimum"},
		{[]string{"--stop", "FOO,5s,KILL", "true"}, nil, `"FOO"`},
		{[]string{"--stop", "KILL,5s,TERM", "true"}, nil, "last rung"},
		{[]string{"-r", "TERM", "true"}, nil, "FROM:TO"},
		{[]string{"-r", "FOO:INT", "true"}, nil, `"FOO"`},
		{[]string{"-r", "65:INT", "true"}, nil, "out of range"},
		{[]string{"-r", "KILL:INT", "true"}, nil, "cannot be caught"},
		{[]string{"-r", "0:INT", "true"}, nil, "out of range"},
		{[]string{"-e", "256", "true"}, nil, "0 to 255"},
		{[]string{"-e", "x", "true"}, nil, `"x"`},
		{[]string{"-p", "NOPE", "true"}, nil, `"NOPE"`},
		{[]string{"--preset", "sidekiqq", "true"}, nil, `"sidekiqq"`},
		{[]string{"--restart", "sometimes", "true"}, nil, `"sometimes"`},
		{[]string{"--restart-max", "-1", "true"}, nil, `"-1"`},
		{[]string{"--user", "no-such-user-xyz", "true"}, nil, "no-such-user-xyz"},
		{[]string{"--user", "root:no-such-group", "true"}, nil, "no-such-group"},
		{[]string{"--log-format", "xml", "true"}, nil, `"xml"`},
		{[]string{"--log-level", "loud", "true"}, nil, `"loud"`},
		{[]string{"true"}, []string{"SUPERVISE_GRACE_PERIOD=abc"}, `"abc"`},
		{[]string{"true"}, []string{"SUPERVISE_SUBREAPER=perhaps"}, "perhaps"},
		{[]string{"true"}, []string{"TINI_VERBOSITY=x"}, "TINI_VERBOSITY"},
		{[]string{"true"}, []string{"SUPERVISE_PRESET="}, `""`},
		{[]string{"--", ""}, nil, "empty command"},
		// Options after "--", short ones too, and a second "--": not a
		// program to run (which gave exit 127).
		{[]string{"--", "-g", "rq", "worker"}, nil, `"-g" is an option of supervise`},
		{[]string{"--", "-s", "rq", "worker"}, nil, `"-s" is an option of supervise`},
		{[]string{"--", "-e", "143", "rq"}, nil, `"-e" is an option of supervise`},
		{[]string{"--", "--", "rq", "worker"}, nil, `a second "--"`},
		{[]string{"--listen", "nope", "true"}, nil, `"nope"`},
		{[]string{"--listen", "127.0.0.1:99999", "true"}, nil, "cannot listen"},
		{[]string{"--ready-tcp", "redis", "true"}, nil, `"redis"`},
		{[]string{"--health-cmd", "'open", "true"}, nil, "quote"},
		{[]string{"--heartbeat-file", "/tmp/x", "--heartbeat-max-age", "0", "true"}, nil, "at least 1s"},
		{[]string{"--health-interval", "1ns", "true"}, nil, "health-interval"},
		{[]string{"check", "--timeout", "x"}, nil, `"x"`},
		{[]string{"check", "extra"}, nil, `"extra"`},
		{[]string{"check", "--listen", "off"}, nil, "off"},
		{[]string{"check", "--bogus"}, nil, "bogus"},
	}
	for _, c := range cases {
		cmd := exec.Command(binary, c.args...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		text := strings.TrimSpace(string(out))
		if err == nil || code != 2 {
			t.Errorf("%v %v: exit status %d, want 2 (output %q)", c.env, c.args, code, text)
			continue
		}
		if strings.Count(text, "\n") != 0 || !strings.HasPrefix(text, "supervise: ") || !strings.Contains(text, c.want) {
			t.Errorf("%v %v: output %q, want one line naming %s", c.env, c.args, text, c.want)
		}
		if strings.Contains(text, "goroutine") || strings.Contains(text, "panic") {
			t.Errorf("%v %v: panic: %s", c.env, c.args, text)
		}
	}
}

// Subcommands and informational flags.
func TestInfoCommands(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"version"}, "supervise "},
		{[]string{"presets"}, "huey_consumer"},
		{[]string{"presets"}, "source:"},
		{[]string{"-l"}, "MIT License"},
		{[]string{"--help"}, "--grace-period"},
	} {
		out, err := exec.Command(binary, c.args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("supervise %v: %v, output lacks %q:\n%s", c.args, err, c.want, out)
		}
	}
	// After "--" a word is the child's name, never a subcommand.
	out, _ := exec.Command(binary, "--", "version").CombinedOutput()
	if !strings.Contains(string(out), `cannot run \"version\"`) {
		t.Errorf("supervise -- version ran the subcommand: %s", out)
	}
}

// A busy default address costs the health server, not the child: one
// warning, and the child runs.
func TestDefaultListenBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:9797")
	if err != nil {
		t.Logf("127.0.0.1:9797 already taken by someone else: the case holds all the same")
	} else {
		defer l.Close()
	}
	p := start(t, options{env: exitChild{code: 4}.env()}, "--", self)
	if code := p.exit(10 * time.Second); code != 4 {
		t.Errorf("exit status %d, want the child's 4", code)
	}
	p.waitFor(`level=WARN msg="health server off: cannot listen on the default address"`, time.Second)
}

// --log-format json: one JSON object per line, marked as supervise's.
func TestJSONLogs(t *testing.T) {
	p := start(t, options{env: exitChild{code: 0}.env()}, "--log-format", "json", "--listen", "off", "--", self)
	p.exit(10 * time.Second)
	n := 0
	for _, line := range strings.Split(p.output(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not JSON: %q: %v", line, err)
			continue
		}
		if rec["logger"] != "supervise" || rec["msg"] == nil || rec["level"] == nil {
			t.Errorf("record lacks logger/msg/level: %q", line)
		}
		n++
	}
	if n < 3 {
		t.Errorf("%d JSON log lines, want at least 3:\n%s", n, p.output())
	}
}

// Verbosity, on tini's scale: -vv and TINI_VERBOSITY=3 show debug lines
// (each forwarded signal); -v, TINI_VERBOSITY=1 and 2 and the default are
// info; TINI_VERBOSITY=0 leaves only errors.
func TestVerbosity(t *testing.T) {
	cases := []struct {
		args        []string
		env         []string
		debug, info bool
	}{
		{[]string{"-vv"}, nil, true, true},
		{[]string{"-v"}, nil, false, true},
		{nil, []string{"TINI_VERBOSITY=3"}, true, true},
		{nil, []string{"TINI_VERBOSITY=2"}, false, true},
		{nil, []string{"TINI_VERBOSITY=1"}, false, true},
		{nil, nil, false, true},
		{nil, []string{"TINI_VERBOSITY=0"}, false, false},
		{[]string{"--log-level", "warn"}, nil, false, false},
	}
	for _, c := range cases {
		args := append(append([]string{"--listen", "off"}, c.args...), "--", self)
		p := start(t, options{env: append(signalsChild{exitOn: "USR2"}.env(), c.env...)}, args...)
		p.waitFor(`^child ready`, 10*time.Second)
		p.signal(syscall.SIGUSR2)
		p.exit(10 * time.Second)
		if got := p.count(`level=DEBUG msg="forwarded signal" signal=USR2`) > 0; got != c.debug {
			t.Errorf("%v %v: debug lines %v, want %v", c.args, c.env, got, c.debug)
		}
		if got := p.count(`level=INFO msg="started child"`) > 0; got != c.info {
			t.Errorf("%v %v: info lines %v, want %v", c.args, c.env, got, c.info)
		}
	}
}
