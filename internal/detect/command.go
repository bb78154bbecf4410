package detect

import (
	"path/filepath"
	"strings"
)

// Generic is the preset name for a program no rule recognises.
const Generic = "generic"

// Detection is a preset name and the reason it was picked.
type Detection struct {
	Preset string
	Reason string
}

// rule recognises one worker: by program, script or python module name,
// and, for multi-purpose programs (celery, rq, rake), a subcommand among
// the arguments.
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
	// Resque's documented start is its rake task (lib/resque/tasks.rb).
	{preset: "resque", names: []string{"rake"}, needArg: "resque:work"},
	{preset: "nginx", names: []string{"nginx"}},
	{preset: "postgres", names: []string{"postgres", "postmaster"}},
}

// versioned reports whether name is base followed only by digits and
// dots: python3, python3.11, ruby3.1, php-fpm8.2.
func versioned(name, base string) bool {
	rest, ok := strings.CutPrefix(name, base)
	return ok && strings.Trim(rest, "0123456789.") == ""
}

// Command picks a preset from a command line as it was started, looking
// through interpreters ("python -m celery", "python3 huey_consumer.py",
// "ruby /usr/bin/sidekiq"), a shell's -c string ("sh -c 'QUEUE=* rake
// resque:work'") and simple wrappers (env, nice, exec, bundle exec). Any
// other program gets Generic.
func Command(argv []string) Detection {
	return command(argv, 0)
}

// command is Command, depth shells deep: a -c string is read once, not a
// shell inside it.
func command(argv []string, depth int) Detection {
	c := program(argv)
	if c.how == "shell -c" {
		if depth > 0 {
			return Detection{Preset: Generic, Reason: "no known worker in a shell's -c string"}
		}
		d := command(c.args, depth+1)
		if d.Preset == Generic {
			return Detection{Preset: Generic, Reason: "no known worker in a shell's -c string"}
		}
		d.Reason = "shell -c " + d.Reason
		return d
	}
	prog := c.name
	if c.how == "python script" || c.how == "ruby script" {
		prog = filepath.Base(prog)
	}
	if prog == "" {
		return Detection{Preset: Generic, Reason: "no known worker in " + c.how}
	}
	if versioned(prog, "php-fpm") {
		return Detection{Preset: "php-fpm", Reason: c.how + " " + prog}
	}
	for _, r := range rules {
		if !contains(r.names, prog) {
			continue
		}
		if r.needArg == "" {
			return Detection{Preset: r.preset, Reason: c.how + " " + prog}
		}
		if contains(c.args, r.needArg) {
			return Detection{Preset: r.preset, Reason: c.how + " " + prog + " with argument " + r.needArg}
		}
	}
	return Detection{Preset: Generic, Reason: "no known worker in " + c.how + " " + prog}
}

// cmd is the program a command line runs: its name, the arguments after
// it, and how it was found ("program", "python module", "python script",
// "ruby script", "shell -c" with the -c string's words as args, or a
// phrase for a command line that runs none: "python -c").
type cmd struct {
	name string
	args []string
	how  string
}

// program finds the program a command line runs.
func program(argv []string) cmd {
	i := 0
	for i < len(argv) {
		base := filepath.Base(argv[i])
		switch {
		case wrappers[base] != nil:
			i = skipOptions(argv, i+1, wrappers[base])
			if base == "env" {
				i = skipAssignments(argv, i)
			}
			continue
		case base == "bundle" && i+1 < len(argv) && argv[i+1] == "exec":
			i += 2
			continue
		case versioned(base, "python"):
			return python(argv[i+1:])
		case versioned(base, "ruby"):
			return ruby(argv[i+1:])
		case shells[base]:
			if s, ok := shellString(argv[i+1:]); ok {
				return cmd{args: words(s), how: "shell -c"}
			}
		}
		return cmd{name: base, args: argv[i+1:], how: "program"}
	}
	return cmd{how: "an empty command line"}
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

// shells are the POSIX shells whose -c string Command reads.
var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "zsh": true, "ksh": true}

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

