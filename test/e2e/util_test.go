package e2e

import (
	"os"
	"syscall"

	"github.com/supervise/supervise/internal/signals"
)

func symlink(target, link string) error { return os.Symlink(target, link) }

func sigName(s syscall.Signal) string { return signals.Name(s) }
