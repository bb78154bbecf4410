package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/duration"
	"github.com/supervise/supervise/internal/health"
)

// checkOptions are the options of `supervise check`.
var checkOptions = []opt{
	{name: "ready", kind: flag, noEnv: true, usage: "probe /readyz instead of /livez"},
	{name: "url", envAs: "CHECK_URL", usage: "probe this `URL` instead of the one --listen implies"},
	{name: "listen", def: defaultListen, usage: "`ADDR` the supervise to probe listens on"},
	{name: "timeout", def: "3s", envAs: "CHECK_TIMEOUT", usage: "`DURATION` to wait for an answer"},
}

// checkCommand is `supervise check`: probe a running supervise's /livez
// (or /readyz with --ready); exit 0 healthy, 1 not, 2 bad usage. It sets
// *code.
func checkCommand(code *int) *cli.Command {
	flags := buildFlags(checkOptions)
	return &cli.Command{
		Name:         "check",
		Usage:        "probe a running supervise: exit 0 healthy, 1 not (for HEALTHCHECK)",
		UsageText:    "supervise check [--ready] [--url URL] [--timeout D]",
		Flags:        flags,
		OnUsageError: usageErrors(cmdline{}, flags, "supervise check --help"),
		Action: func(c *cli.Context) error {
			in := input{c: c}
			if c.Args().Present() {
				return usagef("check takes no arguments, got %q", c.Args().First())
			}
			timeout, err := duration.Parse(c.String("timeout"))
			if err != nil || timeout <= 0 {
				return usagef("invalid %s %q: want a duration like 3s", in.source("timeout"), c.String("timeout"))
			}
			if c.String("url") == "" && c.String("listen") == "off" {
				return usagef("the health server is off (%s off): nothing to check", in.source("listen"))
			}
			*code, err = health.Check(health.CheckOptions{URL: c.String("url"), Listen: c.String("listen"),
				Ready: c.Bool("ready"), Timeout: timeout}, c.App.ErrWriter)
			var oe *health.OptionError
			if errors.As(err, &oe) {
				return in.invalid(oe.Option, oe.Err)
			}
			return err
		},
	}
}
