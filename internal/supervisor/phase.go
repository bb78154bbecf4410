package supervisor

// phase is where the loop is in the life of its child. It is the loop's
// one state variable: every event (a signal, the main child's exit, a
// deadline) is handled according to it, and each phase owns the fields
// that only it uses.
type phase int

const (
	// running: the main child runs and no stop was asked for.
	running phase = iota
	// stopping: the main child runs and a stop is under way (loop.stop).
	stopping
	// backoff: the main child exited on its own and a restart is pending
	// (loop.restartAt).
	backoff
	// cleaning: the main child is gone for good; processes left below
	// supervise get TERM, then KILL (loop.clean).
	cleaning
	// done: nothing is left to wait for; Run returns.
	done
)

func (p phase) String() string {
	return [...]string{"running", "stopping", "backoff", "cleaning", "done"}[p]
}
