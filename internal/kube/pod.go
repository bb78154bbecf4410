package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/duration"
)

// maxGrace bounds every grace period read from a pod object: the longest
// duration supervise accepts anywhere (a year). A larger value is taken
// for a corrupt object, not a plan.
const maxGrace = duration.Max

// PodInfo is what supervise reads of its pod object: the deletion under
// way, if any, and for each container what decides how the kubelet stops
// it.
type PodInfo struct {
	// Deleting is true once the pod is being deleted. DeletionTimestamp is
	// then the deletion time plus its grace, in whole seconds of the API
	// server's clock, and DeletionGrace the grace of that deletion
	// (deletionGracePeriodSeconds; a kubectl delete --grace-period=N
	// overrides the spec's value here).
	Deleting          bool
	DeletionTimestamp time.Time
	DeletionGrace     time.Duration
	// SpecGrace is spec.terminationGracePeriodSeconds; HasSpecGrace is
	// false when the object leaves it out (the API server defaults it to
	// 30 s, so a stored pod has it).
	SpecGrace    time.Duration
	HasSpecGrace bool
	Containers   []Container
}

// Container is one container of the pod spec, merged with its status.
type Container struct {
	Name    string
	PreStop Hook
	// StopSignal is the signal the kubelet stops the container with when
	// it is not TERM: the spec's lifecycle.stopSignal, or the effective
	// one the status reports (the image's STOPSIGNAL included). Empty when
	// neither says.
	StopSignal string
	// ProbeGraces are the terminationGracePeriodSeconds of the liveness
	// and startup probes that set one: a restart after such a probe fails
	// gets that grace instead of the pod's.
	ProbeGraces []time.Duration
	// Liveness is the container's liveness probe; nil without one.
	Liveness *Probe
	// StartupProbe is true when the container has a startup probe, and
	// Started when its status says it has started: a startup probe that
	// has succeeded never runs again, so it cannot fail any more.
	StartupProbe, Started bool
}

// Probe is what supervise reads of a liveness probe: enough to tell
// whether it probes supervise's own /livez, and how many failures in a
// row make the kubelet restart the container.
type Probe struct {
	// Path and Port are an httpGet probe's ("" for an exec, tcpSocket or
	// grpc probe); Port is a number or a port's name, as written.
	Path, Port string
	// FailureThreshold failures in a row restart the container; a probe
	// runs every Period.
	FailureThreshold int
	Period           time.Duration
}

// HookKind says what a preStop hook does, as far as its length goes.
type HookKind int

// The kinds of preStop hook.
const (
	// HookNone: no preStop hook; the stop signal comes at once.
	HookNone HookKind = iota
	// HookSleep: lifecycle.preStop.sleep, the kubelet's own timer: it takes
	// Sleep, to the millisecond.
	HookSleep
	// HookExecSleep: an exec hook that only sleeps ("sleep 8", "sh -c
	// 'sleep 8'"): at least Sleep, plus the exec's own time.
	HookExecSleep
	// HookUnknown: an exec, httpGet or tcpSocket hook whose length the spec
	// does not tell.
	HookUnknown
)

// Hook is a container's preStop hook.
type Hook struct {
	Kind HookKind
	// Sleep is how long a sleep hook waits; 0 for the other kinds.
	Sleep time.Duration
	// What describes the hook for logs: "sleep 8s", "exec [/bin/drain]".
	What string
}

