package supervisor

// phase is where the loop is in the life of its child. It is the
// machine's one state variable: every event (a signal, the main child's
// exit, a deadline) is handled according to it in machine.step, and each
// phase owns the fields that only it uses.
type phase int

const (
	// initial: Run has not begun; evBegin brings the plan made at start
	// and the first start.
	initial phase = iota
	// starting: the child is being started, at first and after a restart's
	// wait; it lasts until the start's result comes back.
	starting
	// running: the main child runs and no stop was asked for.
	running
	// stopping: the main child runs and a stop is under way (machine.end).
	stopping
	// backoff: the main child exited on its own and a restart is pending
	// (machine.restartAt).
	backoff
	// cleaning: the main child is gone for good; processes left below
	// supervise get TERM, then KILL (machine.end.clean).
	cleaning
	// done: nothing is left to wait for; Run returns.
	done
)

func (p phase) String() string {
	return [...]string{"initial", "starting", "running", "stopping", "backoff", "cleaning", "done"}[p]
}
