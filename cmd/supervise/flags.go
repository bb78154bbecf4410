package main

import (
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
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

// helpGroups sorts the run options into --help's groups, in order. (Kept
// here rather than as the flags' Category: urfave/cli renders every
// categorised flag at start to build its own help, which supervise does not
// use: measured, a tenth of its start-up instructions.)
var helpGroups = []struct {
	title string
	names []string
}{
	{catStop, []string{"grace-period", "preset", "drain-timeout", "stop", "stop-delay", "grace-from-api", "kube-container", "kube-serviceaccount-dir", "cleanup-grace", "termination-log"}},
	{catChild, []string{"restart", "restart-max", "user"}},
	{catHealth, []string{"listen", "heartbeat-file", "heartbeat-max-age", "ready-tcp", "health-cmd", "health-interval", "health-timeout"}},
	{catCompat, []string{"subreaper", "group", "exit-zero", "pdeath-signal", "rewrite", "warn-reap", "verbose", "license"}},
	{catLog, []string{"log-level", "log-format"}},
}

// runFlags are the options of `supervise [OPTIONS] [--] COMMAND` (and of
// plan and presets). Values that need checking (signals, durations,
// ladders) are read as strings and checked in config.go, so every bad
// value gets one clear line. Usage texts stay short: help is read in an
// 80-column terminal.
func runFlags() []cli.Flag {
	return fastNames(allRunFlags())
}

func allRunFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "grace-period", EnvVars: env("GRACE_PERIOD"), Usage: "orchestrator's grace `D` (unset: no deadline)"},
		&cli.StringFlag{Name: "preset", Value: "auto", EnvVars: env("PRESET"), Usage: "stop protocol `NAME`: auto, none, ..."},
		&cli.StringFlag{Name: "drain-timeout", EnvVars: env("DRAIN_TIMEOUT"), Usage: "fixed drain wait `D`, not planned"},
		&cli.StringFlag{Name: "stop", EnvVars: env("STOP"), Usage: "ladder by hand: `LADDER` like TERM,290s,QUIT,5s"},
		&cli.StringFlag{Name: "stop-delay", Value: "0s", EnvVars: env("STOP_DELAY"), Usage: "first rung `D` after readiness 503"},
		&cli.StringFlag{Name: "grace-from-api", Value: "auto", EnvVars: env("GRACE_FROM_API"), Usage: "ask Kubernetes: `MODE` auto, on, off"},
		&cli.StringFlag{Name: "kube-container", EnvVars: env("KUBE_CONTAINER"), Usage: "its container's `NAME`, in a pod of several"},
		&cli.StringFlag{Name: "kube-serviceaccount-dir", Hidden: true, EnvVars: env("KUBE_SERVICEACCOUNT_DIR"), Usage: "service account `DIR` (token, ca.crt, namespace)"},
		&cli.StringFlag{Name: "cleanup-grace", Value: supervisor.DefaultCleanupGrace.String(), EnvVars: env("CLEANUP_GRACE"), Usage: "leftovers' TERM to KILL `D`"},

		&cli.StringFlag{Name: "termination-log", EnvVars: env("TERMINATION_LOG"), Usage: "stop report `FILE`, or off"},

		&cli.StringFlag{Name: "restart", Value: "no", EnvVars: env("RESTART"), Usage: "`POLICY`: no, on-failure, always"},
		&cli.StringFlag{Name: "restart-max", Value: "0", EnvVars: env("RESTART_MAX"), Usage: "at most `N` restarts (0: no limit)"},
		&cli.StringFlag{Name: "user", EnvVars: env("USER"), Usage: "run the child as `USER[:GROUP]`"},

		&cli.StringFlag{Name: "listen", Value: defaultListen, EnvVars: env("LISTEN"), Usage: "health `ADDR`, or off"},
		&cli.StringFlag{Name: "heartbeat-file", EnvVars: env("HEARTBEAT_FILE"), Usage: "liveness needs `FILE` touched"},
		&cli.StringFlag{Name: "heartbeat-max-age", Value: "60s", EnvVars: env("HEARTBEAT_MAX_AGE"), Usage: "... within `D`"},
		&cli.StringSliceFlag{Name: "ready-tcp", EnvVars: env("READY_TCP"), Usage: "readiness needs `HOST:PORT` open"},
		&cli.StringFlag{Name: "health-cmd", EnvVars: env("HEALTH_CMD"), Usage: "readiness needs `CMD` to exit 0"},
		&cli.StringFlag{Name: "health-interval", Value: "10s", EnvVars: env("HEALTH_INTERVAL"), Usage: "run readiness checks every `D`"},
		&cli.StringFlag{Name: "health-timeout", Value: "5s", EnvVars: env("HEALTH_TIMEOUT"), Usage: "each check may take `D`"},

		&cli.BoolFlag{Name: "subreaper", Aliases: []string{"s"}, EnvVars: env("SUBREAPER"), Usage: "be a subreaper if not PID 1"},
		&cli.BoolFlag{Name: "group", Aliases: []string{"g"}, EnvVars: env("GROUP"), Usage: "signal the child's process group"},
		&cli.StringSliceFlag{Name: "exit-zero", Aliases: []string{"e"}, EnvVars: env("EXIT_ZERO"), Usage: "report exit status `CODE` as 0"},
		&cli.StringFlag{Name: "pdeath-signal", Aliases: []string{"p"}, EnvVars: env("PDEATH_SIGNAL"), Usage: "`SIGNAL` when the parent dies"},
		&cli.StringSliceFlag{Name: "rewrite", Aliases: []string{"r"}, EnvVars: env("REWRITE"), Usage: "rewrite signal `FROM:TO` (TO=0 drops)"},
		&cli.BoolFlag{Name: "warn-reap", Aliases: []string{"w"}, EnvVars: env("WARN_REAP"), Usage: "warn for each orphan reaped"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "more logging, tini's scale (-vv debug)"},
		&cli.BoolFlag{Name: "license", Aliases: []string{"l"}, Usage: "print the licence and exit"},

		&cli.StringFlag{Name: "log-level", EnvVars: env("LOG_LEVEL"), Usage: "`LEVEL`: debug, info, warn, error"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "`FORMAT`: text or json"},
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

// fastNames gives each flag its names computed once. urfave/cli's Names()
// runs a regular expression over every name on each call, and looking up
// whether one flag is set calls Names() on every flag: measured with
// callgrind, that was 46% of supervise's start-up instructions.
func fastNames(flags []cli.Flag) []cli.Flag {
	// The names are Name and Aliases as written: none holds the comma or
	// space that the regular expression is there to cut off.
	names := func(name string, aliases []string) []string { return append([]string{name}, aliases...) }
	out := make([]cli.Flag, len(flags))
	for i, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			out[i] = stringFlag{f, names(f.Name, f.Aliases)}
		case *cli.StringSliceFlag:
			out[i] = stringSliceFlag{f, names(f.Name, f.Aliases)}
		case *cli.BoolFlag:
			out[i] = boolFlag{f, names(f.Name, f.Aliases)}
		default:
			out[i] = f
		}
	}
	return out
}

// The flag types of supervise, with their names computed once.
type (
	stringFlag struct {
		*cli.StringFlag
		names []string
	}
	stringSliceFlag struct {
		*cli.StringSliceFlag
		names []string
	}
	boolFlag struct {
		*cli.BoolFlag
		names []string
	}
)

func (f stringFlag) Names() []string      { return f.names }
func (f stringSliceFlag) Names() []string { return f.names }
func (f boolFlag) Names() []string        { return f.names }
