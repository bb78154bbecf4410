package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePod(t *testing.T) {
	body := `{"metadata":{"name":"w","deletionTimestamp":"2026-12-02T12:00:20Z","deletionGracePeriodSeconds":20},
	  "spec":{"terminationGracePeriodSeconds":300,"containers":[
	    {"name":"worker","lifecycle":{"stopSignal":"SIGINT","preStop":{"sleep":{"seconds":8}}},
	     "livenessProbe":{"terminationGracePeriodSeconds":15},"startupProbe":{}},
	    {"name":"side","lifecycle":{"preStop":{"exec":{"command":["/bin/sh","-c","sleep 2.5"]}}}},
	    {"name":"web","lifecycle":{"preStop":{"httpGet":{"path":"/drain","port":80}}}}]},
	  "status":{"containerStatuses":[{"name":"worker","containerID":"containerd://abc123","stopSignal":"SIGQUIT"}]}}`
	p, err := ParsePod([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Deleting || p.DeletionGrace != 20*time.Second || p.SpecGrace != 300*time.Second ||
		!p.DeletionTimestamp.Equal(time.Date(2026, 12, 2, 12, 0, 20, 0, time.UTC)) || len(p.Containers) != 3 {
		t.Fatalf("ParsePod = %+v", p)
	}
	w := p.Containers[0]
	// The status's stopSignal is the effective one (the image's STOPSIGNAL
	// included), so it wins over the spec's.
	if w.PreStop.Kind != HookSleep || w.PreStop.Sleep != 8*time.Second || w.StopSignal != "SIGQUIT" ||
		len(w.ProbeGraces) != 1 || w.ProbeGraces[0] != 15*time.Second {
		t.Errorf("worker = %+v", w)
	}
	if h := p.Containers[1].PreStop; h.Kind != HookExecSleep || h.Sleep != 2500*time.Millisecond {
		t.Errorf("side's hook = %+v", h)
	}
	if h := p.Containers[2].PreStop; h.Kind != HookUnknown {
		t.Errorf("web's hook = %+v", h)
	}
	for _, bad := range []string{
		`not json`,
		`{"metadata":{"deletionGracePeriodSeconds":-1,"deletionTimestamp":"2026-12-02T12:00:20Z"}}`,
		`{"metadata":{"deletionGracePeriodSeconds":30}}`,
		`{"metadata":{"deletionGracePeriodSeconds":30,"deletionTimestamp":"yesterday"}}`,
		`{"spec":{"terminationGracePeriodSeconds":9223372036854775807}}`,
		`{"spec":{"containers":[{"name":"w","lifecycle":{"preStop":{"sleep":{"seconds":-3}}}}]}}`,
	} {
		if _, err := ParsePod([]byte(bad)); err == nil {
			t.Errorf("ParsePod(%s): no error", bad)
		}
	}
}

// A startup probe's terminationGracePeriodSeconds is read, and a restart
// without a deletion is planned inside it when it is the shortest: a
// container restarted after its startup probe failed gets that grace, and
// supervise's KILL must come before the kubelet's.
func TestStartupProbeGrace(t *testing.T) {
	body := `{"metadata":{"name":"w"},
	  "spec":{"terminationGracePeriodSeconds":300,"containers":[
	    {"name":"worker","livenessProbe":{"terminationGracePeriodSeconds":60,"httpGet":{"path":"/livez","port":9797},"periodSeconds":5},
	     "startupProbe":{"terminationGracePeriodSeconds":7}}]},
	  "status":{"containerStatuses":[{"name":"worker","started":false}]}}`
	p, err := ParsePod([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := p.Container("worker")
	if len(c.ProbeGraces) != 2 || c.ProbeGraces[1] != 7*time.Second {
		t.Fatalf("probe graces %v, want the liveness probe's 60s and the startup probe's 7s", c.ProbeGraces)
	}
	if l := c.Liveness; l == nil || l.Path != "/livez" || l.Port != "9797" || l.Period != 5*time.Second || l.FailureThreshold != 3 ||
		!c.StartupProbe || c.Started {
		t.Fatalf("probes %+v %+v", c.Liveness, c)
	}
	d := p.StopDeadline(c, Reading{Stop: time.Now()})
	if d.After != 7*time.Second || !strings.Contains(d.From, "probe") {
		t.Errorf("a stop without a deletion: %+v, want 7s from the startup probe's grace", d)
	}
}

// A liveness probe on supervise's own /healthz (= /livez) that supervise
// answered 200 cannot have failed: a stop without a deletion in such a
// pod is the kubelet's own (an eviction, a node shutdown), planned inside
// the pod's grace, never called a failed probe's restart and planned in
// the probe's shorter grace.
func TestOwnHealthzProbe(t *testing.T) {
	for _, path := range []string{"/healthz", "/healthz?verbose", "/livez"} {
		body := `{"metadata":{"name":"w"},
		  "spec":{"terminationGracePeriodSeconds":300,"containers":[
		    {"name":"worker","livenessProbe":{"terminationGracePeriodSeconds":10,"httpGet":{"path":"` + path + `","port":9797},"periodSeconds":5}}]},
		  "status":{"containerStatuses":[{"name":"worker","started":true}]}}`
		p, err := ParsePod([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := p.Container("worker")
		d := p.StopDeadline(c, Reading{Own: Own{Port: 9797, ProbedAt: time.Now(), ProbeOK: true}})
		if d.After != 300*time.Second || strings.Contains(d.From, "probe's restart") {
			t.Errorf("liveness on %s, answered 200: %+v; want the pod's 300s, not a probe's restart", path, d)
		}
		d = p.StopDeadline(c, Reading{Own: Own{Port: 9797, ProbedAt: time.Now(), ProbeOK: false}})
		if d.After != 10*time.Second {
			t.Errorf("liveness on %s, last answer 503: %+v; want the probe's 10s", path, d)
		}
	}
}

func TestExecSleep(t *testing.T) {
	cases := map[string]time.Duration{
		"sleep 8": 8 * time.Second, "/bin/sleep 0.5": 500 * time.Millisecond, "sh -c|sleep 3": 3 * time.Second,
		"/bin/bash -c|sleep 12": 12 * time.Second, "sleep": -1, "sleep 8 && true": -1, "sh -c|sleep 3; drain": -1,
		"sleep x": -1, "sleep -1": -1, "nginx -s quit": -1, "sleep 1e12": -1,
	}
	for in, want := range cases {
		var argv []string
		if a, b, ok := strings.Cut(in, "|"); ok {
			argv = append(strings.Fields(a), b)
		} else {
			argv = strings.Fields(in)
		}
		d, ok := execSleep(argv)
		if want < 0 && ok || want >= 0 && (!ok || d != want) {
			t.Errorf("execSleep(%q) = %v, %v; want %v", argv, d, ok, want)
		}
	}
}

// The deadline rule, on the measured timings of a real kubelet: each case
// says when the kubelet's SIGKILL really came after its stop signal, and
// the deadline must never be later than that, nor (when it uses the spec)
// more than the API's whole seconds can cost.
func TestStopDeadline(t *testing.T) {
	type hook struct {
		kind  HookKind
		sleep time.Duration
	}
	cases := []struct {
		name     string
		grace    int     // deletionGracePeriodSeconds
		deletion float64 // when the DELETE happened, API server seconds
		term     float64 // when the stop signal came, API server seconds
		skew     float64 // how far the Date header is ahead of the API server's time
		noDate   bool
		hook     hook
		kill     float64 // when the kubelet's SIGKILL came, API server seconds
		want     time.Duration
		warn     bool
	}{
		{name: "grace 12, no hook", grace: 12, deletion: 100.30, term: 100.34, kill: 112.35, want: 12 * time.Second},
		{name: "grace 20, preStop sleep 8", grace: 20, deletion: 100.30, term: 108.33, hook: hook{HookSleep, 8 * time.Second},
			kill: 120.35, want: 12 * time.Second},
		{name: "grace 5, preStop sleep 4: the 2s minimum", grace: 5, deletion: 100.30, term: 104.33,
			hook: hook{HookSleep, 4 * time.Second}, kill: 106.35, want: 2 * time.Second},
		{name: "grace 10, preStop sleep 4", grace: 10, deletion: 100.95, term: 104.99, hook: hook{HookSleep, 4 * time.Second},
			kill: 111.01, want: 6 * time.Second},
		// The kubelet counts from its own stop signal, however late it
		// noticed the deletion.
		{name: "a kubelet 1.5s late to notice", grace: 45, deletion: 100.30, term: 101.80, kill: 146.82, want: 45 * time.Second},
		// With no hook or a sleep action no clock is read, so a skewed one
		// changes nothing.
		{name: "sleep hook, Date 5s ahead", grace: 20, deletion: 100.30, term: 108.33, skew: 5,
			hook: hook{HookSleep, 8 * time.Second}, kill: 120.35, want: 12 * time.Second},
		{name: "sleep hook, Date 5s behind", grace: 20, deletion: 100.30, term: 108.33, skew: -5,
			hook: hook{HookSleep, 8 * time.Second}, kill: 120.35, want: 12 * time.Second},
		// Hooks whose length the spec does not tell: deletionTimestamp.
		{name: "an exec sleep 8 that took 10s", grace: 20, deletion: 100.30, term: 110.40, hook: hook{HookExecSleep, 8 * time.Second},
			kill: 120.42, want: 8600 * time.Millisecond},
		{name: "a hook of unknown length that took 8.5s", grace: 20, deletion: 100.30, term: 108.83, hook: hook{HookUnknown, 0},
			kill: 120.35, want: 10170 * time.Millisecond},
		{name: "unknown hook, Date 5s behind: this node's clock wins", grace: 20, deletion: 100.30, term: 108.83, skew: -5,
			hook: hook{HookUnknown, 0}, kill: 120.35, want: 10170 * time.Millisecond, warn: true},
		{name: "unknown hook, Date 5s ahead: the API's clock wins", grace: 20, deletion: 100.30, term: 108.83, skew: 5,
			hook: hook{HookUnknown, 0}, kill: 120.35, want: 6001 * time.Millisecond, warn: true},
		{name: "unknown hook, no Date header", grace: 20, deletion: 100.30, term: 108.83, noDate: true, hook: hook{HookUnknown, 0},
			kill: 120.35, want: 10170 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := func(s float64) time.Time { return time.Unix(0, int64(s*1e9)) }
			p := PodInfo{Deleting: true, DeletionGrace: time.Duration(c.grace) * time.Second,
				// deletionTimestamp: the deletion plus the grace, in whole seconds.
				DeletionTimestamp: api(c.deletion + float64(c.grace)).Truncate(time.Second)}
			// This node's clock agrees with the API server's; the GET is
			// sent 1 ms after the stop signal and answered 9 ms later.
			stop := api(c.term)
			r := Reading{Stop: stop, Sent: stop.Add(time.Millisecond), Received: stop.Add(10 * time.Millisecond)}
			if !c.noDate {
				// The server stamps Date between the two, in whole seconds.
				r.Date = api(c.term + 0.005 + c.skew).Truncate(time.Second)
			}
			d := p.StopDeadline(Container{PreStop: Hook{Kind: c.hook.kind, Sleep: c.hook.sleep, What: "hook"}}, r)
			kill := api(c.kill).Sub(stop)
			if d.After != c.want || (d.Warning != "") != c.warn {
				t.Errorf("StopDeadline = %v (%s; warning %q), want %v (warning %v)", d.After, d.From, d.Warning, c.want, c.warn)
			}
			if d.After > kill {
				t.Errorf("deadline %v is later than the kubelet's SIGKILL at %v", d.After, kill)
			}
			if !c.warn && kill-d.After > 2*time.Second {
				t.Errorf("deadline %v is %v before the kubelet's SIGKILL: more than the API's whole seconds can cost", d.After, kill-d.After)
			}
		})
	}
}

// A restart by a failed probe deletes nothing: the probe's grace (the
// shortest that could apply), less the preStop sleep, at least 2 s.
func TestRestartDeadline(t *testing.T) {
	p := PodInfo{SpecGrace: 300 * time.Second, HasSpecGrace: true}
	exec := &Probe{FailureThreshold: 3, Period: 10 * time.Second} // an exec probe: it may have failed
	cases := []struct {
		c    Container
		want time.Duration
	}{
		{Container{}, 300 * time.Second},
		{Container{PreStop: Hook{Kind: HookSleep, Sleep: 8 * time.Second}}, 292 * time.Second},
		{Container{Liveness: exec, ProbeGraces: []time.Duration{10 * time.Second}, PreStop: Hook{Kind: HookSleep, Sleep: 4 * time.Second}}, 6 * time.Second},
		{Container{Liveness: exec, ProbeGraces: []time.Duration{60 * time.Second, 10 * time.Second}}, 10 * time.Second},
		{Container{Liveness: exec, ProbeGraces: []time.Duration{3 * time.Second}, PreStop: Hook{Kind: HookSleep, Sleep: 4 * time.Second}}, MinKill},
	}
	for _, c := range cases {
		d := p.StopDeadline(c.c, Reading{})
		if d.After != c.want || !strings.HasPrefix(d.From, "no deletion") {
			t.Errorf("StopDeadline(%+v) = %+v, want %v", c.c, d, c.want)
		}
	}
	// Without a probe that could have failed, the stop is the kubelet's
	// own (an eviction, a node shutdown): never called a probe's restart,
	// planned with --kubelet-stop-grace when told, else the pod's grace
	// with a warning.
	livez := &Probe{Path: "/livez", Port: "9797", FailureThreshold: 3, Period: 10 * time.Second}
	healthy := Own{Port: 9797, ProbedAt: time.Now(), ProbeOK: true}
	for _, c := range []struct {
		c    Container
		own  Own
		want time.Duration
		from string
		warn bool
	}{
		{Container{ProbeGraces: []time.Duration{10 * time.Second}}, Own{}, 300 * time.Second, "no failed probe", true},
		{Container{Liveness: livez, ProbeGraces: []time.Duration{10 * time.Second}}, healthy, 300 * time.Second, "no failed probe", true},
		{Container{Liveness: livez, ProbeGraces: []time.Duration{10 * time.Second}}, Own{Port: 9797, ProbedAt: time.Now()}, 10 * time.Second, "failed probe's restart, or", false},
		{Container{Liveness: livez}, Own{Port: 9797}, 300 * time.Second, "failed probe's restart, or", false},
		{Container{StartupProbe: true, Started: true}, Own{}, 300 * time.Second, "no failed probe", true},
		{Container{StartupProbe: true}, Own{}, 300 * time.Second, "failed probe's restart, or", false},
		{Container{PreStop: Hook{Kind: HookSleep, Sleep: 4 * time.Second}}, Own{KubeletGrace: 15 * time.Second}, 11 * time.Second, "--kubelet-stop-grace", false},
		{Container{Liveness: exec, ProbeGraces: []time.Duration{20 * time.Second}}, Own{KubeletGrace: 15 * time.Second}, 15 * time.Second, "--kubelet-stop-grace", false},
		{Container{}, Own{KubeletGrace: 600 * time.Second}, 300 * time.Second, "terminationGracePeriodSeconds", false},
	} {
		d := p.StopDeadline(c.c, Reading{Own: c.own})
		if d.After != c.want || !strings.Contains(d.From, c.from) || (d.Warning != "") != c.warn {
			t.Errorf("StopDeadline(%+v, %+v) = %+v; want %s, from %q, warning %v", c.c, c.own, d, c.want, c.from, c.warn)
		}
		if c.from == "no failed probe" && strings.Contains(d.From, "probe's restart") {
			t.Errorf("a kubelet's own stop called a probe's restart: %s", d.From)
		}
	}
	if d := (PodInfo{}).PlannedDeadline(Container{}); d.After != 30*time.Second {
		t.Errorf("no spec grace: %+v, want Kubernetes' default 30s", d)
	}
}

func TestContainer(t *testing.T) {
	mi := "22 1 0:21 / / rw - overlay overlay rw\n" +
		"1402 1391 254:1 /var/lib/kubelet/pods/0c1f-4e/etc-hosts /etc/hosts rw - ext4 /dev/vda1 rw\n" +
		"1403 1391 254:1 /var/lib/kubelet/pods/0c1f-4e/containers/worker/5b2a9c /dev/termination-log rw - ext4 /dev/vda1 rw\n"
	if got := ContainerFromMountinfo(mi); got != "worker" {
		t.Errorf("ContainerFromMountinfo = %q", got)
	}
	if got := ContainerFromMountinfo("22 1 0:21 / / rw - overlay overlay rw\n"); got != "" {
		t.Errorf("outside a pod: %q", got)
	}
	p := PodInfo{Containers: []Container{
		{Name: "worker", PreStop: Hook{Kind: HookSleep, Sleep: 8 * time.Second}},
		{Name: "side", PreStop: Hook{Kind: HookSleep, Sleep: 12 * time.Second}, ProbeGraces: []time.Duration{time.Minute}}}}
	if c, warn := p.Container("worker"); c.Name != "worker" || warn != "" {
		t.Errorf("by name: %+v %q", c, warn)
	}
	if c, warn := p.Container(""); c.PreStop.Sleep != 12*time.Second || len(c.ProbeGraces) != 1 || warn == "" {
		t.Errorf("unknown of two: %+v %q", c, warn)
	}
	if c, warn := (PodInfo{Containers: p.Containers[:1]}).Container(""); c.Name != "worker" || warn != "" {
		t.Errorf("the only one: %+v %q", c, warn)
	}
}

func TestInCluster(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, err := InCluster(getenv, t.TempDir()); !errors.Is(err, ErrNotInPod) {
		t.Fatalf("outside a pod: %v", err)
	}
	dir := t.TempDir()
	env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = "10.96.0.1", "443"
	if _, err := InCluster(getenv, dir); err == nil {
		t.Fatal("no token: no error")
	}
	os.WriteFile(filepath.Join(dir, "token"), []byte("t"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), selfSigned(t), 0o600)
	os.WriteFile(filepath.Join(dir, "namespace"), []byte("jobs\n"), 0o600)
	env["POD_NAME"] = "worker-0"
	p, err := InCluster(getenv, dir)
	if err != nil || p.Addr != "10.96.0.1:443" || p.Namespace != "jobs" || p.Name != "worker-0" {
		t.Fatalf("InCluster = %+v, %v", p, err)
	}
	env["POD_NAMESPACE"] = "other"
	if p, _ := InCluster(getenv, dir); p.Namespace != "other" {
		t.Errorf("POD_NAMESPACE ignored: %s", p.Namespace)
	}
}

func FuzzParsePod(f *testing.F) {
	f.Add([]byte(`{"metadata":{"deletionGracePeriodSeconds":45,"deletionTimestamp":"2026-12-02T12:00:20Z"},"spec":{"terminationGracePeriodSeconds":300}}`))
	f.Add([]byte(`{"spec":{"terminationGracePeriodSeconds":9223372036854775807}}`))
	f.Add([]byte(`{"spec":{"containers":[{"name":"w","lifecycle":{"preStop":{"exec":{"command":["sh","-c","sleep 8"]}}},"livenessProbe":{"terminationGracePeriodSeconds":5}}]}}`))
	f.Add([]byte(`{"spec":{"terminationGracePeriodSeconds":300,"containers":[{"name":"w","livenessProbe":{"terminationGracePeriodSeconds":60},"startupProbe":{"terminationGracePeriodSeconds":7}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePod(b)
		if err != nil {
			return
		}
		ok := func(d time.Duration) bool { return d >= 0 && d <= maxGrace }
		if !ok(p.SpecGrace) || !ok(p.DeletionGrace) {
			t.Fatalf("ParsePod(%q) = %+v", b, p)
		}
		for _, c := range p.Containers {
			if !ok(c.PreStop.Sleep) {
				t.Fatalf("ParsePod(%q): hook %+v", b, c.PreStop)
			}
			for _, g := range c.ProbeGraces {
				if !ok(g) {
					t.Fatalf("ParsePod(%q): probe grace %s", b, g)
				}
				// A restart after a probe that may have failed is planned
				// inside every probe's grace.
				now := time.Now()
				if d := p.StopDeadline(c, Reading{Stop: now}); !p.Deleting && c.probeMayHaveFailed(Own{}) && d.After > max(g, MinKill) {
					t.Fatalf("ParsePod(%q): a restart's deadline %s is past a probe's grace %s", b, d.After, g)
				}
			}
			// Whatever the object says, the deadline is the kubelet's floor
			// at least and the grace at most.
			now := time.Now()
			d := p.StopDeadline(c, Reading{Stop: now, Sent: now, Received: now, Date: now})
			if d.After < MinKill || d.After > max(p.DeletionGrace, p.SpecGrace, 30*time.Second, MinKill) {
				t.Fatalf("ParsePod(%q): deadline %+v", b, d)
			}
		}
	})
}

func FuzzContainerFromMountinfo(f *testing.F) {
	f.Add("1403 1391 254:1 /var/lib/kubelet/pods/0c1f/containers/worker/5b2a /dev/termination-log rw - ext4 /dev/vda1 rw\n")
	f.Add("1 2 3:4 /pods//containers//x / rw\n")
	f.Fuzz(func(t *testing.T, s string) {
		if name := ContainerFromMountinfo(s); strings.Contains(name, "/") {
			t.Fatalf("ContainerFromMountinfo(%q) = %q", s, name)
		}
	})
}

// selfSigned returns a new self-signed certificate in PEM.
func selfSigned(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
