package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// writeHelp prints supervise's own help: options grouped, one short line
// each, fitting an 80-column terminal (urfave/cli's default template puts
// the default and the variable name on every line, past 130 columns).
func writeHelp(w io.Writer) {
	fmt.Fprint(w, `supervise: PID-1 init and supervisor for job-queue worker containers

Usage:
  supervise [OPTIONS] [--] COMMAND [ARG...]       run COMMAND as the child
  supervise plan [OPTIONS] [--] COMMAND [ARG...]  what a stop would do
  supervise check [--ready] [--url URL]           probe a running supervise
  supervise presets [OPTIONS]                     the built-in stop protocols
  supervise version | help

After "--", a word is always the child's command. Every option below also
reads SUPERVISE_<NAME> (--grace-period: SUPERVISE_GRACE_PERIOD), except -v
and -l. Durations: 30s, 1m30s, 250ms or whole seconds.
`)
	// Grouped by each flag's Category, in the order a user looks for them
	// (urfave/cli's own template sorts groups by name), each flag in the
	// table's order.
	flags := runFlags()
	for _, g := range helpOrder {
		fmt.Fprintf(w, "\n%s:\n", g)
		for _, f := range flags {
			if cf := f.(cli.VisibleFlag); cf.IsVisible() && f.(cli.CategorizableFlag).GetCategory() == g {
				fmt.Fprint(w, helpLine(f))
			}
		}
	}
	fmt.Fprint(w, "\nGeneral:\n  -h, --help                 this help\n      --version              the version, as tini prints it (engines read it)\n")
}

// helpLine renders one option: "  -r, --rewrite FROM:TO   rewrite ... (default x)".
func helpLine(f cli.Flag) string {
	names := f.Names()
	left := "    "
	if len(names) > 1 {
		left = "-" + names[1] + ", "
	}
	left += "--" + names[0]
	usage := f.(cli.DocGenerationFlag).GetUsage()
	// The `WORD` in a usage text names the option's value.
	if before, rest, ok := strings.Cut(usage, "`"); ok {
		if arg, after, ok := strings.Cut(rest, "`"); ok {
			left += " " + arg
			usage = before + arg + after
		}
	}
	if d := f.(cli.DocGenerationFlag).GetDefaultText(); d != "" && d != "false" && d != `""` {
		usage += " (default " + strings.Trim(d, `"`) + ")"
	}
	line := fmt.Sprintf("  %-26s %s", left, usage)
	if len(line) > 79 || len(left) > 26 {
		line = fmt.Sprintf("  %s\n  %-26s %s", left, "", usage)
	}
	return line + "\n"
}
