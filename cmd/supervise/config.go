package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/credential"
	"github.com/supervise/supervise/internal/duration"
	"github.com/supervise/supervise/internal/health"
	"github.com/supervise/supervise/internal/kube"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/logging"
	"github.com/supervise/supervise/internal/metrics"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
	"github.com/supervise/supervise/internal/version"
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

// budgetOptions name the option of each ladder.Budget field.
var budgetOptions = []struct{ name, field string }{{"grace-period", ladder.FieldGrace},
	{"drain-timeout", ladder.FieldDrainTimeout}, {"stop-delay", ladder.FieldStopDelay}, {"fast-stop", ladder.FieldFastStop}}

// budget reads the grace period, drain timeout, stop delay and fast stop,
// each checked once here (ladder.Budget.Set and Validate say the bounds).
func (in input) budget() (ladder.Budget, error) {
	var b ladder.Budget
	for _, o := range budgetOptions {
		if ladder.Unsettable(o.field) && strings.TrimSpace(in.c.String(o.name)) == "" {
			continue
		}
		d, err := in.duration(o.name)
		if err == nil {
			err = b.Set(o.field, d)
		}
		if err != nil {
			return b, in.budgetError(err)
		}
	}
	return b, in.budgetError(b.Validate())
}

// budgetError names the option of a ladder.FieldError; other errors,
// and nil, it returns as they are.
func (in input) budgetError(err error) error {
	var fe *ladder.FieldError
	if errors.As(err, &fe) {
		for _, o := range budgetOptions {
			if o.field == fe.Field {
				return in.bad(o.name, in.c.String(o.name), errors.New(fe.Reason))
			}
		}
	}
	return err
}

