package main

import (
	"os/exec"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// envName is the SUPERVISE_ suffix of option name: grace-period ->
// GRACE_PERIOD.
func envName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// cmdline is the command line as supervise reads it before urfave/cli
// parses it. scan is the one place that walks argv; everything else asks
// cmdline.
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
	// typed holds each option the table does not know as it was written
	// ("--grace-perod"), by its name, for the typo hint.
	typed map[string]string
	// dashes is true when the first operand comes after "--": it names
	// the child, never a subcommand ("supervise -- version" runs a child
	// called version).
	dashes bool
	// misplaced, when set, is the first word after "--" when it is really
	// one of supervise's options ("--grace-period=30s", "-g") or a second
	// "--", and misplacedName that option's name ("--" for the second
	// "--"): an error, not a child to run (as when `docker run IMAGE
	// --grace-period 30s` meets an ENTRYPOINT that ends in "--").
	misplaced, misplacedName string
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
	cl := cmdline{args: append([]string{}, args...), set: map[string]bool{}, typed: map[string]string{}}
	sub := false
	for i := 1; i < len(cl.args); i++ {
		a := cl.args[i]
		switch {
		case a == "--":
			cl.dashes = !sub
			if i+1 < len(cl.args) {
				cl.misplaced = cl.args[i+1]
				cl.misplacedName, _ = ownOption(cl.misplaced, table)
			}
			return cl
		case !strings.HasPrefix(a, "-") || a == "-":
			if sub || !slices.Contains(subs, a) {
				return cl
			}
			// A subcommand: its options follow it.
			sub = true
			if i > 1 {
				cl.args = append(append([]string{cl.args[0], a}, cl.args[1:i]...), cl.args[i+1:]...)
			}
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		o, ok := byName[name]
		if !ok {
			cl.typed[name], _, _ = strings.Cut(a, "=")
			continue // urfave/cli refuses it (usageErrors)
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

// ownOption reports whether word is one of table's options ("--grace-period",
// "--grace-period=30s", "-g") or "--", and its name. A word that names an
// executable file is the child's, whatever it looks like.
func ownOption(word string, table []opt) (string, bool) {
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
	for _, o := range table {
		if o.name == name || o.alias == name && !strings.HasPrefix(word, "--") {
			return o.name, true
		}
	}
	return "", false
}

// suggest returns urfave/cli's nearest flag name to word ("--preset"), by
// its own matcher (cli.SuggestFlag), when it is close enough to be a
// likely typo; "" otherwise. The matcher always answers, so the closeness
// is checked here, by the same Jaro-Winkler similarity.
func suggest(word string, flags []cli.Flag) string {
	if cli.SuggestFlag == nil {
		return ""
	}
	near := strings.TrimLeft(cli.SuggestFlag(flags, word, true), "-")
	if near == "" || smetrics.JaroWinkler(strings.ToLower(word), near, 0.7, 4) < 0.88 {
		return ""
	}
	return near
}

// unknownEnv returns a warning for each SUPERVISE_* variable in environ
// that none of the run options (or check's) reads, with the nearest real
// name.
func unknownEnv(environ []string, run []cli.Flag) []string {
	all := append(append([]cli.Flag{}, run...), buildFlags(checkOptions)...)
	known := map[string]bool{}
	envOf := map[string]string{} // each variable, by its flag's name
	for _, f := range all {
		for _, v := range f.(cli.DocGenerationFlag).GetEnvVars() {
			known[v], envOf[f.Names()[0]] = true, v
		}
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "SUPERVISE_") || known[k] {
			continue
		}
		msg := k + " is set but supervise has no such setting; it is ignored"
		word := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "SUPERVISE_"), "_", "-"))
		if v := envOf[suggest(word, all)]; v != "" {
			msg += "; did you mean " + v + "?"
		}
		out = append(out, msg)
	}
	return out
}

// usageErrors is the OnUsageError of a command that takes flags: an
// unknown option gets its nearest real name, anything else points to the
// command's help.
func usageErrors(cl cmdline, flags []cli.Flag, help string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
		if !ok {
			return usageError{err.Error() + " (see " + help + ")"}
		}
		typed := cl.typed[name]
		if typed == "" {
			typed = "-" + name
		}
		msg := "unknown option " + typed
		if near := suggest(name, flags); near != "" {
			msg += "; did you mean --" + near + "?"
		}
		return usageError{msg + " (see " + help + ")"}
	}
}
