// Package e2e tests the built supervise binary for real: as PID 1 of a new
// PID namespace (unshare --pid --fork --mount-proc), with real signals and
// real children. The children are this test binary re-executed as named
// helpers (see helpers_test.go) that print "ready pid=N" and one line per
// event, so tests wait on lines, never on fixed sleeps.
package e2e