// podJSON is the part of a pod object ParsePod decodes.
type podJSON struct {
	Metadata struct {
		DeletionTimestamp          *string `json:"deletionTimestamp"`
		DeletionGracePeriodSeconds *int64  `json:"deletionGracePeriodSeconds"`
	} `json:"metadata"`
	Spec struct {
		TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds"`
		Containers                    []struct {
			Name      string `json:"name"`
			Lifecycle *struct {
				StopSignal *string   `json:"stopSignal"`
				PreStop    *hookJSON `json:"preStop"`
			} `json:"lifecycle"`
			LivenessProbe *probeJSON `json:"livenessProbe"`
			StartupProbe  *probeJSON `json:"startupProbe"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		ContainerStatuses []struct {
			Name       string  `json:"name"`
			StopSignal *string `json:"stopSignal"`
			Started    *bool   `json:"started"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

type hookJSON struct {
	Exec *struct {
		Command []string `json:"command"`
	} `json:"exec"`
	Sleep *struct {
		Seconds int64 `json:"seconds"`
	} `json:"sleep"`
	HTTPGet   *struct{} `json:"httpGet"`
	TCPSocket *struct{} `json:"tcpSocket"`
}

type probeJSON struct {
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds"`
	HTTPGet                       *struct {
		Path string          `json:"path"`
		Port json.RawMessage `json:"port"`
	} `json:"httpGet"`
	PeriodSeconds    *int64 `json:"periodSeconds"`
	FailureThreshold *int64 `json:"failureThreshold"`
}

// ParsePod reads a pod object in JSON. Grace periods out of range (below
// 0, over a year) and a deletion without its timestamp or grace are
// errors: a plan is never made from a value that cannot be right.
func ParsePod(body []byte) (PodInfo, error) {
	var pj podJSON
	if err := json.Unmarshal(body, &pj); err != nil {
		return PodInfo{}, fmt.Errorf("pod object: %w", err)
	}
	var p PodInfo
	var err error
	if s := pj.Spec.TerminationGracePeriodSeconds; s != nil {
		if p.SpecGrace, err = seconds("spec.terminationGracePeriodSeconds", *s); err != nil {
			return PodInfo{}, err
		}
		p.HasSpecGrace = true
	}
	md := pj.Metadata
	if md.DeletionTimestamp != nil || md.DeletionGracePeriodSeconds != nil {
		if md.DeletionTimestamp == nil || md.DeletionGracePeriodSeconds == nil {
			return PodInfo{}, errors.New("pod object: a deletion needs both deletionTimestamp and deletionGracePeriodSeconds")
		}
		p.Deleting = true
		if p.DeletionGrace, err = seconds("metadata.deletionGracePeriodSeconds", *md.DeletionGracePeriodSeconds); err != nil {
			return PodInfo{}, err
		}
		if p.DeletionTimestamp, err = time.Parse(time.RFC3339, *md.DeletionTimestamp); err != nil {
			return PodInfo{}, fmt.Errorf("pod object: metadata.deletionTimestamp: %w", err)
		}
	}
	for _, c := range pj.Spec.Containers {
		k := Container{Name: c.Name}
		if lc := c.Lifecycle; lc != nil {
			if lc.StopSignal != nil {
				k.StopSignal = *lc.StopSignal
			}
			if k.PreStop, err = parseHook(lc.PreStop); err != nil {
				return PodInfo{}, fmt.Errorf("pod object: container %q: %w", c.Name, err)
			}
		}
		for _, pr := range []*probeJSON{c.LivenessProbe, c.StartupProbe} {
			if pr == nil || pr.TerminationGracePeriodSeconds == nil {
				continue
			}
			g, err := seconds("probe terminationGracePeriodSeconds", *pr.TerminationGracePeriodSeconds)
			if err != nil {
				return PodInfo{}, fmt.Errorf("pod object: container %q: %w", c.Name, err)
			}
			k.ProbeGraces = append(k.ProbeGraces, g)
		}
		k.Liveness = parseProbe(c.LivenessProbe)
		k.StartupProbe = c.StartupProbe != nil
		p.Containers = append(p.Containers, k)
	}
	for _, st := range pj.Status.ContainerStatuses {
		for i := range p.Containers {
			c := &p.Containers[i]
			if c.Name != st.Name {
				continue
			}
			if st.StopSignal != nil && *st.StopSignal != "" {
				c.StopSignal = *st.StopSignal
			}
			c.Started = st.Started != nil && *st.Started
		}
	}
	return p, nil
}

// parseProbe reads a liveness probe, with Kubernetes' defaults (every
// 10 s, 3 failures); nil for none.
func parseProbe(pj *probeJSON) *Probe {
	if pj == nil {
		return nil
	}
	p := &Probe{FailureThreshold: 3, Period: 10 * time.Second}
	if h := pj.HTTPGet; h != nil {
		p.Path = h.Path
		if p.Path == "" {
			p.Path = "/"
		}
		p.Port = strings.Trim(string(h.Port), `"`)
	}
	if n := pj.FailureThreshold; n != nil && *n > 0 && *n < 1<<20 {
		p.FailureThreshold = int(*n)
	}
	if n := pj.PeriodSeconds; n != nil && *n > 0 && *n < int64(maxGrace/time.Second) {
		p.Period = time.Duration(*n) * time.Second
	}
	return p
}

func seconds(field string, s int64) (time.Duration, error) {
	if s < 0 || s > int64(maxGrace/time.Second) {
		return 0, fmt.Errorf("pod object: %s %d out of range", field, s)
	}
	return time.Duration(s) * time.Second, nil
}

// parseHook reads a preStop hook. An exec hook that is only a sleep of a
// whole or decimal number of seconds ("sleep 8", "/bin/sh -c 'sleep 8'")
// has a known least length; any other exec hook, an httpGet or a
// tcpSocket does not.
func parseHook(h *hookJSON) (Hook, error) {
	switch {
	case h == nil:
		return Hook{}, nil
	case h.Sleep != nil:
		d, err := seconds("preStop sleep.seconds", h.Sleep.Seconds)
		if err != nil {
			return Hook{}, err
		}
		return Hook{Kind: HookSleep, Sleep: d, What: "sleep " + d.String()}, nil
	case h.Exec != nil:
		what := fmt.Sprintf("exec %q", h.Exec.Command)
		if d, ok := execSleep(h.Exec.Command); ok {
			return Hook{Kind: HookExecSleep, Sleep: d, What: what}, nil
		}
		return Hook{Kind: HookUnknown, What: what}, nil
	case h.HTTPGet != nil:
		return Hook{Kind: HookUnknown, What: "httpGet"}, nil
	case h.TCPSocket != nil:
		return Hook{Kind: HookUnknown, What: "tcpSocket"}, nil
	}
	return Hook{}, nil
}

// execSleep recognises an exec hook that only sleeps: [sleep N] or
// [sh -c "sleep N"], with any path to sleep or sh.
func execSleep(argv []string) (time.Duration, bool) {
	base := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	if len(argv) == 3 && (base(argv[0]) == "sh" || base(argv[0]) == "bash") && argv[1] == "-c" {
		argv = strings.Fields(argv[2])
	}
	if len(argv) != 2 || base(argv[0]) != "sleep" {
		return 0, false
	}
	f, err := strconv.ParseFloat(argv[1], 64)
	if err != nil || f < 0 || f > maxGrace.Seconds() {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond), true
}
