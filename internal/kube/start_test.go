package kube

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/supervisor"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]string{"": ModeAuto, " Auto ": ModeAuto, "ON": ModeOn, "off": ModeOff} {
		if got, err := ParseMode(in); got != want || err != nil {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"yes", "1", "auto,on"} {
		if _, err := ParseMode(in); err == nil {
			t.Errorf("ParseMode(%q): no error", in)
		}
	}
}

// Open outside a pod, in a pod without a service account, and in a pod
// whose API server refuses the connection.
func TestOpen(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if s := Open(ModeOff, getenv, t.TempDir(), ""); s != nil {
		t.Errorf("off: %+v", s)
	}
	if s := Open(ModeAuto, getenv, t.TempDir(), ""); s != nil {
		t.Errorf("auto outside a pod: %+v", s)
	}
	if s := Open(ModeOn, getenv, t.TempDir(), ""); s == nil || s.Pod != nil || len(s.Spec.Warnings) != 1 ||
		!strings.Contains(s.Spec.Warnings[0], "cannot be asked (not in a Kubernetes pod)") {
		t.Errorf("on outside a pod: %+v", s)
	}
	// A port nothing listens on: the GET at start is refused at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "token"), []byte("t"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), selfSigned(t), 0o600)
	env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = "127.0.0.1", strconv.Itoa(addr.Port)
	env["POD_NAME"], env["POD_NAMESPACE"] = "worker-0", "jobs"
	s := Open(ModeAuto, getenv, dir, " worker ")
	if s == nil || s.Pod == nil || s.Pod.Container != "worker" || s.Spec.Deadline.After != 0 || len(s.Spec.Warnings) != 1 ||
		!strings.Contains(s.Spec.Warnings[0], "cannot read pod jobs/worker-0 at start") {
		t.Fatalf("a pod whose API refuses: %+v", s)
	}
	var cfg supervisor.Config
	s.Apply(&cfg, "--grace-period", nil)
	g, ok := cfg.GraceSource.(GraceSource)
	if !ok || g.Pod != s.Pod {
		t.Fatalf("GraceSource = %#v", cfg.GraceSource)
	}
	// Each stop asks again, bounded by its context.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := g.StopGrace(ctx, time.Now()); err == nil {
		t.Error("StopGrace from an API that refuses: no error")
	}
}

// Apply plans with the spec's deadline, warns when a grace period given
// differs, adds the container's stop signal, and hands the probes and
// --kubelet-stop-grace to each stop.
func TestApply(t *testing.T) {
	s := &Start{Pod: &Pod{Name: "w"}, Spec: Spec{Deadline: Deadline{After: 25 * time.Second, From: "terminationGracePeriodSeconds 25s"},
		StopSignal: syscall.SIGQUIT}}
	cfg := supervisor.Config{Timing: plan.Timing{Budget: ladder.Budget{Grace: 30 * time.Second}, KubeletStopGrace: 15 * time.Second}}
	probes := &Probes{}
	warns := s.Apply(&cfg, "SUPERVISE_GRACE_PERIOD", probes)
	if cfg.Budget.Grace != 25*time.Second || !cfg.Kubelet || cfg.GraceFrom != "the pod spec: terminationGracePeriodSeconds 25s" {
		t.Errorf("budget %+v, from %q, kubelet %v", cfg.Budget, cfg.GraceFrom, cfg.Kubelet)
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "SUPERVISE_GRACE_PERIOD is 30s, but the kubelet's SIGKILL comes 25s after") {
		t.Errorf("warnings %q", warns)
	}
	if len(cfg.StopSignals) != 1 || cfg.StopSignals[0] != syscall.SIGQUIT {
		t.Errorf("stop signals %v", cfg.StopSignals)
	}
	g := cfg.GraceSource.(GraceSource)
	if g.Probes != probes || g.KubeletGrace != 15*time.Second {
		t.Errorf("GraceSource %+v", g)
	}
	// A deadline under MinGrace is planned in MinGrace; the same grace
	// given is no disagreement.
	s.Spec.Deadline.After = 500 * time.Millisecond
	cfg = supervisor.Config{Timing: plan.Timing{Budget: ladder.Budget{Grace: ladder.MinGrace}}}
	if warns := s.Apply(&cfg, "--grace-period", nil); len(warns) != 0 || cfg.Budget.Grace != ladder.MinGrace {
		t.Errorf("short deadline: grace %s, warnings %q", cfg.Budget.Grace, warns)
	}
}

type prober struct {
	at time.Time
	ok bool
}

func (p prober) KubeletProbe() (time.Time, bool) { return p.at, p.ok }

func TestProbesOwn(t *testing.T) {
	var none *Probes
	if o := none.Own(); o != (Own{}) {
		t.Errorf("nil Probes: %+v", o)
	}
	at := time.Now()
	p := &Probes{}
	p.Listening(prober{at, true}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9797})
	if o := p.Own(); o.Port != 9797 || !o.ProbedAt.Equal(at) || !o.ProbeOK {
		t.Errorf("Own = %+v", o)
	}
}

// Log says which grace the kubelet's own stops get: the one given, or the
// pod's with the advice to give one.
func TestStartLog(t *testing.T) {
	s := &Start{Pod: &Pod{Name: "worker-0", Namespace: "jobs", Addr: "10.96.0.1:443"},
		Spec: Spec{Deadline: Deadline{After: 25 * time.Second, From: "terminationGracePeriodSeconds 25s"}, StopSignal: syscall.SIGQUIT}}
	for grace, want := range map[time.Duration]string{15 * time.Second: `kubelet_own_stops="--kubelet-stop-grace 15s"`,
		0: `kubelet_own_stops="the pod's grace (evictions and node shutdowns give less: set --kubelet-stop-grace)"`} {
		var out strings.Builder
		cfg := supervisor.Config{Log: slog.New(slog.NewTextHandler(&out, nil)), Timing: plan.Timing{KubeletStopGrace: grace}}
		s.Log(&cfg, []string{"a warning"})
		for _, w := range []string{`level=WARN msg="a warning"`, "pod=jobs/worker-0 container=unset api=10.96.0.1:443 kill_after=25s",
			"stop_signal=QUIT", want} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("grace %s: no %q in\n%s", grace, w, out.String())
			}
		}
	}
}
