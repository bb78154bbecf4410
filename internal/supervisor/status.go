package supervisor

import (
	"sync"
	"time"
)

// Status is the state the loop publishes for the health server. The loop
// writes it under a short lock and never waits on readers; Snapshot copies
// it out. The zero value is ready to use and safe for concurrent use.
type Status struct {
	mu sync.Mutex
	s  Snapshot
}

// Snapshot is a copy of the published state at one moment.
type Snapshot struct {
	// ChildRunning is true while the main child runs.
	ChildRunning bool
	// Restarting is true while a restart is pending (inside the policy).
	Restarting bool
	// Draining is true from the first stop signal on.
	Draining bool
	// ChildPID is the main child's pid, 0 when none runs.
	ChildPID int
	// Starts counts child starts.
	Starts int
	// LastExitCode is the last child's exit status as supervise reports it.
	LastExitCode int
	// StartedAt is when the current child started.
	StartedAt time.Time
}

// Snapshot returns a copy of the current state.
func (s *Status) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s
}

func (s *Status) update(f func(*Snapshot)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	f(&s.s)
	s.mu.Unlock()
}
