package main

import (
	"time"

	"github.com/urfave/cli/v2"
)

// env names the SUPERVISE_<NAME> variable every option also reads.
func env(name string, more ...string) []string {
	return append([]string{"SUPERVISE_" + name}, more...)
}

// runFlags are the options of `supervise [OPTIONS] [--] COMMAND`. Values
// that need checking (signals, durations, ladders) are read as strings and
// checked in config.go, so every bad value gets one clear line.
func runFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "preset", Value: "auto", EnvVars: env("PRESET"), Usage: "stop protocol `NAME`: auto, none, or a worker (see supervise presets)"},
		&cli.StringFlag{Name: "grace-period", Value: "10s", EnvVars: env("GRACE_PERIOD"), Usage: "`DURATION` the orchestrator allows between its stop signal and SIGKILL; the ladder ends inside it"},
		&cli.StringFlag{Name: "drain-timeout", EnvVars: env("DRAIN_TIMEOUT"), Usage: "`DURATION` of the drain wait of the preset's ladder, instead of planning it from the grace period"},
		&cli.StringFlag{Name: "stop", EnvVars: env("STOP"), Usage: "stop `LADDER` by hand, e.g. 'TERM,290s,QUIT,5s,KILL'"},
		&cli.StringFlag{Name: "stop-delay", Value: "0s", EnvVars: env("STOP_DELAY"), Usage: "on a stop, readiness turns 503 at once and the first rung is sent `DURATION` later"},
		&cli.StringSliceFlag{Name: "rewrite", Aliases: []string{"r"}, EnvVars: env("REWRITE"), Usage: "rewrite a received signal `FROM:TO` (TERM:INT, 15:2; TO=0 drops it); repeatable"},
		&cli.BoolFlag{Name: "subreaper", Aliases: []string{"s"}, EnvVars: env("SUBREAPER"), Usage: "register as a child subreaper when not PID 1 (also TINI_SUBREAPER)"},
		&cli.BoolFlag{Name: "group", Aliases: []string{"g"}, EnvVars: env("GROUP"), Usage: "send forwarded signals to the child's process group (also TINI_KILL_PROCESS_GROUP)"},
		&cli.StringSliceFlag{Name: "exit-zero", Aliases: []string{"e"}, EnvVars: env("EXIT_ZERO"), Usage: "report exit status `CODE` (0-255) as 0; repeatable"},
		&cli.StringFlag{Name: "pdeath-signal", Aliases: []string{"p"}, EnvVars: env("PDEATH_SIGNAL"), Usage: "`SIGNAL` supervise gets when its parent dies (PR_SET_PDEATHSIG)"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Count: new(int), Usage: "more logging (-v debug); also TINI_VERBOSITY"},
		&cli.StringFlag{Name: "log-level", EnvVars: env("LOG_LEVEL"), Usage: "`LEVEL`: debug, info, warn or error (default info)"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: env("LOG_FORMAT"), Usage: "`FORMAT`: text or json"},
		&cli.BoolFlag{Name: "warn-reap", Aliases: []string{"w"}, EnvVars: env("WARN_REAP"), Usage: "log a warning for each orphan reaped"},
		&cli.BoolFlag{Name: "license", Aliases: []string{"l"}, Usage: "print the licence and exit"},
		&cli.StringFlag{Name: "restart", Value: "no", EnvVars: env("RESTART"), Usage: "`POLICY` when the child exits on its own: no, on-failure, always"},
		&cli.StringFlag{Name: "restart-max", Value: "0", EnvVars: env("RESTART_MAX"), Usage: "most restarts (`N`) before giving up; 0 is no limit"},
		&cli.StringFlag{Name: "user", EnvVars: env("USER"), Usage: "run the child as `USER[:GROUP]` (names or numbers)"},
		&cli.StringFlag{Name: "listen", Value: defaultListen, EnvVars: env("LISTEN"), Usage: "`ADDR` (HOST:PORT) of the health and metrics server; off disables it"},
		&cli.StringFlag{Name: "heartbeat-file", EnvVars: env("HEARTBEAT_FILE"), Usage: "`FILE` the worker touches while it makes progress; stale means not live"},
		&cli.StringFlag{Name: "heartbeat-max-age", Value: "60s", EnvVars: env("HEARTBEAT_MAX_AGE"), Usage: "`DURATION` after which the heartbeat file is stale"},
		&cli.StringSliceFlag{Name: "ready-tcp", EnvVars: env("READY_TCP"), Usage: "`HOST:PORT` that must accept a TCP connection for readiness (Redis, Postgres); repeatable"},
		&cli.StringFlag{Name: "health-cmd", EnvVars: env("HEALTH_CMD"), Usage: "`COMMAND` (no shell; quotes work) that must exit 0 for readiness"},
		&cli.StringFlag{Name: "health-interval", Value: "10s", EnvVars: env("HEALTH_INTERVAL"), Usage: "`DURATION` between readiness checks"},
		&cli.StringFlag{Name: "health-timeout", Value: "5s", EnvVars: env("HEALTH_TIMEOUT"), Usage: "`DURATION` a readiness check may take"},
		&cli.StringFlag{Name: "cleanup-grace", Value: "2s", EnvVars: env("CLEANUP_GRACE"), Usage: "after the main child exits, `DURATION` leftover processes get between TERM and KILL"},
	}
}

// defaultListen is where the health server listens unless told otherwise.
const defaultListen = "127.0.0.1:9797"

// checkFlags are the options of `supervise check`.
func checkFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "ready", Usage: "probe /readyz instead of /livez"},
		&cli.StringFlag{Name: "url", EnvVars: env("CHECK_URL"), Usage: "probe this `URL` instead of the one --listen implies"},
		&cli.StringFlag{Name: "listen", Value: defaultListen, EnvVars: env("LISTEN"), Usage: "`ADDR` the supervise to probe listens on"},
		&cli.StringFlag{Name: "timeout", Value: "3s", EnvVars: env("CHECK_TIMEOUT"), Usage: "`DURATION` to wait for an answer"},
	}
}

// defaultGrace is Docker's default stop timeout.
const defaultGrace = 10 * time.Second
