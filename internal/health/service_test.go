package health

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/supervisor"
)

// good are options Open accepts, with a port of the kernel's choosing.
func good() Options {
	return Options{Listen: "127.0.0.1:0", ListenGiven: true, HeartbeatMaxAge: 60 * time.Second,
		Interval: 10 * time.Second, Timeout: 5 * time.Second}
}

// Every option out of bounds is an *OptionError naming it, even with the
// server off; nothing is listened on.
func TestOpenRefuses(t *testing.T) {
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	cases := []struct {
		option string
		change func(*Options)
	}{
		{OptListen, func(o *Options) { o.Listen = "9797" }},
		{OptHeartbeatMaxAge, func(o *Options) { o.HeartbeatMaxAge = MinHeartbeatAge - 1 }},
		{OptReadyTCP, func(o *Options) { o.ReadyTCP = []string{"redis:6379", "redis:0"} }},
		{OptHealthCmd, func(o *Options) { o.Cmd = "'open" }},
		{OptInterval, func(o *Options) { o.Interval = MinInterval - 1 }},
		{OptTimeout, func(o *Options) { o.Timeout = 0 }},
	}
	for _, off := range []bool{false, true} {
		for _, c := range cases {
			o := good()
			if off {
				o.Listen = "off"
			}
			c.change(&o)
			s, err := Open(o, log)
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Option != c.option || oe.Bind || s != nil {
				t.Errorf("%s (off %v): %v, %+v", c.option, off, err, s)
			}
		}
	}
	if _, err := Open(Options{Listen: "127.0.0.1:0", Interval: MinInterval, Timeout: MinTimeout}, log); err == nil ||
		!strings.Contains(err.Error(), "heartbeat-max-age") {
		t.Errorf("a zero heartbeat age: %v", err)
	}
}

// An address in use: an error when the user chose it, a warning and no
// server when it is the default.
func TestOpenAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	o := good()
	o.Listen = ln.Addr().String()
	_, err = Open(o, log)
	var oe *OptionError
	if !errors.As(err, &oe) || !oe.Bind || oe.Value != o.Listen || !strings.Contains(err.Error(), "cannot listen on "+o.Listen) {
		t.Errorf("chosen address in use: %v", err)
	}
	o.ListenGiven = false
	s, err := Open(o, log)
	if err != nil || s.Status == nil || s.Hooks == nil {
		t.Fatalf("default address in use: %v, %+v", err, s)
	}
	if srv, _ := s.Server(); srv != nil || !strings.Contains(logs.String(), "health server off: cannot listen on the default address") {
		t.Errorf("server %v, log %q", srv, logs.String())
	}
	s.Start()() // no server: starting and stopping do nothing
}

// A service that listens answers supervise check's probe, and Apply hands
// the supervisor what it publishes to.
func TestOpenServes(t *testing.T) {
	var logs bytes.Buffer
	o := good()
	o.ReadyTCP = []string{"127.0.0.1:1"}
	s, err := Open(o, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv, addr := s.Server()
	if srv == nil || !strings.Contains(logs.String(), "health server listening") {
		t.Fatalf("no server: %q", logs.String())
	}
	stop := s.Start()
	defer stop()
	var cfg supervisor.Config
	s.Apply(&cfg)
	if cfg.Status != s.Status || cfg.Hooks == nil || cfg.Spawner != nil {
		t.Errorf("Apply: %+v", cfg)
	}
	var out bytes.Buffer
	code, err := Check(CheckOptions{Listen: addr.String(), Timeout: 2 * time.Second}, &out)
	if err != nil || code != 1 || !strings.Contains(out.String(), "[-]child failed: not started") {
		t.Errorf("check before a child: %d, %v, %q", code, err, out.String())
	}
	out.Reset()
	if code, err := Check(CheckOptions{URL: "http://" + addr.String() + "/metrics", Timeout: 2 * time.Second}, &out); err != nil || code != 0 {
		t.Errorf("check of /metrics: %d, %v, %q", code, err, out.String())
	}
	var oe *OptionError
	if _, err := Check(CheckOptions{URL: "localhost:9797"}, &out); !errors.As(err, &oe) || oe.Option != "url" {
		t.Errorf("a URL without a scheme: %v", err)
	}
	if _, err := Check(CheckOptions{Listen: "9797"}, &out); !errors.As(err, &oe) || oe.Option != OptListen {
		t.Errorf("a listen address without a port: %v", err)
	}
}
