package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/credential"
	"github.com/supervise/supervise/internal/duration"
	"github.com/supervise/supervise/internal/kube"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/logging"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// usageError is bad input: one line on stderr and exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// input reads option values and says where each came from, so an error
// names what the user set: --grace-period or SUPERVISE_GRACE_PERIOD.
type input struct {
	c  *cli.Context
	cl cmdline
}

// source names where option name's value came from.
func (in input) source(name string) string {
	if !in.cl.set[name] {
		if v := "SUPERVISE_" + envName(name); os.Getenv(v) != "" {
			return v
		}
	}
	return "--" + name
}

// bad is the one-line error for value of option name, which err says is
// out of bounds: "invalid --health-interval "50ms": must be at least 100ms".
func (in input) bad(name, value string, err error) error {
	return usagef("invalid %s %q: %v", in.source(name), value, err)
}

// invalid is the one-line error for a bad value of option name.
func (in input) invalid(name string, err error) error {
	return usagef("invalid %s: %v", in.source(name), err)
}

// duration reads a duration option.
func (in input) duration(name string) (time.Duration, error) {
	d, err := duration.Parse(in.c.String(name))
	if err != nil {
		return 0, in.invalid(name, err)
	}
	return d, nil
}

// budget reads the grace period, drain timeout, stop delay and fast stop,
// each checked once here (ladder.Budget.Validate says the bounds). Those
// that may be left unset say so when given as zero.
func (in input) budget() (ladder.Budget, error) {
	var b ladder.Budget
	options := []struct {
		name, field string
		to          *time.Duration
		least       time.Duration
		unset       string // how to do without it; "" when it cannot be unset
	}{
		{"grace-period", ladder.FieldGrace, &b.Grace, ladder.MinGrace, "leave it unset when the grace period is not known"},
		{"drain-timeout", ladder.FieldDrainTimeout, &b.DrainTimeout, ladder.MinSpacing, "leave it unset to plan the drain from the grace period"},
		{"stop-delay", ladder.FieldStopDelay, &b.StopDelay, 0, ""},
		{"fast-stop", ladder.FieldFastStop, &b.FastStop, ladder.MinSpacing, "leave it unset for the preset's own wait"},
	}
	for _, o := range options {
		text := in.c.String(o.name)
		if o.unset != "" && strings.TrimSpace(text) == "" {
			continue
		}
		d, err := in.duration(o.name)
		switch {
		case err != nil:
			return b, err
		case d == 0 && o.unset != "":
			return b, usagef("invalid %s %q: must be at least %s; %s", in.source(o.name), text, o.least, o.unset)
		}
		*o.to = d
	}
	var fe *ladder.FieldError
	if err := b.Validate(); errors.As(err, &fe) {
		for _, o := range options {
			if o.field == fe.Field {
				return b, usagef("invalid %s %q: %s", in.source(o.name), in.c.String(o.name), fe.Reason)
			}
		}
	}
	return b, nil
}

// stopPlan reads the options that decide what a stop does: the preset,
// a hand-written ladder and the budget.
func (in input) stopPlan(cfg *supervisor.Config) error {
	c := in.c
	cfg.Preset = strings.ToLower(strings.TrimSpace(c.String("preset")))
	if _, ok := ladder.Lookup(cfg.Preset); !ok && cfg.Preset != "auto" {
		return usagef("invalid %s %q: want one of %s", in.source("preset"), c.String("preset"), strings.Join(ladder.Names(), ", "))
	}
	var err error
	if cfg.Budget, err = in.budget(); err != nil {
		return err
	}
	if cfg.Budget.Grace > 0 {
		cfg.GraceFrom = in.source("grace-period")
	}
	if cfg.Budget.FastStop > 0 {
		cfg.FastStopFrom = in.source("fast-stop")
	}
	if v := c.String("kubelet-stop-grace"); strings.TrimSpace(v) != "" {
		if cfg.KubeletStopGrace, err = in.duration("kubelet-stop-grace"); err != nil {
			return err
		}
		if cfg.KubeletStopGrace < kube.MinKill {
			return usagef("invalid %s %q: must be at least %s, the kubelet's own least", in.source("kubelet-stop-grace"), v, kube.MinKill)
		}
	}
	if s := c.String("stop"); s != "" {
		if cfg.Stop, err = ladder.ParseStop(s); err != nil {
			return in.invalid("stop", err)
		}
		if cfg.Budget.FastStop > 0 {
			return usagef("%s and %s both given: the hand-written ladder's own waits are used; "+
				"write the fast stop into it, or drop %s", in.source("fast-stop"), in.source("stop"), in.source("stop"))
		}
	}
	if p, ok := ladder.Lookup(cfg.Preset); ok && cfg.Budget.FastStop > 0 && !p.HasFastStop() {
		return usagef("%s given, but preset %s has no \"stop now\" rung for it to time: drop it, or pick a preset "+
			"that has one (supervise presets)", in.source("fast-stop"), cfg.Preset)
	}
	cfg.Rewrite = signals.Rewrite{}
	for _, r := range c.StringSlice("rewrite") {
		if err := cfg.Rewrite.Add(r); err != nil {
			return in.invalid("rewrite", err)
		}
	}
	return nil
}

