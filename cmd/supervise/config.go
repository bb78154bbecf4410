package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/credential"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/logging"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// usageError is bad input: one line on stderr and exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// duration reads a duration option, naming it in the error.
func duration(c *cli.Context, name string) (time.Duration, error) {
	d, err := ladder.ParseDuration(c.String(name))
	if err != nil {
		return 0, usagef("invalid --%s: %v", name, err)
	}
	return d, nil
}

// buildConfig turns the parsed command line into the supervisor's Config.
func buildConfig(c *cli.Context) (supervisor.Config, error) {
	var cfg supervisor.Config
	argv := c.Args().Slice()
	if len(argv) == 0 {
		return cfg, usagef("no command given: usage: supervise [OPTIONS] [--] COMMAND [ARG...]")
	}
	if argv[0] == "" {
		return cfg, usagef("empty command name")
	}
	cfg.Argv = argv
	cfg.Env = os.Environ()

	log, err := buildLogger(c)
	if err != nil {
		return cfg, err
	}
	cfg.Log = log

	cfg.Preset = strings.ToLower(strings.TrimSpace(c.String("preset")))
	if _, ok := ladder.Lookup(cfg.Preset); !ok && cfg.Preset != "auto" {
		return cfg, usagef("invalid --preset %q: want one of %s", c.String("preset"), strings.Join(ladder.Names(), ", "))
	}
	if cfg.Budget.Grace, err = duration(c, "grace-period"); err != nil {
		return cfg, err
	}
	if cfg.Budget.Grace < time.Second {
		return cfg, usagef("invalid --grace-period %q: must be at least 1s", c.String("grace-period"))
	}
	if c.String("drain-timeout") != "" {
		if cfg.Budget.DrainTimeout, err = duration(c, "drain-timeout"); err != nil {
			return cfg, err
		}
		if cfg.Budget.DrainTimeout < ladder.MinSpacing {
			return cfg, usagef("invalid --drain-timeout %q: must be at least %s", c.String("drain-timeout"), ladder.MinSpacing)
		}
	}
	if cfg.Budget.StopDelay, err = duration(c, "stop-delay"); err != nil {
		return cfg, err
	}
	if s := c.String("stop"); s != "" {
		if cfg.Stop, err = ladder.ParseStop(s); err != nil {
			return cfg, usageError{err.Error()}
		}
	}
	if cfg.CleanupGrace, err = duration(c, "cleanup-grace"); err != nil {
		return cfg, err
	}

	cfg.Rewrite = signals.Rewrite{}
	for _, r := range c.StringSlice("rewrite") {
		if err := cfg.Rewrite.Add(r); err != nil {
			return cfg, usageError{err.Error()}
		}
	}
	cfg.ExitZero = map[int]bool{}
	for _, e := range c.StringSlice("exit-zero") {
		n, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil || n < 0 || n > 255 {
			return cfg, usagef("invalid -e/--exit-zero %q: want an exit status from 0 to 255", e)
		}
		cfg.ExitZero[n] = true
	}

	cfg.Subreaper = c.Bool("subreaper") || envSet("TINI_SUBREAPER")
	cfg.Group = c.Bool("group") || envSet("TINI_KILL_PROCESS_GROUP")
	cfg.WarnOnReap = c.Bool("warn-reap")

	switch m := supervisor.RestartMode(strings.ToLower(c.String("restart"))); m {
	case supervisor.RestartNo, supervisor.RestartOnFailure, supervisor.RestartAlways:
		cfg.Restart = m
	default:
		return cfg, usagef("invalid --restart %q: want no, on-failure or always", c.String("restart"))
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.String("restart-max")))
	if err != nil || n < 0 || n > 1_000_000 {
		return cfg, usagef("invalid --restart-max %q: want a whole number from 0 (no limit) to 1000000", c.String("restart-max"))
	}
	cfg.RestartMax = n

	if u := c.String("user"); u != "" {
		if cfg.Credential, cfg.Home, err = credential.Resolve(u); err != nil {
			return cfg, usageError{err.Error()}
		}
	}
	return cfg, nil
}

// buildLogger applies --log-format, --log-level, -v and TINI_VERBOSITY.
func buildLogger(c *cli.Context) (*slog.Logger, error) {
	level := slog.LevelInfo
	if v, ok := os.LookupEnv("TINI_VERBOSITY"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, usagef("invalid TINI_VERBOSITY %q: want a whole number 0 or more", v)
		}
		level = tiniLevel(n)
	}
	if n := c.Count("verbose"); n > 0 {
		level = tiniLevel(1 + n)
	}
	if s := c.String("log-level"); s != "" {
		l, err := logging.ParseLevel(s)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		level = l
	}
	log, err := logging.New(os.Stderr, c.String("log-format"), level)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return log, nil
}

// tiniLevel maps tini's verbosity (0 errors, 1 warnings, 2 info, 3+ debug)
// onto slog levels; supervise's own default is info, as stops are
// explained at that level.
func tiniLevel(n int) slog.Level {
	switch {
	case n <= 0:
		return slog.LevelError
	case n == 1:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

// envSet reports whether a tini switch variable is present; tini reads
// presence, not value.
func envSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}
