package main

import (
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/cgroup"
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
			cfg := supervisor.Config{Argv: argv, Env: os.Environ(), Defaults: in.engineDefaults().text()}
			if err := in.stopOptions(&cfg); err != nil {
				return err
			}
			_, warns, err := in.startPlan(&cfg, nil)
			if err != nil {
				return err
			}
			// The pod's and the cgroup's warnings come before the plan's
			// own, the environment's typos after.
			p := cfg.StartPlan
			warns = append(warns, cgroup.Detect("/sys/fs/cgroup").Warnings()...)
			p.Warnings = append(append(warns, p.Warnings...), unknownEnv(os.Environ(), in.c.App.Flags)...)
			p.Describe(stdout)
			return nil
		},
	}
}

// presetsCommand is `supervise presets`: every preset's ladder at the
// usual grace periods and at the one set, if any (plan.WritePresets).
func presetsCommand(stdout io.Writer, cl cmdline, flags []cli.Flag) *cli.Command {
	return &cli.Command{
		Name:         "presets",
		Usage:        "print the built-in stop protocols and their ladders",
		Flags:        flags,
		OnUsageError: usageErrors(cl, flags, "supervise presets --help"),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("presets takes no arguments, got %q (to preview a command, use supervise plan -- COMMAND)", c.Args().First())
			}
			b, err := input{c: c, cl: cl}.budget()
			if err == nil {
				plan.WritePresets(stdout, b)
			}
			return err
		},
	}
}
