package main

import (
	"os"
	"path/filepath"
	"strings"
)

// engineInit names the engine that runs supervise as its injected init,
// from the name supervise is run by; "" when none does. An operator
// points the engine's init at supervise with one line of configuration,
// and then every container started with --init runs it, worker or not:
// Docker bind-mounts it read-only at /sbin/docker-init and runs
// "docker-init -- ENTRYPOINT CMD" (moby daemon/oci_linux.go,
// withCommonOptions), podman at /run/podman-init with "-- CMD"
// (pkg/specgen/generate/oci.go, makeCommand). Neither passes a flag.
func engineInit(argv0 string) string {
	switch b := filepath.Base(argv0); b {
	case "docker-init", "podman-init":
		return b
	}
	return ""
}

// engineDefaults are what changes when supervise runs as an engine's
// injected init, so that a container that never asked for supervise
// sees what tini or catatonit would give it: no listener in its network
// namespace (with --network host, every container's would share the
// host's loopback) and nothing printed on a clean run. The worker's stop
// is still translated: that is why an operator picks supervise. Each
// default gives way to the option or variable that sets it.
type engineDefaults struct {
	engine string
	// listenOff: no health server (SUPERVISE_LISTEN or --listen turns it on).
	listenOff bool
	// quiet: warnings and errors only (SUPERVISE_LOG_LEVEL, -v or
	// TINI_VERBOSITY turn the info lines on).
	quiet bool
}

// text says which defaults applied and why, for the start-up line and
// supervise plan; "" when none did.
func (d engineDefaults) text() string {
	var parts []string
	if d.listenOff {
		parts = append(parts, "no health server (SUPERVISE_LISTEN sets one)")
	}
	if d.quiet {
		parts = append(parts, "warnings only (SUPERVISE_LOG_LEVEL=info for more)")
	}
	if len(parts) == 0 {
		return ""
	}
	return "run as " + d.engine + ", the engine's injected init: " + strings.Join(parts, ", ")
}

// engineDefaults says which defaults apply to this run: none unless
// supervise runs as an engine's injected init, and then each that no
// option or variable overrides.
func (in input) engineDefaults() engineDefaults {
	d := engineDefaults{engine: engineInit(in.cl.args[0])}
	if d.engine == "" {
		return d
	}
	_, tiniSet := os.LookupEnv("TINI_VERBOSITY")
	d.listenOff = !in.c.IsSet("listen")
	d.quiet = !in.c.IsSet("log-level") && in.c.Count("verbose") == 0 && !tiniSet
	return d
}
