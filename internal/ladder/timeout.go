package ladder

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// workerTimeout is a worker's own shutdown timeout option: after that
// long, the worker gives up its drain by itself.
type workerTimeout struct {
	preset string
	names  []string      // the option's spellings
	unit   time.Duration // what its number counts
}

var workerTimeouts = []workerTimeout{
	{"gunicorn", []string{"--graceful-timeout"}, time.Second},
	{"uvicorn", []string{"--timeout-graceful-shutdown"}, time.Second},
	{"dramatiq", []string{"--worker-shutdown-timeout"}, time.Millisecond},
	{"sidekiq", []string{"-t", "--timeout"}, time.Second},
}

// ShutdownTimeout finds the worker's own shutdown timeout in its command
// line: gunicorn --graceful-timeout, uvicorn --timeout-graceful-shutdown,
// dramatiq --worker-shutdown-timeout (milliseconds), sidekiq -t. It
// returns the option as written and its value; false when argv carries
// none (or not a number).
func ShutdownTimeout(preset string, argv []string) (string, time.Duration, bool) {
	_, args, _ := program(argv)
	for _, wt := range workerTimeouts {
		if wt.preset != preset {
			continue
		}
		for i, a := range args {
			for _, n := range wt.names {
				var v string
				switch {
				case a == n && i+1 < len(args):
					v = args[i+1]
				case strings.HasPrefix(a, n+"="):
					v = a[len(n)+1:]
				case len(n) == 2 && strings.HasPrefix(a, n) && len(a) > 2: // -t25
					v = a[2:]
				default:
					continue
				}
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || x < 0 || x > 1e9 {
					return "", 0, false
				}
				return n, time.Duration(x * float64(wt.unit)), true
			}
		}
	}
	return "", 0, false
}

// CheckWorkerTimeout warns when the worker's own shutdown timeout is
// longer than the drain a timed ladder gives it: the ladder would cut
// what the worker still waits for. It says what to set.
func CheckWorkerTimeout(preset string, argv []string, l Ladder, b Budget) []string {
	di := l.DrainIndex()
	if !l.Timed || di < 0 {
		return nil
	}
	name, d, ok := ShutdownTimeout(preset, argv)
	drain := l.Steps[di].Wait
	if !ok || d <= drain {
		return nil
	}
	msg := fmt.Sprintf("%s %s %s is longer than the planned drain %s: supervise's next rung will cut what %s still waits for; "+
		"set %s to %s or less", preset, name, d, drain, preset, name, drain)
	if b.Grace > 0 && b.DrainTimeout == 0 {
		msg += fmt.Sprintf(", or raise the grace period to at least %s", b.Grace+d-drain)
	}
	return []string{msg}
}
