package ladder

import (
	"path/filepath"
	"strings"
)

// Detection is the result of Detect: a preset name and the reason for it.
type Detection struct {
	Preset string
	Reason string
}

// rule recognises one worker: by program or python module name, and, for
// multi-purpose programs (celery, rq), a subcommand among the arguments.
type rule struct {
	preset  string
	names   []string
	needArg string
}

var rules = []rule{
	{preset: "huey", names: []string{"huey_consumer", "huey_consumer.py", "huey.bin.huey_consumer"}},
	{preset: "rq", names: []string{"rqworker"}},
	{preset: "rq", names: []string{"rq", "rq.cli"}, needArg: "worker"},
	{preset: "celery", names: []string{"celery"}, needArg: "worker"},
	{preset: "dramatiq", names: []string{"dramatiq", "dramatiq-gevent"}},
	{preset: "gunicorn", names: []string{"gunicorn"}},
	{preset: "uvicorn", names: []string{"uvicorn"}},
	{preset: "arq", names: []string{"arq"}},
	{preset: "sidekiq", names: []string{"sidekiq"}},
	{preset: "nginx", names: []string{"nginx"}},
	{preset: "postgres", names: []string{"postgres", "postmaster"}},
}

// versioned reports whether name is base followed only by digits and
// dots: python3, python3.11, php-fpm8.2.
func versioned(name, base string) bool {
	rest, ok := strings.CutPrefix(name, base)
	return ok && strings.Trim(rest, "0123456789.") == ""
}

// Detect picks a preset from a command line, looking through python
// interpreters ("python -m celery", "python3 huey_consumer.py") and simple
// wrappers (env, nice, exec, bundle exec). Any other program gets the
// generic ladder.
func Detect(argv []string) Detection {
	prog, rest, how := program(argv)
	if how == "python script" {
		prog = filepath.Base(prog)
	}
	if prog == "" {
		return Detection{Preset: Generic, Reason: "no known worker in " + how}
	}
	if versioned(prog, "php-fpm") {
		return Detection{Preset: "php-fpm", Reason: how + " " + prog}
	}
	for _, r := range rules {
		if !contains(r.names, prog) {
			continue
		}
		if r.needArg == "" {
			return Detection{Preset: r.preset, Reason: how + " " + prog}
		}
		if contains(rest, r.needArg) {
			return Detection{Preset: r.preset, Reason: how + " " + prog + " with argument " + r.needArg}
		}
	}
	return Detection{Preset: Generic, Reason: "no known worker in " + how + " " + prog}
}

// program finds the program a command line runs: its name, the arguments
// after it, and how it was found ("program", "python module", "python script").
func program(argv []string) (string, []string, string) {
	i := 0
	for i < len(argv) {
		base := filepath.Base(argv[i])
		switch {
		case wrappers[base] != nil:
			i = skipOptions(argv, i+1, wrappers[base])
			if base == "env" {
				for i < len(argv) && strings.Contains(argv[i], "=") {
					i++
				}
			}
			continue
		case base == "bundle" && i+1 < len(argv) && argv[i+1] == "exec":
			i += 2
			continue
		case versioned(base, "python"):
			return python(argv[i+1:])
		}
		return base, argv[i+1:], "program"
	}
	return "", nil, "an empty command line"
}

// wrappers are commands that run another command, with the options of
// theirs that take a separate value.
var wrappers = map[string]map[string]bool{
	"env":    {"-u": true, "--unset": true, "-C": true, "--chdir": true, "-S": true},
	"exec":   {"-a": true},
	"nice":   {"-n": true, "--adjustment": true},
	"nohup":  {},
	"ionice": {"-c": true, "-n": true, "-p": true},
}

// skipOptions returns the index of the first argument from i on that is
// not an option (or an option's value).
func skipOptions(argv []string, i int, withValue map[string]bool) int {
	for i < len(argv) && strings.HasPrefix(argv[i], "-") {
		if argv[i] == "--" {
			return i + 1
		}
		if withValue[argv[i]] {
			i++
		}
		i++
	}
	return i
}

// python reads the arguments of a python interpreter: "-m module" or a script.
func python(args []string) (string, []string, string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-m" && i+1 < len(args):
			return args[i+1], args[i+2:], "python module"
		case strings.HasPrefix(a, "-m") && len(a) > 2:
			return a[2:], args[i+1:], "python module"
		case a == "-c":
			return "", nil, "python -c"
		case a == "-W" || a == "-X" || a == "-Q":
			i++ // these options take a value
		case strings.HasPrefix(a, "-"):
		default:
			return a, args[i+1:], "python script"
		}
	}
	return "", nil, "python with no script"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Recognised lists the program and module names Detect maps to preset.
func Recognised(preset string) []string {
	var out []string
	for _, r := range rules {
		if r.preset != preset {
			continue
		}
		for _, n := range r.names {
			if r.needArg != "" {
				n += " ... " + r.needArg
			}
			out = append(out, n)
		}
	}
	if preset == "php-fpm" {
		out = append(out, "php-fpm", "php-fpmX.Y")
	}
	return out
}
