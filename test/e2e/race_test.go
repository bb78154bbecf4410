//go:build race

package e2e

// raceEnabled builds the supervise binary under test with -race too.
const raceEnabled = true
