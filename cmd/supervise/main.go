// Command supervise is a PID-1 init and supervisor for job-queue worker
// containers. It runs one child, translates the orchestrator's stop into
// the worker's own graceful stop, times a stop ladder that ends before the
// orchestrator's SIGKILL, and reaps zombies.
//
// This file wires the command line to the internal packages; the behaviour
// lives in internal/.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
)

// version is set at build time with -ldflags '-X main.version=...'.
var version = "dev"

//go:embed LICENSE
var license string

func main() {
	closeInheritedFiles()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run parses args and runs the chosen command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	code := 0
	app := &cli.App{
		Name:                   "supervise",
		Usage:                  "PID-1 init and supervisor for job-queue workers",
		UsageText:              "supervise [OPTIONS] [--] COMMAND [ARG...]\nsupervise check [--ready] [--url URL] [--timeout D]\nsupervise presets\nsupervise version",
		Flags:                  runFlags(),
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		Writer:                 stdout,
		ErrWriter:              stderr,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err.Error() + " (see supervise --help)"}
		},
		Action: func(c *cli.Context) error {
			if c.Bool("license") {
				fmt.Fprint(stdout, license)
				return nil
			}
			cfg, err := buildConfig(c)
			if err != nil {
				return err
			}
			pdeath, err := parsePdeath(c.String("pdeath-signal"))
			if err != nil {
				return err
			}
			hs, err := setupHealth(c, &cfg)
			if err != nil {
				return err
			}
			if err := setParentDeathSignal(pdeath); err != nil {
				return err
			}
			if hs != nil {
				defer hs.start()()
			}
			code = supervisor.Run(cfg)
			return nil
		},
		Commands: []*cli.Command{
			{
				Name:      "check",
				Usage:     "probe a running supervise: exit 0 healthy, 1 not (for HEALTHCHECK)",
				UsageText: "supervise check [--ready] [--url URL] [--timeout D]",
				Flags:     checkFlags(),
				OnUsageError: func(_ *cli.Context, err error, _ bool) error {
					return usageError{err.Error() + " (see supervise check --help)"}
				},
				Action: func(c *cli.Context) error {
					n, err := runCheck(c)
					code = n
					return err
				},
			},
			{
				Name:  "presets",
				Usage: "print the built-in stop protocols",
				Action: func(c *cli.Context) error {
					printPresets(stdout)
					return nil
				},
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(stdout, "supervise %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
					return nil
				},
			},
		},
	}
	args = canonicalFlags(args, app.Flags)
	if commandAfterDashes(args, app.Flags) {
		// "supervise -- version" runs a child called version.
		app.Commands = nil
	}
	if err := app.Run(args); err != nil {
		var ue usageError
		if !errors.As(err, &ue) {
			// Errors urfave/cli makes itself (an env var it cannot parse)
			// are bad input too.
			ue = usageError{err.Error()}
		}
		fmt.Fprintf(stderr, "supervise: %s\n", firstLine(ue.msg))
		return supervisor.ExitUsage
	}
	return code
}

// printPresets lists each preset with its ladder at the default grace period.
func printPresets(w io.Writer) {
	budget := ladder.Budget{Grace: defaultGrace}
	for _, name := range ladder.Names() {
		if name == "auto" {
			fmt.Fprintf(w, "auto\n  pick a preset from the child's command line, at start and again at the stop\n\n")
			continue
		}
		p, _ := ladder.Lookup(name)
		l, _ := ladder.Plan(p, budget)
		steps := "forward stop signals as received"
		if len(l.Steps) > 0 {
			steps = l.String() + "  (at --grace-period " + defaultGrace.String() + ")"
		}
		fmt.Fprintf(w, "%s\n  ladder: %s\n  %s\n  source: %s\n", name, steps, p.Summary, p.Source)
		if r := ladder.Recognised(name); len(r) > 0 {
			fmt.Fprintf(w, "  auto picks it for: %s\n", strings.Join(r, ", "))
		}
		fmt.Fprintln(w)
	}
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}

// parsePdeath reads -p; 0 when not given.
func parsePdeath(name string) (unix.Signal, error) {
	if name == "" {
		return 0, nil
	}
	sig, err := signals.Parse(name)
	if err != nil {
		return 0, usagef("invalid -p/--pdeath-signal: %v", err)
	}
	return sig, nil
}

// setParentDeathSignal arranges for supervise to get sig when its parent
// exits (tini -p). The setting belongs to the calling thread; the Go runtime
// never ends a thread that is not locked to a goroutine, so it lasts.
func setParentDeathSignal(sig unix.Signal) error {
	if sig == 0 {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %v", err)
	}
	return nil
}

// closeInheritedFiles marks every descriptor above stderr close-on-exec, so
// the child starts with 0, 1 and 2 only, whatever supervise inherited.
func closeInheritedFiles() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: walk /proc/self/fd.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// canonicalFlags writes every option under its first name, so "-r A
// --rewrite B" means two rewrites, as with dumb-init, where urfave/cli
// would refuse two forms of one flag. Only options before the command are
// touched.
func canonicalFlags(args []string, flags []cli.Flag) []string {
	primary := map[string]string{}
	for _, f := range flags {
		names := f.Names()
		for _, n := range names[1:] {
			primary[n] = names[0]
		}
	}
	out := append([]string{}, args...)
	for i := 1; i < len(out); i++ {
		a := out[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if p, ok := primary[name]; ok {
			a = "--" + p
			if hasValue {
				a += "=" + value
			}
			out[i] = a
		}
		if !hasValue && valueFlag(flags, strings.TrimLeft(out[i], "-")) {
			i++
		}
	}
	return out
}

// valueFlag reports whether the option called name takes a value.
func valueFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// commandAfterDashes reports whether the command line's first operand
// comes after "--", so it names the child, never a subcommand.
func commandAfterDashes(args []string, flags []cli.Flag) bool {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return true
		case !strings.HasPrefix(a, "-") || a == "-":
			return false
		case !strings.Contains(a, "=") && valueFlag(flags, strings.TrimLeft(a, "-")):
			i++ // the option's value
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
