// Package logging builds supervise's slog logger: one line per event on
// stderr, text or JSON, marked so it is told apart from the child's output
// that shares the same stream.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// Prefix starts every text line supervise writes.
const Prefix = "[supervise] "

// ParseLevel reads a level name: debug, info, warn or error.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("level %q: want debug, info, warn or error", name)
}

// TiniLevel maps tini's verbosity scale (default 1; each -v adds one;
// TINI_VERBOSITY sets it) onto slog levels: 0 errors, 3 and more debug, as
// in tini. Where tini's 1 means warnings, supervise logs info, because
// every stop is explained at that level; 1 and 2 are therefore both info.
func TiniLevel(n int) slog.Level {
	switch {
	case n <= 0:
		return slog.LevelError
	case n <= 2:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

// ParseTiniVerbosity reads TINI_VERBOSITY's value: a whole number 0 or more.
func ParseTiniVerbosity(v string) (slog.Level, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q: want a whole number 0 or more", v)
	}
	return TiniLevel(n), nil
}

// Options are the logging options as given: tini's TINI_VERBOSITY (Tini,
// when TiniSet) and -v (Verbose, counted, each one up from tini's default
// 1) on tini's scale, then Level (--log-level) over both; Format is text
// or json.
type Options struct {
	Tini          string
	TiniSet       bool
	Verbose       int
	Level, Format string
	// Default is the level when none of the others is given: info (the
	// zero value), or warn where supervise runs as an engine's init.
	Default slog.Level
}

// The options FromOptions reads, as its errors name them.
const (
	OptTini   = "TINI_VERBOSITY"
	OptLevel  = "log-level"
	OptFormat = "log-format"
)

// FromOptions builds the logger o describes, writing to w. An option it
// cannot read is named (Opt*) with its error.
func FromOptions(w io.Writer, o Options) (log *slog.Logger, option string, err error) {
	level := o.Default
	if o.TiniSet {
		if level, err = ParseTiniVerbosity(o.Tini); err != nil {
			return nil, OptTini, err
		}
	}
	if o.Verbose > 0 {
		level = TiniLevel(1 + o.Verbose)
	}
	if o.Level != "" {
		if level, err = ParseLevel(o.Level); err != nil {
			return nil, OptLevel, err
		}
	}
	if log, err = New(w, o.Format, level); err != nil {
		return nil, OptFormat, err
	}
	return log, "", nil
}

// New returns a logger writing to w in format "text" or "json" at level.
// Text lines start with Prefix; JSON lines carry "logger":"supervise".
// Safe for concurrent use.
func New(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(&prefixWriter{w: w}, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)).With("logger", "supervise"), nil
	}
	return nil, fmt.Errorf("format %q: want text or json", format)
}

// prefixWriter puts Prefix before each record. slog's handlers write one
// whole record per Write call, so one Write is one line.
type prefixWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(append(p.buf[:0], Prefix...), b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}
