package main

import (
	"fmt"

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

func checkFlags() []cli.Flag { return buildFlags(checkOptions) }

// checkCommand is `supervise check`: probe a running supervise; exit 0
// healthy, 1 not, 2 bad usage. It sets *code.
func checkCommand(code *int) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "probe a running supervise: exit 0 healthy, 1 not (for HEALTHCHECK)",
		UsageText: "supervise check [--ready] [--url URL] [--timeout D]",
		Flags:     checkFlags(),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err.Error() + " (see supervise check --help)"}
		},
		Action: func(c *cli.Context) error {
			n, err := runCheck(c)
			*code = n
			return err
		},
	}
}

// runCheck probes /livez (or /readyz with --ready) and returns the exit
// status.
func runCheck(c *cli.Context) (int, error) {
	in := input{c: c}
	if c.Args().Present() {
		return 0, usagef("check takes no arguments, got %q", c.Args().First())
	}
	timeout, err := duration.Parse(c.String("timeout"))
	if err != nil || timeout <= 0 {
		return 0, usagef("invalid %s %q: want a duration like 3s", in.source("timeout"), c.String("timeout"))
	}
	path := "/livez?verbose"
	if c.Bool("ready") {
		path = "/readyz?verbose"
	}
	url := c.String("url")
	if url != "" {
		if err := health.CheckURL(url); err != nil {
			return 0, in.invalid("url", err)
		}
	} else {
		listen := c.String("listen")
		if listen == "off" {
			return 0, usagef("the health server is off (%s off): nothing to check", in.source("listen"))
		}
		if url, err = health.ProbeURL(listen, path); err != nil {
			return 0, in.invalid("listen", err)
		}
	}
	ok, body, err := health.Probe(url, timeout)
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "supervise check: %s: %v\n", url, err)
		return 1, nil
	}
	if !ok {
		fmt.Fprintln(c.App.ErrWriter, body)
		return 1, nil
	}
	return 0, nil
}
