package signals

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	good := map[string]unix.Signal{
		"TERM": unix.SIGTERM, "SIGTERM": unix.SIGTERM, "term": unix.SIGTERM, " 15 ": unix.SIGTERM,
		"sigint": unix.SIGINT, "2": unix.SIGINT, "HUP": unix.SIGHUP, "IOT": unix.SIGABRT,
		"RTMIN": 34, "RTMIN+3": 37, "SIGRTMAX": 64, "RTMAX-2": 62, "64": 64, "1": unix.SIGHUP,
	}
	for in, want := range good {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-1", "FOO", "SIG", "RTMIN-1", "RTMAX+1", "RTMIN+31", "RTMIN+", "RTMIN++1", "1e3", "0x0f"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
	if s, err := ParseOrZero("0"); err != nil || s != 0 {
		t.Errorf("ParseOrZero(0) = %v, %v", s, err)
	}
}

func TestNameRoundTrip(t *testing.T) {
	for s := unix.Signal(1); s <= MaxSignal; s++ {
		got, err := Parse(Name(s))
		if err != nil || got != s {
			t.Errorf("Parse(Name(%d)=%q) = %v, %v", s, Name(s), got, err)
		}
	}
}

func TestForwardable(t *testing.T) {
	set := map[unix.Signal]bool{}
	for _, s := range Forwardable() {
		set[s] = true
	}
	for _, s := range []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT, unix.SIGUSR1,
		unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT, unix.SIGALRM, unix.SIGTSTP, 34, 64} {
		if !set[s] {
			t.Errorf("%s is not forwarded", Name(s))
		}
	}
	for _, s := range []unix.Signal{unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGPIPE, 32, 33} {
		if set[s] {
			t.Errorf("%s is forwarded", Name(s))
		}
	}
}

func TestRewrite(t *testing.T) {
	r := Rewrite{}
	for _, spec := range []string{"TERM:INT", "15:3", "USR1:0,HUP:USR2"} {
		if err := r.Add(spec); err != nil {
			t.Fatalf("Add(%q): %v", spec, err)
		}
	}
	if s, ok := r.Apply(unix.SIGTERM); !ok || s != unix.SIGQUIT {
		t.Errorf("TERM -> %v %v, want QUIT (the later rule wins)", s, ok)
	}
	if _, ok := r.Apply(unix.SIGUSR1); ok {
		t.Error("USR1:0 did not drop USR1")
	}
	if s, ok := r.Apply(unix.SIGWINCH); !ok || s != unix.SIGWINCH {
		t.Error("an unlisted signal changed")
	}
	if got := r.String(); got != "HUP:USR2,USR1:0,TERM:QUIT" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"", "TERM", "TERM:", ":INT", "KILL:INT", "CHLD:INT", "TERM:65", "TERM:INT:QUIT"} {
		if err := (Rewrite{}).Add(bad); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "sigint", "15", "RTMIN+3", "RTMAX-1", "0", "65", "", "RTMIN+-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		if s < 1 || s > MaxSignal {
			t.Fatalf("Parse(%q) = %d, out of range", in, s)
		}
		if back, err := Parse(Name(s)); err != nil || back != s {
			t.Fatalf("Name(%d) = %q does not parse back: %v %v", s, Name(s), back, err)
		}
	})
}

func FuzzRewrite(f *testing.F) {
	for _, s := range []string{"TERM:INT", "15:2", "HUP:0", "USR1:USR2,WINCH:0", ":", "a:b:c", "RTMIN+1:RTMAX"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := Rewrite{}
		if err := r.Add(in); err != nil {
			return
		}
		for from, to := range r {
			if from < 1 || from > MaxSignal || to < 0 || to > MaxSignal {
				t.Fatalf("Add(%q) made %d:%d", in, from, to)
			}
		}
		// What String renders must read back as the same table.
		again := Rewrite{}
		if err := again.Add(r.String()); err != nil || again.String() != r.String() {
			t.Fatalf("round trip of %q: %q, %v", in, again.String(), err)
		}
	})
}
