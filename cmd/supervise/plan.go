package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/supervisor"
)

// planCommand is `supervise plan [OPTIONS] [--] COMMAND`: what a stop of
// COMMAND would do with these options, without starting anything.
// flags are the run options, shared: one command runs per process.
func planCommand(stdout io.Writer, cl cmdline, flags []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:         "plan",
		Usage:        "show what a stop would do with these options; starts nothing",
		UsageText:    "supervise plan [OPTIONS] [--] COMMAND [ARG...]",
		Flags:        flags,
		OnUsageError: usageErrors(cl.args, flags, "supervise plan --help"),
		Action: func(c *cli.Context) error {
			in := input{c: c, set: cl.set}
			argv := c.Args().Slice()
			if err := checkArgv(argv); err != nil {
				return err
			}
			var cfg supervisor.Config
			if err := in.stopPlan(&cfg); err != nil {
				return err
			}
			kp, err := in.readPod()
			if err != nil {
				return err
			}
			var warns []string
			if kp != nil {
				warns = kp.apply(&cfg, in)
			}
			return printPlan(stdout, in, &cfg, argv, warns, unknownEnv(os.Environ(), in.c.App.Flags))
		},
	}
}

// printPlan writes the preview of a stop of argv under cfg: the plan the
// supervisor would make at start, with warns (the pod's, the environment's
// typos) before and after its own warnings.
// Waits that do not fit are refused, as at start.
func printPlan(w io.Writer, in input, cfg *supervisor.Config, argv []string, before, after []string) error {
	p := plan.Make(cfg.PlanOptions(), argv, func() ladder.Files { return plan.ScriptFiles(os.Environ()) })
	if err := in.fits(p); err != nil {
		return err
	}
	p.Warnings = append(append(before, p.Warnings...), after...)
	p.Describe(w)
	return nil
}

// presetGraces are the grace periods `supervise presets` shows each
// ladder at: Docker's default, Kubernetes' default, and a long-task one.
var presetGraces = []time.Duration{10 * time.Second, 30 * time.Second, 300 * time.Second}

// printPresets lists each preset with its ladder at 10s, 30s and 300s,
// without a grace period, and at the grace period set, if any.
func printPresets(w io.Writer, in input) error {
	if in.c.Args().Present() {
		return usagef("presets takes no arguments, got %q (to preview a command, use supervise plan -- COMMAND)", in.c.Args().First())
	}
	b, err := in.budget()
	if err != nil {
		return err
	}
	graces := presetGraces
	if b.Grace > 0 && !slices.Contains(graces, b.Grace) {
		graces = append(append([]time.Duration{}, graces...), b.Grace)
	}
	for _, name := range ladder.Names() {
		if name == "auto" {
			fmt.Fprintf(w, "auto (the default)\n  picks a preset from the child's command line, at start and again at the\n"+
				"  stop; any program it does not know gets %s\n\n", ladder.Generic)
			continue
		}
		p, _ := ladder.Lookup(name)
		fmt.Fprintf(w, "%s\n%s", name, wrap(p.Summary, "  ", 78))
		if len(p.Steps) == 0 {
			fmt.Fprintf(w, "  ladder: none: stop signals are forwarded as received, no timer\n")
		} else {
			for _, g := range graces {
				l, _ := ladder.Plan(p, ladder.Budget{Grace: g, StopDelay: b.StopDelay, DrainTimeout: b.DrainTimeout})
				label := "grace " + g.String()
				if g == b.Grace {
					label += " (yours)"
				}
				fmt.Fprintf(w, "  %-20s %s\n", label+":", l)
			}
			l, _ := ladder.Plan(p, ladder.Budget{})
			fmt.Fprintf(w, "  %-20s %s (… = on a repeated stop signal)\n", "no grace period:", l)
		}
		fmt.Fprint(w, wrap("source: "+p.Source, "  ", 78))
		tested := p.Tested
		if tested == "" {
			tested = "not run against a real worker by supervise's tests"
		}
		fmt.Fprint(w, wrap("tested with: "+tested, "  ", 78))
		if r := ladder.Recognised(name); len(r) > 0 {
			fmt.Fprintf(w, "  auto picks it for: %s\n", strings.Join(r, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "What a stop of your own command would do: supervise plan [OPTIONS] -- COMMAND\n"+
		"How each worker stops, with sources: docs/workers.md in supervise's source.\n")
	return nil
}

// wrap breaks text into lines of at most width columns, each starting
// with indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}
