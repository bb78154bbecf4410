// Package ladder holds stop ladders as data: the ordered signals, and the
// waits between them, that take a worker from "please finish" to SIGKILL.
//
// A Preset is a worker's documented stop protocol: its graceful signal,
// whose wait is the drain, then its "stop now" signal with a short
// fast-stop wait, then KILL. Size fits a preset into a Budget. When the
// orchestrator's grace period is known, the ladder is timed so that its
// KILL lands a Margin before the orchestrator's own SIGKILL, and the drain
// gets everything else. When it is not known, the ladder is untimed: the
// first rung is sent and later rungs wait for a repeated stop signal, so
// supervise never cuts a drain the orchestrator would have allowed.
//
// A Progress drives one stop through a planned ladder: which rung is next,
// when it is due, and why (the drain deadline, or a repeated stop signal).
// Detect picks a preset from a command line; ParseStop reads a ladder
// written by hand.
//
// Everything here is pure: times are passed in, nothing reads a clock or
// touches a process, and every function is safe for concurrent use (a
// Stepper belongs to one goroutine).
package ladder
