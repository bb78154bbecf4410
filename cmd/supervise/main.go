// Command supervise is a PID-1 init and supervisor for job-queue worker
// containers. It runs one child, translates the orchestrator's stop into
// the worker's own graceful stop, times a stop ladder that ends before the
// orchestrator's SIGKILL, and reaps zombies.
//
// This package is the command line only: it reads options and
// SUPERVISE_* variables into a supervisor.Config, and turns the result
// into an exit status. The behaviour lives in internal/.
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/kube"
	"github.com/supervise/supervise/internal/proctree"
	"github.com/supervise/supervise/internal/signals"
	"github.com/supervise/supervise/internal/supervisor"
	"github.com/supervise/supervise/internal/version"
)

//go:embed LICENSE
var license string

func main() {
	// Logs are in UTC, as containers' logs usually are. Setting the zone
	// here, rather than converting each record's time, also spares start-up
	// the reading and parsing of /etc/localtime (callgrind: 5% of start-up
	// instructions) and every log line a per-attribute hook.
	time.Local = time.UTC
	// A child started through supervise's own binary to set LISTEN_PID
	// execs its program here, before anything else runs.
	supervisor.RunTrampoline()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run parses args and runs the chosen command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	code := 0
	var child *input // the main command's options, run once urfave/cli returns
	flags := runFlags()
	cl := scan(args, runOptions, "plan", "presets")
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
	cli.VersionPrinter = func(*cli.Context) { fmt.Fprintln(stdout, version.EngineLine()) }
	defaultHelp := cli.HelpPrinter
	cli.HelpPrinter = func(w io.Writer, templ string, data any) {
		if _, ok := data.(*cli.App); ok {
			writeHelp(w)
			return
		}
		defaultHelp(w, templ, data)
	}
	app := &cli.App{
		Name:                   "supervise",
		Usage:                  "PID-1 init and supervisor for job-queue workers",
		Version:                version.Version(),
		Flags:                  flags,
		UseShortOptionHandling: true,
		Writer:                 stdout,
		ErrWriter:              stderr,
		OnUsageError:           usageErrors(cl, flags, "supervise --help"),
		Action: func(c *cli.Context) error {
			if c.Bool("license") {
				fmt.Fprint(stdout, license)
				return nil
			}
			if c.Bool("pause") {
				if c.Args().Present() {
					return usagef("-P (pause) runs no child, but a command was given: %q", c.Args().First())
				}
				in := input{c: c, cl: cl}
				log, err := in.buildLogger()
				if err == nil {
					code = supervisor.Pause(log)
				}
				return err
			}
			child = &input{c: c, cl: cl}
			return nil
		},
		Commands: []*cli.Command{
			planCommand(stdout, cl, flags),
			checkCommand(&code),
			presetsCommand(stdout, cl, flags),
			{
				Name:  "version",
				Usage: "print the version, commit, Go version and platform",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(stdout, version.Line())
					return nil
				},
			},
		},
	}
	if cl.dashes {
		// "supervise -- version" runs a child called version.
		app.Commands = nil
		app.HideHelpCommand = true
	}
	err := app.Run(cl.args)
	if err == nil && child != nil {
		// The child is supervised here, after urfave/cli has returned,
		// rather than inside the action: the loop then runs about 800
		// bytes nearer the top of the main goroutine's stack, and start-up
		// fits in the stack the goroutine starts with. Growing it copies
		// the stack and reads the runtime's tables for every frame, which
		// maps about 0.3 MiB more of the binary for the life of the
		// process (measured by make bench; BENCHMARKS.md).
		code, err = runChild(*child)
	}
	if err != nil {
		var ue usageError
		if !errors.As(err, &ue) {
			// Errors urfave/cli makes itself (an env var it cannot parse)
			// are bad input too.
			ue = usageError{err.Error()}
		}
		// One line, always: an error text of several lines keeps its first.
		msg, _, _ := strings.Cut(strings.TrimSpace(ue.msg), "\n")
		fmt.Fprintf(stderr, "supervise: %s\n", msg)
		return supervisor.ExitUsage
	}
	return code
}

// runChild is the main command: supervise the child until it is gone.
func runChild(in input) (int, error) {
	cfg, err := in.buildConfig()
	if err != nil {
		return 0, err
	}
	var pdeath syscall.Signal
	if s := in.c.String("pdeath-signal"); s != "" {
		if pdeath, err = signals.Parse(s); err != nil {
			return 0, in.invalid("pdeath-signal", err)
		}
	}
	probes := &kube.Probes{}
	pod, warns, err := in.startPlan(cfg, probes)
	if err != nil {
		return 0, err
	}
	if pod != nil {
		pod.Log(cfg, warns)
	}
	hs, err := in.health(cfg.Log, cgroup.Detect("/sys/fs/cgroup"))
	if err != nil {
		return 0, err
	}
	hs.Apply(cfg)
	if server, addr := hs.Server(); server != nil {
		probes.Listening(server, addr)
	}
	for _, w := range unknownEnv(os.Environ(), in.c.App.Flags) {
		cfg.Log.Warn(w)
	}
	if err := proctree.SetParentDeathSignal(pdeath); err != nil {
		return 0, err
	}
	defer hs.Start()()
	return supervisor.Run(cfg), nil
}
