package logging

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// tini's scale, -v and --log-level, in that order of precedence; each
// option that cannot be read is named.
func TestFromOptions(t *testing.T) {
	for _, c := range []struct {
		o      Options
		level  slog.Level
		option string
	}{
		{Options{}, slog.LevelInfo, ""},
		{Options{Tini: "0", TiniSet: true}, slog.LevelError, ""},
		{Options{Tini: "3", TiniSet: true}, slog.LevelDebug, ""},
		{Options{Tini: "0", TiniSet: true, Verbose: 2}, slog.LevelDebug, ""},
		{Options{Verbose: 2, Level: "warn"}, slog.LevelWarn, ""},
		{Options{Tini: "x", TiniSet: true}, 0, OptTini},
		{Options{Tini: "", TiniSet: true}, 0, OptTini},
		{Options{Level: "loud"}, 0, OptLevel},
		{Options{Format: "xml"}, 0, OptFormat},
	} {
		var out bytes.Buffer
		log, option, err := FromOptions(&out, c.o)
		if option != c.option || (err != nil) != (c.option != "") {
			t.Errorf("%+v: option %q, error %v", c.o, option, err)
			continue
		}
		if err != nil {
			continue
		}
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			log.Log(context.Background(), l, "m")
		}
		if n := strings.Count(out.String(), Prefix); n != int(slog.LevelError-c.level)/4+1 {
			t.Errorf("%+v: %d lines at level %s:\n%s", c.o, n, c.level, out.String())
		}
	}
	var out bytes.Buffer
	log, _, _ := FromOptions(&out, Options{Format: "json"})
	log.Info("m")
	if !strings.Contains(out.String(), `"logger":"supervise"`) {
		t.Errorf("json: %s", out.String())
	}
}
