// Package e2e tests the built supervise binary for real: as PID 1 of a new
// PID namespace (a CLONE_NEWPID child that mounts its own /proc), with real signals and
// real children, real Redis, RQ, Celery and Huey workers.
//
// The files hold, by what they are:
//   - harness_test.go: starting supervise, reading its output line by line,
//     waiting with deadlines, and failing (not hanging) on leaks;
//   - children_test.go: the child programs, this test binary re-executed as
//     named helpers described by typed specs (hueyChild, signalsChild, ...),
//     that print "ready pid=N" and one line per event, so tests wait on
//     lines, never on fixed sleeps;
//   - proc_test.go and http_test.go: reading /proc and the HTTP endpoints;
//   - the rest: the tests, one file per subject.
package e2e
