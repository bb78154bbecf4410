package main

import (
	"os/exec"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// envName is the SUPERVISE_ suffix of option name: grace-period ->
// GRACE_PERIOD.
func envName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// ownOption reports whether word, the first word after "--", is really
// one of supervise's run options ("--grace-period", "--grace-period=30s",
// "-g", "-e") or a second "--", and its name: a command line that means
// an option of supervise there is an error, not a child to run. A word
// that names an executable file is the child's, whatever it looks like.
func ownOption(word string) (string, bool) {
	if word == "--" {
		return "--", true
	}
	if !strings.HasPrefix(word, "-") || len(word) < 2 {
		return "", false
	}
	if _, err := exec.LookPath(word); err == nil {
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(word, "-"), "=")
	for _, o := range runOptions {
		if o.name == name || o.alias == name && !strings.HasPrefix(word, "--") {
			return o.name, true
		}
	}
	return "", false
}

// cmdline is the command line as supervise reads it before urfave/cli
// parses it: the one place that looks at argv.
type cmdline struct {
	// args is what urfave/cli parses: every option under its first name,
	// so "-r A --rewrite B" means two rewrites, as with dumb-init (where
	// urfave/cli would refuse two forms of one flag); and a subcommand that
	// takes the run options (plan, presets) moved in front of options
	// given before it, so "supervise --grace-period 30s plan -- cmd" reads
	// like "supervise plan --grace-period 30s -- cmd".
	args []string
	// set names the options given on the command line, before the
	// command: an error then names the flag, not its variable.
	set map[string]bool
	// dashes is true when the first operand comes after "--": it names
	// the child, never a subcommand ("supervise -- version" runs a child
	// called version).
	dashes bool
}

// scan reads args (argv, program name first) against the options of
// table, with subs the subcommands that take them.
func scan(args []string, table []opt, subs ...string) cmdline {
	byName := map[string]opt{}
	for _, o := range table {
		byName[o.name] = o
		if o.alias != "" {
			byName[o.alias] = o
		}
	}
	cl := cmdline{args: append([]string{}, args...), set: map[string]bool{}}
	for i := 1; i < len(cl.args); i++ {
		a := cl.args[i]
		switch {
		case a == "--":
			cl.dashes = true
			return cl
		case !strings.HasPrefix(a, "-") || a == "-":
			if i > 1 && slices.Contains(subs, a) {
				cl.args = append(append([]string{cl.args[0], a}, cl.args[1:i]...), cl.args[i+1:]...)
			}
			return cl
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		o, ok := byName[name]
		if !ok {
			continue // urfave/cli refuses it, with typo hints (usageErrors)
		}
		cl.set[o.name] = true
		cl.args[i] = "--" + o.name
		if hasValue {
			cl.args[i] += "=" + value
		} else if o.kind == text || o.kind == list {
			i++ // the option's value
		}
	}
	return cl
}

// knownEnv lists every SUPERVISE_* variable supervise reads: those of
// the run options given (the ones the command line was parsed with) and
// of check.
func knownEnv(run []cli.Flag) map[string]bool {
	known := map[string]bool{}
	for _, group := range [][]cli.Flag{run, checkFlags()} {
		for _, f := range group {
			if ef, ok := f.(interface{ GetEnvVars() []string }); ok {
				for _, v := range ef.GetEnvVars() {
					known[v] = true
				}
			}
		}
	}
	return known
}

// unknownEnv returns a warning for each SUPERVISE_* variable in environ
// that none of the run options (or check's) reads, with the nearest real
// name.
func unknownEnv(environ []string, run []cli.Flag) []string {
	known := knownEnv(run)
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, strings.TrimPrefix(k, "SUPERVISE_"))
	}
	sort.Strings(names)
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "SUPERVISE_") || known[k] {
			continue
		}
		msg := k + " is set but supervise has no such setting; it is ignored"
		if near := nearest(strings.TrimPrefix(k, "SUPERVISE_"), names); near != "" {
			msg += "; did you mean SUPERVISE_" + near + "?"
		}
		out = append(out, msg)
	}
	return out
}

// unknownFlagHint turns urfave/cli's "flag provided but not defined: -x"
// into a line that shows the option as typed and the nearest real one.
func unknownFlagHint(msg string, args []string, flags []cli.Flag) (string, bool) {
	name, ok := strings.CutPrefix(msg, "flag provided but not defined: -")
	if !ok {
		return "", false
	}
	typed := "-" + name
	for _, a := range args[min(1, len(args)):] {
		if a == "--" {
			break
		}
		if strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-") == name {
			typed = strings.SplitN(a, "=", 2)[0]
			break
		}
	}
	var names []string
	for _, f := range flags {
		names = append(names, f.Names()[0])
	}
	out := "unknown option " + typed
	if near := nearest(name, names); near != "" {
		out += "; did you mean --" + near + "?"
	}
	return out + " (see supervise --help)", true
}

// nearest returns the candidate closest to word, if it is close enough
// to be a likely typo, by the Jaro-Winkler similarity that urfave/cli's
// own suggestions use (xrash/smetrics, which it links).
func nearest(word string, candidates []string) string {
	best, bestScore := "", 0.88
	for _, c := range candidates {
		if s := smetrics.JaroWinkler(strings.ToLower(word), strings.ToLower(c), 0.7, 4); s > bestScore {
			best, bestScore = c, s
		}
	}
	return best
}

// usageErrors is the OnUsageError of a command that takes flags: an
// unknown option gets its nearest real name, anything else points to the
// command's help.
func usageErrors(args []string, flags []cli.Flag, help string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		if hint, ok := unknownFlagHint(err.Error(), args, flags); ok {
			return usageError{hint}
		}
		return usageError{err.Error() + " (see " + help + ")"}
	}
}
