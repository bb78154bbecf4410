package supervisor

import (
	"log/slog"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/supervise/supervise/internal/reaper"
)

// Pause is catatonit's pause mode (-P): no child. supervise waits as a
// pod's pause process does, reaping every process re-parented to it,
// and returns 0 on TERM or INT; every other signal is taken and ignored
// (catatonit blocks them all). podman 4.8 and later start the configured
// init this way as a pod's infra process, so a global init_path can name
// supervise. It blocks until the stop.
func Pause(log *slog.Logger) int {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs) // every catchable signal
	log.Info("pause: no child; waiting for TERM or INT")
	reaper.ReapAll(func(reaper.Exit) {})
	for s := range sigs {
		switch s {
		case unix.SIGTERM, unix.SIGINT:
			log.Info("pause: stopping", "signal", s.String())
			return 0
		case unix.SIGCHLD:
			reaper.ReapAll(func(e reaper.Exit) { log.Debug("reaped", "pid", e.PID) })
		}
	}
	return 0
}
