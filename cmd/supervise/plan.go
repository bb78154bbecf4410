package main

import (
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/kube"
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
		OnUsageError: usageErrors(cl, flags, "supervise plan --help"),
		Action: func(c *cli.Context) error {
			in := input{c: c, cl: cl}
			argv := c.Args().Slice()
			if err := in.checkArgv(argv); err != nil {
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
				warns = kp.apply(&cfg, in, func() kube.Own { return kube.Own{} })
			}
			warns = append(warns, memoryWarnings(cgroup.Detect("/sys/fs/cgroup"))...)
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

// printPresets is `supervise presets`: every preset's ladder at the usual
// grace periods and at the one set, if any (plan.WritePresets).
func printPresets(w io.Writer, in input) error {
	if in.c.Args().Present() {
		return usagef("presets takes no arguments, got %q (to preview a command, use supervise plan -- COMMAND)", in.c.Args().First())
	}
	b, err := in.budget()
	if err != nil {
		return err
	}
	plan.WritePresets(w, b)
	return nil
}
