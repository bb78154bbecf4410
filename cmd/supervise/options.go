package main

import (
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// envName is the SUPERVISE_ suffix of option name: grace-period ->
// GRACE_PERIOD.
func envName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// ownOption reports whether word is one of supervise's run options
// written as an option ("--grace-period", "--grace-period=30s"), and its
// name.
func ownOption(word string) (string, bool) {
	if !strings.HasPrefix(word, "--") {
		return "", false
	}
	name, _, _ := strings.Cut(word[2:], "=")
	for _, f := range runFlags() {
		if f.Names()[0] == name {
			return name, true
		}
	}
	return "", false
}

// onCommandLine reports whether option name was given on the command
// line, before the child's command. args must be in canonical form.
func onCommandLine(args []string, name string) bool {
	for i, a := range args[min(1, len(args)):] {
		if i == 0 && (a == "plan" || a == "presets") {
			continue
		}
		if a == "--" || !strings.HasPrefix(a, "-") {
			return false
		}
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

// canonicalFlags writes every option under its first name, so "-r A
// --rewrite B" means two rewrites, as with dumb-init, where urfave/cli
// would refuse two forms of one flag. Only options before the command are
// touched.
func canonicalFlags(args []string, flags []cli.Flag) []string {
	primary := map[string]string{}
	for _, f := range flags {
		names := f.Names()
		for _, n := range names[1:] {
			primary[n] = names[0]
		}
	}
	out := append([]string{}, args...)
	for i := 1; i < len(out); i++ {
		a := out[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if p, ok := primary[name]; ok {
			a = "--" + p
			if hasValue {
				a += "=" + value
			}
			out[i] = a
		}
		if !hasValue && valueFlag(flags, strings.TrimLeft(out[i], "-")) {
			i++
		}
	}
	return out
}

// valueFlag reports whether the option called name takes a value.
func valueFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				tv, ok := f.(interface{ TakesValue() bool })
				return ok && tv.TakesValue()
			}
		}
	}
	return false
}

// commandAfterDashes reports whether the command line's first operand
// comes after "--", so it names the child, never a subcommand.
func commandAfterDashes(args []string, flags []cli.Flag) bool {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return true
		case !strings.HasPrefix(a, "-") || a == "-":
			return false
		case !strings.Contains(a, "=") && valueFlag(flags, strings.TrimLeft(a, "-")):
			i++ // the option's value
		}
	}
	return false
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
	for _, v := range testOnlyEnv {
		known[v] = true
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

// nearest returns the candidate closest to word by edit distance, if it
// is close enough to be a likely typo (at most a third of its length).
func nearest(word string, candidates []string) string {
	best, bestD := "", len(word)/3+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(word), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, counting a
// swap of two neighbouring letters as one edit (the commonest typo).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// subcommandFirst moves a subcommand that takes the run options (plan,
// presets) in front of any options given before it, so "supervise
// --grace-period 30s plan -- cmd" reads like "supervise plan
// --grace-period 30s -- cmd": the subcommand parses every option.
func subcommandFirst(args []string, flags []cli.Flag, names ...string) []string {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args
		case !strings.HasPrefix(a, "-") || a == "-":
			for _, n := range names {
				if a == n && i > 1 {
					out := append([]string{args[0], a}, args[1:i]...)
					return append(out, args[i+1:]...)
				}
			}
			return args
		case !strings.Contains(a, "=") && valueFlag(flags, strings.TrimLeft(a, "-")):
			i++ // the option's value
		}
	}
	return args
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
