package health

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Bounds of the health options: shorter values would make a probe flap
// or a check spin.
const (
	MinHeartbeatAge = time.Second
	MinInterval     = 100 * time.Millisecond
	MinTimeout      = 10 * time.Millisecond
)

// CheckListen checks a listen address: HOST:PORT (HOST may be empty), or
// "off".
func CheckListen(addr string) error {
	if addr == "off" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return errors.New("want HOST:PORT (like 127.0.0.1:9797 or :9797) or off")
	}
	return nil
}

// CheckTCP checks a readiness address: HOST:PORT with a port from 1 to
// 65535.
func CheckTCP(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
		return errors.New("want HOST:PORT with a port from 1 to 65535, like redis:6379")
	}
	return nil
}

// CheckCmd splits a readiness command into its words (no shell): it must
// have one at least.
func CheckCmd(cmd string) ([]string, error) {
	words, err := SplitWords(cmd)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}

// atLeast is the error for a duration below its bound.
func atLeast(d, bound time.Duration) error {
	if d < bound {
		return fmt.Errorf("must be at least %s", bound)
	}
	return nil
}

// CheckHeartbeatAge checks --heartbeat-max-age.
func CheckHeartbeatAge(d time.Duration) error { return atLeast(d, MinHeartbeatAge) }

// CheckInterval checks --health-interval.
func CheckInterval(d time.Duration) error { return atLeast(d, MinInterval) }

// CheckTimeout checks --health-timeout.
func CheckTimeout(d time.Duration) error { return atLeast(d, MinTimeout) }
