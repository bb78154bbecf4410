// Package duration reads the durations supervise accepts on its command
// line and in SUPERVISE_* variables: Go durations ("30s", "1m30s",
// "250ms") or whole seconds ("30", as Kubernetes writes
// terminationGracePeriodSeconds). It is pure and safe for concurrent use.
package duration

import (
	"fmt"
	"strings"
	"time"
)

// Max bounds every duration supervise accepts: a year is longer than any
// orchestrator waits, and keeps sums of durations far from overflow.
const Max = 365 * 24 * time.Hour

// Parse reads a Go duration or a whole number of seconds. Negative values
// and values above Max are refused; the error names the value and what is
// allowed.
func Parse(text string) (time.Duration, error) {
	t := strings.TrimSpace(text)
	var d time.Duration
	if n, ok := wholeSeconds(t); ok {
		if n > int64(Max/time.Second) {
			return 0, fmt.Errorf("duration %q too large: at most 8760h", text)
		}
		d = time.Duration(n) * time.Second
	} else {
		var err error
		d, err = time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want a duration like 30s, 1m30s, 250ms or whole seconds", text)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", text)
	}
	if d > Max {
		return 0, fmt.Errorf("duration %q too large: at most 8760h", text)
	}
	return d, nil
}

// wholeSeconds reads up to 12 decimal digits; false for anything else.
func wholeSeconds(t string) (int64, bool) {
	if t == "" || len(t) > 12 {
		return 0, false
	}
	var n int64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
