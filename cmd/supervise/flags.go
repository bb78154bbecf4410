package main

import (
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/signals"
)

// env names the SUPERVISE_<NAME> variable an option also reads.
func env(name string, more ...string) []string {
	return append([]string{"SUPERVISE_" + name}, more...)
}

// Help categories, in the order a user looks for them.
const (
	catStop   = "Stop"
	catChild  = "Child"
	catHealth = "Health and metrics"
	catCompat = "tini and dumb-init compatibility"
	catLog    = "Logging"
)

// runFlags are the options of `supervise [OPTIONS] [--] COMMAND` (and of
// plan and presets). Values that need checking (signals, durations,
// ladders) are read as strings and checked in config.go, so every bad
// value gets one clear line. Usage texts stay short: help is read in an
// 80-column terminal.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Category: catStop, Name: "grace-period", EnvVars: env("GRACE_PERIOD"), Usage: "orchestrator's grace `D` (unset: no deadline)"},
		&cli.StringFlag{Category: catStop, Name: "preset", Value: "auto", EnvVars: env("PRESET"), Usage: "stop protocol `NAME`: auto, none, ..."},
		&cli.StringFlag{Category: catStop, Name: "drain-timeout", EnvVars: env("DRAIN_TIMEOUT"), Usage: "fixed drain wait `D`, not planned"},
		&cli.StringFlag{Category: catStop, Name: "stop", EnvVars: env("STOP"), Usage: "ladder by hand: `LADDER` like TERM,290s,QUIT,5s"},
		&cli.StringFlag{Category: catStop, Name: "stop-delay", Value: "0s", EnvVars: env("STOP_DELAY"), Usage: "first rung `D` after readiness 503"},
		&cli.StringFlag{Category: catStop, Name: "grace-from-api", Value: "auto", EnvVars: env("GRACE_FROM_API"), Usage: "ask Kubernetes: `MODE` auto, on, off"},
		&cli.StringFlag{Category: catStop, Name: "kube-serviceaccount-dir", Hidden: true, EnvVars: env("KUBE_SERVICEACCOUNT_DIR"), Usage: "service account `DIR` (token, ca.crt, namespace)"},
		&cli.StringFlag{Category: catStop, Name: "cleanup-grace", Value: "2s", EnvVars: env("CLEANUP_GRACE"), Usage: "leftovers' TERM to KILL `D`"},

		&cli.StringFlag{Category: catStop, Name: "termination-log", EnvVars: env("TERMINATION_LOG"), Usage: "stop report `FILE`, or off"},

		&cli.StringFlag{Category: catChild, Name: "restart", Value: "no", EnvVars: env("RESTART"), Usage: "`POLICY`: no, on-failure, always"},
		&cli.StringFlag{Category: catChild, Name: "restart-max", Value: "0", EnvVars: env("RESTART_MAX"), Usage: "at most `N` restarts (0: no limit)"},
		&cli.StringFlag{Category: catChild, Name: "user", EnvVars: env("USER"), Usage: "run the child as `USER[:GROUP]`"},

		&cli.StringFlag{Category: catHealth, Name: "listen", Value: defaultListen, EnvVars: env("LISTEN"), Usage: "health `ADDR`, or off"},
		&cli.StringFlag{Category: catHealth, Name: "heartbeat-file", EnvVars: env("HEARTBEAT_FILE"), Usage: "liveness needs `FILE` touched"},
		&cli.StringFlag{Category: catHealth, Name: "heartbeat-max-age", Value: "60s", EnvVars: env("HEARTBEAT_MAX_AGE"), Usage: "... within `D`"},
		&cli.StringSliceFlag{Category: catHealth, Name: "ready-tcp", EnvVars: env("READY_TCP"), Usage: "readiness needs `HOST:PORT` open"},
		&cli.StringFlag{Category: catHealth, Name: "health-cmd", EnvVars: env("HEALTH_CMD"), Usage: "readiness needs `CMD` to exit 0"},
		&cli.StringFlag{Category: catHealth, Name: "health-interval", Value: "10s", EnvVars: env("HEALTH_INTERVAL"), Usage: "run readiness checks every `D`"},
		&cli.StringFlag{Category: catHealth, Name: "health-timeout", Value: "5s", EnvVars: env("HEALTH_TIMEOUT"), Usage: "each check may take `D`"},

		&cli.BoolFlag{Category: catCompat, Name: "subreaper", Aliases: []string{"s"}, EnvVars: env("SUBREAPER"), Usage: "be a subreaper if not PID 1"},
		&cli.BoolFlag{Category: catCompat, Name: "group", Aliases: []string{"g"}, EnvVars: env("GROUP"), Usage: "signal the child's process group"},
		&cli.StringSliceFlag{Category: catCompat, Name: "exit-zero", Aliases: []string{"e"}, EnvVars: env("EXIT_ZERO"), Usage: "report exit status `CODE` as 0"},
		&cli.StringFlag{Category: catCompat, Name: "pdeath-signal", Aliases: []string{"p"}, EnvVars: env("PDEATH_SIGNAL"), Usage: "`SIGNAL` when the parent dies"},
		&cli.StringSliceFlag{Category: catCompat, Name: "rewrite", Aliases: []string{"r"}, EnvVars: env("REWRITE"), Usage: "rewrite signal `FROM:TO` (TO=0 drops)"},
		&cli.BoolFlag{Category: catCompat, Name: "warn-reap", Aliases: []string{"w"}, EnvVars: env("WARN_REAP"), Usage: "warn for each orphan reaped"},
		&cli.BoolFlag{Category: catCompat, Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "more logging, tini's scale (-vv debug)"},
		&cli.BoolFlag{Category: catCompat, Name: "license", Aliases: []string{"l"}, Usage: "print the licence and exit"},

		&cli.StringFlag{Category: catLog, Name: "log-level", EnvVars: env("LOG_LEVEL"), Usage: "`LEVEL`: debug, info, warn, error"},
		&cli.StringFlag{Category: catLog, Name: "log-format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "`FORMAT`: text or json"},
	}
}

// testOnlyEnv are SUPERVISE_* variables that only tests set; they are
// known, so they draw no typo warning.
var testOnlyEnv = []string{}

// defaultListen is where the health server listens unless told otherwise.
const defaultListen = "127.0.0.1:9797"

// signal reads a signal option; 0 when unset.
func (in input) signal(name string) (unix.Signal, error) {
	text := in.c.String(name)
	if text == "" {
		return 0, nil
	}
	sig, err := signals.Parse(text)
	if err != nil {
		return 0, in.invalid(name, err)
	}
	return sig, nil
}