// fits checks that the waits the user set fit the grace period for the
// plan the command line makes (auto's pick included): a --fast-stop that
// leaves the drain too short, or passes the grace, is bad input.
func (in input) fits(p plan.Plan) error {
	if p.Err == nil {
		return nil
	}
	return usagef("invalid %s %q (grace period from %s): %v", in.source("fast-stop"), in.c.String("fast-stop"), p.GraceFrom, p.Err)
}

// buildConfig turns the parsed command line into the supervisor's Config.
func (in input) buildConfig() (*supervisor.Config, error) {
	c := in.c
	cfg := &supervisor.Config{}
	argv := c.Args().Slice()
	if err := in.checkArgv(argv); err != nil {
		return nil, err
	}
	cfg.Argv = argv
	cfg.Env = os.Environ()

	log, err := in.buildLogger()
	if err != nil {
		return nil, err
	}
	cfg.Log = log

	if err := in.stopPlan(cfg); err != nil {
		return nil, err
	}
	if cfg.CleanupGrace, err = in.duration("cleanup-grace"); err != nil {
		return nil, err
	}
	cfg.TerminationLog = supervisor.TerminationLogPath(c.String("termination-log"))
	cfg.ExitZero = map[int]bool{}
	for _, e := range c.StringSlice("exit-zero") {
		n, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil || n < 0 || n > 255 {
			return nil, usagef("invalid %s %q: want an exit status from 0 to 255", in.source("exit-zero"), e)
		}
		cfg.ExitZero[n] = true
	}

	cfg.Subreaper = c.Bool("subreaper") || envSet("TINI_SUBREAPER")
	cfg.Group = c.Bool("group") || envSet("TINI_KILL_PROCESS_GROUP")
	cfg.WarnOnReap = c.Bool("warn-reap")

	if cfg.Restart, err = supervisor.ParseRestart(c.String("restart")); err != nil {
		return nil, usagef("invalid %s %v", in.source("restart"), err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.String("restart-max")))
	if err != nil || n < 0 || n > 1_000_000 {
		return nil, usagef("invalid %s %q: want a whole number from 0 (no limit) to 1000000", in.source("restart-max"), c.String("restart-max"))
	}
	cfg.RestartMax = n

	if u := c.String("user"); u != "" {
		if cfg.Credential, cfg.Home, err = credential.Resolve(u); err != nil {
			return nil, in.invalid("user", err)
		}
	}
	return cfg, nil
}

// checkArgv refuses a missing or empty command, and a command that is
// really one of supervise's own options placed after "--"
// (cmdline.misplaced).
func (in input) checkArgv(argv []string) error {
	if len(argv) == 0 {
		return usagef("no command given: usage: supervise [OPTIONS] [--] COMMAND [ARG...]")
	}
	if argv[0] == "" {
		return usagef("empty command name")
	}
	name := in.cl.misplacedName
	switch {
	case name == "" || argv[0] != in.cl.misplaced:
		return nil
	case name == "--":
		return usagef("a second \"--\" comes where the child's command starts: give one \"--\", then the command")
	case slices.ContainsFunc(runOptions, func(o opt) bool { return o.name == name && o.noEnv }):
		return usagef("%q is an option of supervise, but it comes after \"--\", where the child's command starts: "+
			"put options before \"--\"", argv[0])
	}
	return usagef("%q is an option of supervise, but it comes after \"--\", where the child's command starts: "+
		"put options before \"--\", or set SUPERVISE_%s in the environment (docker run -e, compose environment:)", argv[0], envName(name))
}

// buildLogger applies --log-format, --log-level, -v and TINI_VERBOSITY
// (tini's scale, logging.TiniLevel).
func (in input) buildLogger() (*slog.Logger, error) {
	c := in.c
	level := slog.LevelInfo
	if v, ok := os.LookupEnv("TINI_VERBOSITY"); ok {
		l, err := logging.ParseTiniVerbosity(v)
		if err != nil {
			return nil, usagef("invalid TINI_VERBOSITY %v", err)
		}
		level = l
	}
	if n := c.Count("verbose"); n > 0 {
		level = logging.TiniLevel(1 + n)
	}
	if s := c.String("log-level"); s != "" {
		l, err := logging.ParseLevel(s)
		if err != nil {
			return nil, in.invalid("log-level", err)
		}
		level = l
	}
	log, err := logging.New(os.Stderr, c.String("log-format"), level)
	if err != nil {
		return nil, in.invalid("log-format", err)
	}
	return log, nil
}

// envSet reports whether a tini switch variable is present; tini reads
// presence, not value.
func envSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}
