// Package supervisor runs one child under supervise's control: it starts
// the child, forwards and rewrites signals, drives the stop ladder, reaps
// every exited process, applies the restart policy and decides the final
// exit status.
//
// All of it happens in one goroutine, the loop in Run: signals, SIGCHLD
// doorbells and timers come in as channel events, the loop decides, and
// the results go out as kill(2) calls and as a published Status that the
// health server reads without ever blocking the loop. Because the loop is
// the only caller of wait4 (through package reaper) and the only sender of
// signals to the child, a child's pid is never signalled after it was reaped
// and its exit status is never lost to another waiter.
package supervisor
