package main

import (
	"github.com/urfave/cli/v2"
)

// optKind is how an option takes its value.
type optKind int

const (
	text  optKind = iota // one value, read as a string and checked where it is used
	list                 // a value that may be given again (or comma-separated)
	flag                 // a switch
	count                // a switch that counts (-vv)
)

// opt is one run option. runOptions, the table of them, feeds the parser
// (urfave/cli flags), --help and its groups, the SUPERVISE_* names and the
// typo hints: adding an option is one row here and the code that uses its
// value. Values that need checking (signals, durations, ladders) are read
// as strings and checked once, where they are used, so every bad value
// gets one clear line. Usage texts stay short: help is read in an
// 80-column terminal.
type opt struct {
	name, alias string
	group       string
	def         string
	usage       string
	kind        optKind
	noEnv       bool   // reads no SUPERVISE_ variable (-v, -l)
	envAs       string // the SUPERVISE_ suffix when it is not the name's
	hidden      bool
}

// Help groups, in the order a user looks for them.
const (
	catStop   = "Stop"
	catChild  = "Child"
	catHealth = "Health and metrics"
	catCompat = "tini and dumb-init compatibility"
	catLog    = "Logging"
)

var helpOrder = []string{catStop, catChild, catHealth, catCompat, catLog}

// defaultListen is where the health server listens unless told otherwise.
const defaultListen = "127.0.0.1:9797"

// defaultCleanupGrace is supervisor.DefaultCleanupGrace as the option
// reads it (a test holds them equal). A constant, so building the table
// formats nothing at start.
const defaultCleanupGrace = "2s"

var runOptions = []opt{
	{name: "grace-period", group: catStop, usage: "orchestrator's grace `D` (unset: no deadline)"},
	{name: "preset", group: catStop, def: "auto", usage: "stop protocol `NAME`: auto, none, ..."},
	{name: "drain-timeout", group: catStop, usage: "fixed drain wait `D`, not planned"},
	{name: "stop", group: catStop, usage: "ladder by hand: `LADDER` like TERM,290s,QUIT,5s"},
	{name: "fast-stop", group: catStop, usage: "worker's own `D` after \"stop now\", before KILL"},
	{name: "stop-delay", group: catStop, def: "0s", usage: "first rung `D` after readiness 503"},
	{name: "grace-from-api", group: catStop, def: "auto", usage: "ask Kubernetes: `MODE` auto, on, off"},
	{name: "kube-container", group: catStop, usage: "its container's `NAME`, in a pod of several"},
	{name: "kubelet-stop-grace", group: catStop, usage: "kubelet's own stops' grace `D` (eviction...)"},
	{name: "kube-serviceaccount-dir", group: catStop, hidden: true, usage: "service account `DIR` (token, ca.crt, namespace)"},
	{name: "cleanup-grace", group: catStop, def: defaultCleanupGrace, usage: "leftovers' TERM to KILL `D`"},
	{name: "termination-log", group: catStop, usage: "stop report `FILE`, or off"},

	{name: "restart", group: catChild, def: "no", usage: "`POLICY`: no, on-failure, always"},
	{name: "restart-max", group: catChild, def: "0", usage: "at most `N` restarts (0: no limit)"},
	{name: "user", group: catChild, usage: "run the child as `USER[:GROUP]`"},
	{name: "close-fds", group: catChild, kind: flag, usage: "child gets no descriptor but 0, 1, 2"},

	{name: "listen", group: catHealth, def: defaultListen, usage: "health `ADDR`, or off"},
	{name: "heartbeat-file", group: catHealth, usage: "liveness needs `FILE` touched"},
	{name: "heartbeat-max-age", group: catHealth, def: "60s", usage: "... within `D`"},
	{name: "ready-tcp", group: catHealth, kind: list, usage: "readiness needs `HOST:PORT` open"},
	{name: "health-cmd", group: catHealth, usage: "readiness needs `CMD` to exit 0"},
	{name: "health-interval", group: catHealth, def: "10s", usage: "run readiness checks every `D`"},
	{name: "health-timeout", group: catHealth, def: "5s", usage: "each check may take `D`"},

	{name: "subreaper", alias: "s", group: catCompat, kind: flag, usage: "be a subreaper if not PID 1"},
	{name: "group", alias: "g", group: catCompat, kind: flag, usage: "signal the child's process group"},
	{name: "exit-zero", alias: "e", group: catCompat, kind: list, usage: "report exit status `CODE` as 0"},
	{name: "pdeath-signal", alias: "p", group: catCompat, usage: "`SIGNAL` when the parent dies"},
	{name: "rewrite", alias: "r", group: catCompat, kind: list, usage: "rewrite signal `FROM:TO` (TO=0 drops)"},
	{name: "warn-reap", alias: "w", group: catCompat, kind: flag, usage: "warn for each orphan reaped"},
	{name: "verbose", alias: "v", group: catCompat, kind: count, noEnv: true, usage: "more logging, tini's scale (-vv debug)"},
	{name: "license", alias: "l", group: catCompat, kind: flag, noEnv: true, usage: "print the licence and exit"},
	{name: "pause", alias: "P", group: catCompat, kind: flag, noEnv: true, usage: "no child: reap, exit on TERM (catatonit)"},

	{name: "log-level", group: catLog, usage: "`LEVEL`: debug, info, warn, error"},
	{name: "log-format", group: catLog, def: "text", usage: "`FORMAT`: text or json"},
}

// runFlags are the options of `supervise [OPTIONS] [--] COMMAND` (and of
// plan and presets), built from runOptions.
func runFlags() []cli.Flag { return buildFlags(runOptions) }

// buildFlags makes urfave/cli flags from a table, each with its names
// computed once. (urfave/cli's Names() runs a regular expression over
// every name on each call, and looking up whether one flag is set calls
// Names() on every flag: measured with callgrind, that was 46% of
// supervise's start-up instructions.)
func buildFlags(table []opt) []cli.Flag {
	out := make([]cli.Flag, 0, len(table))
	for _, o := range table {
		names := []string{o.name}
		var aliases []string
		if o.alias != "" {
			names, aliases = append(names, o.alias), []string{o.alias}
		}
		// The SUPERVISE_<NAME> variable the option also reads.
		envs := []string{"SUPERVISE_" + envName(o.name)}
		if o.envAs != "" {
			envs[0] = "SUPERVISE_" + o.envAs
		} else if o.noEnv {
			envs = nil
		}
		switch o.kind {
		case text:
			out = append(out, stringFlag{&cli.StringFlag{Name: o.name, Aliases: aliases, Value: o.def, EnvVars: envs,
				Usage: o.usage, Hidden: o.hidden, Category: o.group}, names})
		case list:
			out = append(out, stringSliceFlag{&cli.StringSliceFlag{Name: o.name, Aliases: aliases, EnvVars: envs, Usage: o.usage,
				Category: o.group}, names})
		case flag:
			out = append(out, boolFlag{&cli.BoolFlag{Name: o.name, Aliases: aliases, EnvVars: envs, Usage: o.usage, Category: o.group}, names})
		case count:
			out = append(out, boolFlag{&cli.BoolFlag{Name: o.name, Aliases: aliases, Count: new(int), Usage: o.usage, Category: o.group}, names})
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
