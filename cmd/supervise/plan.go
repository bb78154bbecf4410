package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// planCommand is `supervise plan [OPTIONS] [--] COMMAND`: what a stop of
// COMMAND would do with these options, without starting anything.
// flags are the run options, shared: one command runs per process.
func planCommand(stdout io.Writer, args []string, flags []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:         "plan",
		Usage:        "show what a stop would do with these options; starts nothing",
		UsageText:    "supervise plan [OPTIONS] [--] COMMAND [ARG...]",
		Flags:        flags,
		OnUsageError: usageErrors(args, flags, "supervise plan --help"),
		Action: func(c *cli.Context) error {
			in := input{c: c, args: args}
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
			printPlan(stdout, in, &cfg, argv, kp, warns)
			return nil
		},
	}
}

// printPlan writes the preview of a stop of argv under cfg.
// kp is what the pod spec said, nil outside Kubernetes; warns are the
// warnings found so far.
func printPlan(w io.Writer, in input, cfg *supervisor.Config, argv []string, kp *kubePlan, warns []string) {
	c := cfg.ChoosePreset(argv, func() ladder.Files { return supervisor.ScriptFiles(os.Environ()) })
	b := cfg.Budget
	lad, more := cfg.PlanLadder(c.Preset, b)
	warns = append(append(warns, more...), ladder.CheckWorkerTimeout(c.Preset, argv, lad, b)...)
	fmt.Fprintf(w, "command:      %s\n", strings.Join(argv, " "))
	fmt.Fprintf(w, "preset:       %s (%s)\n", c.Preset, c.Reason)
	if b.Grace > 0 {
		fmt.Fprintf(w, "grace period: %s, from %s\n", b.Grace, cfg.GraceFrom)
	} else {
		fmt.Fprintf(w, "grace period: not set: supervise keeps no deadline of its own\n")
	}
	if len(lad.Steps) == 0 {
		fmt.Fprintf(w, "\nOn a stop signal, supervise passes it to the child as received, and a\n"+
			"repeated one too. It starts no timer: the orchestrator's SIGKILL is the end.\n")
		printWarnings(w, warns)
		return
	}
	fmt.Fprintf(w, "ladder:       %s\n\nAfter the stop signal (TERM from docker stop or the kubelet):\n", lad)
	for _, r := range lad.Preview(b) {
		when := r.When
		if r.Timed {
			when = r.At.String()
		}
		fmt.Fprintf(w, "  %-26s %-9s %s\n", when, rungSignal(r.Signal), r.Role)
	}
	di := lad.DrainIndex()
	switch {
	case lad.Timed && kp != nil && kp.deadline.After > 0:
		kill := lad.KillAt(b)
		fmt.Fprintf(w, "  %-26s %-9s %s\n", b.Grace.String(), "", "the kubelet's SIGKILL")
		fmt.Fprintf(w, "\nThe worker drains for up to %s. supervise's KILL lands at %s, %s before\n"+
			"the kubelet's, which comes %s after its stop signal: %s.\n"+
			"At each stop supervise reads the pod again: a deletion's own grace\n"+
			"(kubectl delete --grace-period) and deletionTimestamp replan the ladder.\n",
			lad.Steps[di].Wait, kill, b.Grace-kill, b.Grace, kp.deadline.From)
	case lad.Timed && b.Grace > 0:
		kill := lad.KillAt(b)
		fmt.Fprintf(w, "  %-26s %-9s %s\n", b.Grace.String(), "", "the orchestrator's SIGKILL")
		fmt.Fprintf(w, "\nThe worker drains for up to %s. supervise's KILL lands at %s, %s before\n"+
			"the orchestrator's. The orchestrator's grace period must be at least %s:\n"+
			"compose stop_grace_period: %s, or Kubernetes terminationGracePeriodSeconds: %d.\n",
			lad.Steps[di].Wait, kill, b.Grace-kill, b.Grace, b.Grace, int(b.Grace.Round(time.Second)/time.Second))
	case lad.Timed:
		kill := lad.KillAt(b)
		fmt.Fprintf(w, "\nThe worker drains for up to %s; supervise's KILL lands at %s. No grace period\n"+
			"is set, so nothing checks that the orchestrator waits that long: its grace\n"+
			"period must be more than %s.\n", lad.Steps[di].Wait, kill, kill)
	case lad.RepeatForwards:
		fmt.Fprintf(w, "\nA repeated stop signal is passed on as received, as tini does. The drain\n"+
			"lasts until the orchestrator's SIGKILL. Set SUPERVISE_GRACE_PERIOD to the\n"+
			"orchestrator's grace period to have supervise KILL the child just before it.\n")
	default:
		fmt.Fprintf(w, "\nRepeated stop signals advance one rung each, at least %s apart. The drain\n"+
			"lasts until the orchestrator's SIGKILL, however long its grace period is.\n"+
			"Set SUPERVISE_GRACE_PERIOD to the orchestrator's grace period (compose\n"+
			"stop_grace_period, Kubernetes terminationGracePeriodSeconds) to have the\n"+
			"drain timed inside it and the fast stop sent before the SIGKILL.\n", ladder.MinSpacing)
	}
	printWarnings(w, append(warns, unknownEnv(os.Environ(), in.c.App.Flags)...))
}

func rungSignal(s unix.Signal) string {
	if s == ladder.AsReceived {
		return "(as received)"
	}
	return signals.Name(s)
}

func printWarnings(w io.Writer, warns []string) {
	if len(warns) == 0 {
		fmt.Fprintf(w, "\nWarnings: none.\n")
		return
	}
	fmt.Fprintf(w, "\nWarnings:\n")
	for _, m := range warns {
		fmt.Fprintf(w, "  - %s\n", m)
	}
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
	if b.Grace > 0 {
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
