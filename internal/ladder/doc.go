// Package ladder holds stop ladders as data: the ordered signals, and waits
// between them, that take a worker from "please finish" to SIGKILL.
//
// A Preset is a worker's documented stop protocol with one wait marked as
// the drain. Plan sizes that drain so the whole ladder ends before the
// orchestrator's own SIGKILL (the grace period). Detect picks a preset from
// a command line. ParseStop reads a ladder written by hand with --stop.
//
// Everything here is pure: no clocks, no processes, safe for concurrent use.
package ladder