// skipAssignments returns the index of the first argument from i on that
// is not a NAME=value assignment.
func skipAssignments(argv []string, i int) int {
	for i < len(argv) && assignment(argv[i]) {
		i++
	}
	return i
}

// assignment reports whether w is a shell variable assignment, NAME=value.
func assignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// shellString finds the command string of a shell's arguments: "-c
// STRING", also with other single-letter options beside c ("-ec",
// "-e -c"); false when the shell runs a script or reads stdin.
func shellString(args []string) (string, bool) {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return "", false
		}
		if !strings.HasPrefix(a, "--") && strings.ContainsRune(a[1:], 'c') {
			if i+1 < len(args) {
				return args[i+1], true
			}
			return "", false
		}
	}
	return "", false
}

// words splits a shell's -c string into the command it runs, the way a
// Dockerfile's shell form is written: words split at blanks, a quoted
// word kept whole (its quotes dropped), leading NAME=value assignments
// and "exec" skipped, and the first command only (up to ;, &, | or a
// newline). It is no shell: expansions stay as written.
func words(s string) []string {
	var out []string
	var w strings.Builder
	in, quote := false, rune(0)
	flush := func() {
		if in {
			out = append(out, w.String())
			w.Reset()
			in = false
		}
	}
scan:
	for _, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			flush()
		case c == ';' || c == '&' || c == '|' || c == '\n':
			break scan
		default:
			w.WriteRune(c)
			in = true
		}
	}
	flush()
	i := skipAssignments(out, 0)
	for i < len(out) && out[i] == "exec" {
		i = skipAssignments(out, i+1)
	}
	return out[i:]
}

// python reads the arguments of a python interpreter: "-m module" or a script.
func python(args []string) cmd {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-m" && i+1 < len(args):
			return cmd{name: args[i+1], args: args[i+2:], how: "python module"}
		case strings.HasPrefix(a, "-m") && len(a) > 2:
			return cmd{name: a[2:], args: args[i+1:], how: "python module"}
		case a == "-c":
			return cmd{how: "python -c"}
		case a == "-W" || a == "-X" || a == "-Q":
			i++ // these options take a value
		case strings.HasPrefix(a, "-"):
		default:
			return cmd{name: a, args: args[i+1:], how: "python script"}
		}
	}
	return cmd{how: "python with no script"}
}

// ruby reads the arguments of a ruby interpreter: a script, or "-S
// program" (found on PATH). Ruby's RubyGems wrappers run this way: the
// kernel runs /usr/bin/sidekiq as "/usr/bin/ruby3.1 /usr/bin/sidekiq".
func ruby(args []string) cmd {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-S" && i+1 < len(args):
			return cmd{name: args[i+1], args: args[i+2:], how: "ruby script"}
		case a == "-e":
			return cmd{how: "ruby -e"}
		case a == "-I" || a == "-r" || a == "-C" || a == "-E" || a == "-F":
			i++ // these options take a value when it is not attached
		case a == "--":
			if i+1 < len(args) {
				return cmd{name: args[i+1], args: args[i+2:], how: "ruby script"}
			}
		case strings.HasPrefix(a, "-"):
		default:
			return cmd{name: a, args: args[i+1:], how: "ruby script"}
		}
	}
	return cmd{how: "ruby with no script"}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Presets lists every preset name Command, Script and Title can return.
func Presets() []string {
	seen := map[string]bool{Generic: true, "php-fpm": true}
	out := []string{Generic, "php-fpm"}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, r := range rules {
		add(r.preset)
	}
	for _, t := range titles {
		add(t.preset)
	}
	for _, p := range workerImports {
		add(p)
	}
	return out
}

// Recognised lists the program and module names Command maps to preset.
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