// stopOptions reads the options that decide what a stop does: the preset,
// a hand-written ladder and the budget.
func (in input) stopOptions(cfg *supervisor.Config) error {
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
		if err := kube.CheckStopGrace(cfg.KubeletStopGrace); err != nil {
			return in.bad("kubelet-stop-grace", v, err)
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

// pod reads --grace-from-api and finds the pod supervise runs in
// (kube.Open); nil when it is not asked.
func (in input) pod() (*kube.Start, error) {
	mode, err := kube.ParseMode(in.c.String("grace-from-api"))
	if err != nil {
		return nil, in.bad("grace-from-api", in.c.String("grace-from-api"), err)
	}
	return kube.Open(mode, os.Getenv, in.c.String("kube-serviceaccount-dir"), in.c.String("kube-container")), nil
}

// startPlan finds the pod and puts its plan into cfg (kube.Start.Apply;
// probes are read at each stop), then makes the plan of a stop of
// cfg.Argv as the supervisor would at start (cfg.StartPlan): waits the
// user set that do not fit the grace period (a --fast-stop that leaves the
// drain too short, or passes the grace) are bad input. It returns the pod,
// nil when not asked, and its warnings.
func (in input) startPlan(cfg *supervisor.Config, probes *kube.Probes) (*kube.Start, []string, error) {
	pod, err := in.pod()
	if err != nil {
		return nil, nil, err
	}
	var warns []string
	if pod != nil {
		warns = pod.Apply(cfg, in.source("grace-period"), probes)
	}
	p := plan.Make(cfg.PlanOptions(), cfg.Argv, plan.StartEnv(cfg.Env))
	if p.Err != nil {
		return nil, nil, usagef("invalid %s %q (grace period from %s): %v", in.source("fast-stop"), in.c.String("fast-stop"), p.GraceFrom, p.Err)
	}
	cfg.StartPlan = &p
	return pod, warns, nil
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
	cfg.Defaults = in.engineDefaults().text()

	log, err := in.buildLogger()
	if err != nil {
		return nil, err
	}
	cfg.Log = log

	if err := in.stopOptions(cfg); err != nil {
		return nil, err
	}
	if cfg.CleanupGrace, err = in.duration("cleanup-grace"); err != nil {
		return nil, err
	}
	cfg.TerminationLog = supervisor.TerminationLogPath(c.String("termination-log"))
	cfg.ExitZero = map[int]bool{}
	for _, e := range c.StringSlice("exit-zero") {
		n, err := supervisor.ParseExitStatus(e)
		if err != nil {
			return nil, in.bad("exit-zero", e, err)
		}
		cfg.ExitZero[n] = true
	}

	if c.Bool("close-fds") {
		// The descriptors socket activation names are gone with the rest.
		cfg.CloseFiles = true
		cfg.Env = slices.DeleteFunc(cfg.Env, func(kv string) bool {
			return strings.HasPrefix(kv, "LISTEN_FDS=") || strings.HasPrefix(kv, "LISTEN_PID=") || strings.HasPrefix(kv, "LISTEN_FDNAMES=")
		})
	}
	cfg.Subreaper = c.Bool("subreaper") || envSet("TINI_SUBREAPER")
	cfg.Group = c.Bool("group") || envSet("TINI_KILL_PROCESS_GROUP")
	cfg.WarnOnReap = c.Bool("warn-reap")

	if cfg.Restart, err = supervisor.ParseRestart(c.String("restart")); err != nil {
		return nil, usagef("invalid %s %v", in.source("restart"), err)
	}
	if cfg.RestartMax, err = supervisor.ParseRestartMax(c.String("restart-max")); err != nil {
		return nil, in.bad("restart-max", c.String("restart-max"), err)
	}

	if u := c.String("user"); u != "" {
		if cfg.Credential, cfg.Home, err = credential.Resolve(u); err != nil {
			return nil, in.invalid("user", err)
		}
	}
	return cfg, nil
}

// health reads the health options (health.Open checks them all, even with
// --listen off) and opens the listener.
func (in input) health(log *slog.Logger, mem cgroup.Memory) (*health.Service, error) {
	c := in.c
	listen := c.String("listen")
	if in.engineDefaults().listenOff {
		listen = "off"
	}
	o := health.Options{Listen: listen, ListenGiven: c.IsSet("listen"), HeartbeatFile: c.String("heartbeat-file"),
		ReadyTCP: c.StringSlice("ready-tcp"), Cmd: c.String("health-cmd"), Memory: mem,
		Build: metrics.Build{Version: version.Version(), Revision: version.Commit(), GoVersion: runtime.Version()}}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"heartbeat-max-age", &o.HeartbeatMaxAge}, {"health-interval", &o.Interval}, {"health-timeout", &o.Timeout}} {
		var err error
		if *d.to, err = in.duration(d.name); err != nil {
			return nil, err
		}
	}
	s, err := health.Open(o, log)
	var oe *health.OptionError
	switch {
	case !errors.As(err, &oe):
		return s, err
	case oe.Bind:
		return nil, usagef("cannot listen on %s %s: %v", in.source(oe.Option), oe.Value, oe.Err)
	case oe.Value == "": // a duration: its text as given
		return nil, in.bad(oe.Option, c.String(oe.Option), oe.Err)
	}
	return nil, in.bad(oe.Option, oe.Value, oe.Err)
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
	}
	msg := fmt.Sprintf("%q is an option of supervise, but it comes after \"--\", where the child's command starts: "+
		"put options before \"--\"", argv[0])
	if !slices.ContainsFunc(runOptions, func(o opt) bool { return o.name == name && o.noEnv }) {
		msg += ", or set SUPERVISE_" + envName(name) + " in the environment (docker run -e, compose environment:)"
	}
	return usageError{msg}
}

// buildLogger applies --log-format, --log-level, -v and TINI_VERBOSITY
// (logging.FromOptions).
func (in input) buildLogger() (*slog.Logger, error) {
	tini, tiniSet := os.LookupEnv("TINI_VERBOSITY")
	o := logging.Options{Tini: tini, TiniSet: tiniSet, Verbose: in.c.Count("verbose"), Level: in.c.String("log-level"),
		Format: in.c.String("log-format")}
	if in.engineDefaults().quiet {
		o.Default = slog.LevelWarn
	}
	log, opt, err := logging.FromOptions(os.Stderr, o)
	switch {
	case opt == logging.OptTini:
		return nil, usagef("invalid TINI_VERBOSITY %v", err)
	case err != nil:
		return nil, in.invalid(opt, err)
	}
	return log, nil
}

// envSet reports whether a tini switch variable is present; tini reads
// presence, not value.
func envSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}
