package ladder

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const s = time.Second

// Every ladder fits its grace: KILL lands exactly Margin before the end
// of a grace of 10s or more, and no rung is closer than MinSpacing.
func TestSizeFitsGrace(t *testing.T) {
	for _, name := range Names() {
		p, ok := Lookup(name)
		if !ok || len(p.Rungs) == 0 {
			continue
		}
		for _, grace := range []time.Duration{5 * s, 10 * s, 30 * s, 300 * s, 35 * time.Minute} {
			l, warns := Size(p, Budget{Grace: grace})
			if !l.Timed || l.Rungs[len(l.Rungs)-1].Signal != unix.SIGKILL {
				t.Errorf("%s: ladder %s is untimed or does not end in KILL", name, l)
			}
			if grace >= 10*s {
				if len(warns) > 0 {
					t.Errorf("%s at %s: warnings %v", name, grace, warns)
				}
				if got := l.Total(); got != grace-Margin(grace) {
					t.Errorf("%s at %s: ladder %s takes %s, want %s", name, grace, l, got, grace-Margin(grace))
				}
			}
			if l.Total() > grace-Margin(grace) {
				t.Errorf("%s at %s: ladder %s ends after the margin", name, grace, l)
			}
			for i, st := range l.Rungs[:len(l.Rungs)-1] {
				if st.Wait < MinSpacing {
					t.Errorf("%s at %s: rung %d waits %s, below %s", name, grace, i, st.Wait, MinSpacing)
				}
			}
		}
	}
}

// The drain gets nearly all of a known grace: every two-signal preset
// drains at least 7s at 10s, 26s at 30s and 290s at 300s; celery, whose
// 5.6 release takes up to 2.35 s to act on QUIT (fastCelery), at least
// 6s at 10s.
func TestSizeDrainShare(t *testing.T) {
	want := map[time.Duration]time.Duration{10 * s: 7 * s, 30 * s: 26 * s, 300 * s: 290 * s}
	for _, name := range Names() {
		p, ok := Lookup(name)
		if !ok || len(p.Rungs) != 3 || !p.Rungs[0].Drain || p.Rungs[0].Quiet {
			continue // a quiet drain gets what the worker's own timeout leaves (TestSizeQuiet)
		}
		for grace, least := range want {
			if (name == "celery" || name == "gunicorn") && grace == 10*s {
				least = 6 * s // their measured 3 s after "stop now"
			}
			l, _ := Size(p, Budget{Grace: grace})
			if d := l.Rungs[l.DrainIndex()].Wait; d < least {
				t.Errorf("%s at %s: drain %s (%s), want at least %s", name, grace, d, l, least)
			}
		}
	}
}

// --fast-stop replaces the wait after the "stop now" rung, and the drain
// shrinks by what it adds; KILL still lands Margin before the grace ends.
func TestSizeFastStop(t *testing.T) {
	cases := []struct {
		preset string
		b      Budget
		want   string
	}{
		{"celery", Budget{Grace: 10 * s, FastStop: 6 * s}, "TERM,3s,QUIT,6s,KILL"},
		{"celery", Budget{Grace: 30 * s, FastStop: 7 * s}, "TERM,22s,QUIT,7s,KILL"},
		{"celery", Budget{Grace: 300 * s, FastStop: 2 * s}, "TERM,4m57s,QUIT,2s,KILL"},
		{"celery", Budget{DrainTimeout: 5 * s, FastStop: 6 * s}, "TERM,5s,QUIT,6s,KILL"},
		{"celery", Budget{FastStop: 6 * s}, "TERM,…,QUIT,…,KILL"},
		{"sidekiq", Budget{Grace: 10 * s, FastStop: 6 * s}, "TSTP,3s,TERM,6s,KILL"},
		{"sidekiq", Budget{Grace: 10 * s, FastStop: 8 * s}, "TERM,9s,KILL"},
		{"huey", Budget{Grace: 8 * s, StopDelay: 2 * s, FastStop: 2 * s}, "INT,3.2s,INT,2s,KILL"},
	}
	for _, c := range cases {
		p, _ := Lookup(c.preset)
		l, warns := Size(p, c.b)
		if l.String() != c.want || len(warns) != 0 {
			t.Errorf("%s in %+v: %s %q; want %s, no warnings", c.preset, c.b, l, warns, c.want)
		}
		if c.b.Grace > 0 && l.KillAt(c.b) != c.b.Grace-Margin(c.b.Grace) {
			t.Errorf("%s in %+v: KILL at %s, want %s", c.preset, c.b, l.KillAt(c.b), c.b.Grace-Margin(c.b.Grace))
		}
		if err := Fit(p, c.b); err != nil {
			t.Errorf("%s in %+v: %v", c.preset, c.b, err)
		}
	}
}

// Fit refuses waits that cannot all fit the grace, naming both values and
// the grace that would hold them; it holds exactly at that grace.
func TestFitRefuses(t *testing.T) {
	celery, _ := Lookup("celery")
	cases := []struct {
		b    Budget
		need time.Duration
		says string
	}{
		// 8.5s of waits (1.5s drain + 7s) need a 9.5s grace.
		{Budget{Grace: 8 * s, FastStop: 7 * s}, 9500 * time.Millisecond, "fast stop 7s does not fit the grace period 8s"},
		// 1.5s + 9s + 1s margin.
		{Budget{Grace: 10 * s, FastStop: 9 * s}, 11500 * time.Millisecond, "would leave the drain 0s"},
		{Budget{Grace: 30 * s, DrainTimeout: 25 * s, FastStop: 6 * s}, 32 * s, "fast stop 6s and drain timeout 25s do not fit the grace period 30s"},
		{Budget{Grace: 30 * s, StopDelay: 10 * s, FastStop: 20 * s}, 32500 * time.Millisecond, "the grace period must be at least 32.5s"},
	}
	for _, c := range cases {
		err := Fit(celery, c.b)
		var fe *FitError
		if !errors.As(err, &fe) || fe.Need != c.need || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %v (need %v); want need %s, saying %q", c.b, err, fe, c.need, c.says)
			continue
		}
		b := c.b
		b.Grace = fe.Need
		if err := Fit(celery, b); err != nil {
			t.Errorf("%+v at the grace it asked for: %v", b, err)
		}
		if l, warns := Size(celery, b); len(warns) != 0 || l.KillAt(b) > b.Grace-Margin(b.Grace) {
			t.Errorf("%+v: planned %s %q", b, l, warns)
		}
	}
	for _, name := range []string{Generic, "arq", "none"} {
		p, _ := Lookup(name)
		if p.HasFastStop() {
			t.Errorf("%s has a stop-now rung", name)
		}
	}
	// A quiet drain may be left out: the fast stop then needs only itself
	// and the margin.
	sidekiq, _ := Lookup("sidekiq")
	if err := Fit(sidekiq, Budget{Grace: 10 * s, FastStop: 8 * s}); err != nil {
		t.Errorf("sidekiq's 8s fast stop at 10s: %v", err)
	}
	var fe *FitError
	if err := Fit(sidekiq, Budget{Grace: 10 * s, FastStop: 9500 * time.Millisecond}); !errors.As(err, &fe) || fe.Need != 10500*time.Millisecond ||
		!strings.Contains(err.Error(), "KILL would land 9.5s after the stop") {
		t.Errorf("sidekiq's 9.5s fast stop at 10s: %v, want a grace of 10.5s asked for", err)
	}
	if !celery.HasFastStop() {
		t.Errorf("celery has no stop-now rung")
	}
}

// Sidekiq's TSTP only quiets it: TERM is what makes it give up after its
// own -t and push the jobs back. TSTP goes first only where the grace
// leaves TERM the worker's whole wait; otherwise, and with no grace
// known, TERM goes first.
func TestSizeQuiet(t *testing.T) {
	sidekiq, _ := Lookup("sidekiq")
	cases := []struct {
		b    Budget
		want string
	}{
		{Budget{Grace: 300 * s}, "TSTP,4m31s,TERM,28s,KILL"},
		{Budget{Grace: 31 * s}, "TSTP,2s,TERM,28s,KILL"},
		{Budget{Grace: 30 * s}, "TERM,29s,KILL"},
		{Budget{Grace: 10 * s}, "TERM,9s,KILL"},
		{Budget{Grace: 300 * s, StopDelay: 5 * s}, "TSTP,4m26s,TERM,28s,KILL"},
		{Budget{Grace: 300 * s, DrainTimeout: 20 * s}, "TSTP,20s,TERM,28s,KILL"},
		{Budget{}, "TERM,…,KILL"},
	}
	for _, c := range cases {
		l, warns := Size(sidekiq, c.b)
		if l.String() != c.want || len(warns) != 0 {
			t.Errorf("sidekiq in %+v: %s %q, want %s, no warnings", c.b, l, warns, c.want)
		}
		if l.DrainIndex() != 0 {
			t.Errorf("sidekiq in %+v: %s drains from rung %d, want the first", c.b, l, l.DrainIndex()+1)
		}
		if c.b.Grace > 0 && c.b.DrainTimeout == 0 && l.KillAt(c.b) != c.b.Grace-Margin(c.b.Grace) {
			t.Errorf("sidekiq in %+v: KILL at %s", c.b, l.KillAt(c.b))
		}
	}
	// The worker's own -t, given: the wait after TERM is it plus 3s.
	l, _ := Size(sidekiq.WithStopWait(8*s), Budget{Grace: 60 * s})
	if l.String() != "TSTP,51s,TERM,8s,KILL" {
		t.Errorf("sidekiq -t 5 at 60s: %s", l)
	}
}

// A preset's rungs go to the main process whatever -g says (each worker
// passes the stop on itself), but uvicorn's "stop now", which must reach
// every worker process; the generic ladder's and --stop's follow -g.
func TestTargets(t *testing.T) {
	for _, name := range Names() {
		p, ok := Lookup(name)
		if !ok {
			continue
		}
		for i, st := range p.Rungs {
			want := ToMain
			switch {
			case st.Signal == unix.SIGKILL || name == Generic:
				want = ToChild
			case name == "uvicorn" && i == 1:
				want = ToGroup
			}
			if st.To != want {
				t.Errorf("%s rung %d (%s): to %d, want %d", name, i+1, StepName(st.Signal), st.To, want)
			}
		}
	}
	l, _ := ParseStop("TERM,5s,QUIT,2s,KILL")
	for _, st := range l.Rungs {
		if st.To != ToChild {
			t.Errorf("--stop rung %s: to %d, want the child (or its group with -g)", StepName(st.Signal), st.To)
		}
	}
	u, _ := Lookup("uvicorn")
	t0 := time.Unix(0, 0)
	st := NewProgress(u.Ladder(), t0, 0)
	st.Fire(t0)
	if r, ok := st.Fire(t0.Add(time.Hour)); !ok || r.To != ToGroup {
		t.Errorf("uvicorn's second rung as fired: %+v", r)
	}
}

func TestSizeLadders(t *testing.T) {
	cases := []struct {
		preset string
		b      Budget
		want   string
		warns  int
	}{
		{"huey", Budget{Grace: 10 * s}, "INT,7.5s,INT,1.5s,KILL", 0},
		{"huey", Budget{Grace: 30 * s}, "INT,27.5s,INT,1.5s,KILL", 0},
		{"huey", Budget{Grace: 300 * s}, "INT,4m56s,INT,3s,KILL", 0},
		{"huey", Budget{Grace: 35 * time.Minute, StopDelay: 5 * s}, "INT,34m44s,INT,10s,KILL", 0},
		{"huey", Budget{}, "INT,…,INT,…,KILL", 0},
		{"huey", Budget{Grace: 10 * s, DrainTimeout: 20 * s}, "INT,20s,INT,1.5s,KILL", 1},
		{"huey", Budget{DrainTimeout: 20 * s}, "INT,20s,INT,1.5s,KILL", 0},
		{"huey", Budget{Grace: 3 * s}, "INT,1.5s,INT,1.5s,KILL", 2},
		{"celery", Budget{Grace: 10 * s}, "TERM,6s,QUIT,3s,KILL", 0},
		{"rq", Budget{Grace: 10 * s}, "TERM,7.5s,TERM,1.5s,KILL", 0},
		{"gunicorn", Budget{Grace: 10 * s}, "TERM,6s,QUIT,3s,KILL", 0},
		{"resque", Budget{Grace: 10 * s}, "QUIT,7s,INT,2s,KILL", 0},
		{"sidekiq", Budget{Grace: 10 * s}, "TERM,9s,KILL", 0},
		{"sidekiq", Budget{}, "TERM,…,KILL", 0},
		{Generic, Budget{Grace: 10 * s}, "RECEIVED,9s,KILL", 0},
		{Generic, Budget{}, "RECEIVED,…,KILL", 0},
		{"none", Budget{Grace: 10 * s}, "", 0},
	}
	for _, c := range cases {
		p, _ := Lookup(c.preset)
		l, warns := Size(p, c.b)
		if l.String() != c.want || len(warns) != c.warns {
			t.Errorf("%s in %+v: %s %q; want %s and %d warnings", c.preset, c.b, l, warns, c.want, c.warns)
		}
	}
	g, _ := Lookup(Generic)
	if l, _ := Size(g, Budget{}); !l.RepeatForwards || l.Timed {
		t.Errorf("generic without a grace: %+v, want untimed and forwarding repeats", l)
	}
	if l, _ := Size(g, Budget{Grace: 10 * s}); l.RepeatForwards {
		t.Errorf("generic with a grace forwards repeats: %+v", l)
	}
	if got := g.Ladder().Resolve(unix.SIGINT).Rungs[0].Signal; got != unix.SIGINT {
		t.Errorf("Resolve: first rung %v, want INT", got)
	}
}

func TestBudgetValidate(t *testing.T) {
	good := []Budget{{}, {Grace: s}, {Grace: 30 * s, StopDelay: 5 * s, DrainTimeout: 20 * s}, {DrainTimeout: MinSpacing}}
	for _, b := range good {
		if err := b.Validate(); err != nil {
			t.Errorf("%+v: %v", b, err)
		}
	}
	bad := map[string]Budget{
		FieldGrace:        {Grace: 500 * time.Millisecond},
		FieldDrainTimeout: {DrainTimeout: s},
		FieldStopDelay:    {Grace: 10 * s, StopDelay: 10 * s},
	}
	for field, b := range bad {
		var fe *FieldError
		if err := b.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%+v: %v, want a %s error", b, err, field)
		}
	}
}

// Progress, fed times and no processes: each row is one stop.
func TestProgress(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	timed, _ := Size(presets["huey"], Budget{Grace: 10 * s})
	untimed, _ := Size(presets["huey"], Budget{})
	type event struct {
		at     time.Duration
		repeat bool // a repeated stop signal; otherwise a clock tick
	}
	cases := []struct {
		name   string
		l      Ladder
		delay  time.Duration
		events []event
		want   string // rungs sent: "INT@0s/stop signal ..."
	}{
		{"timed, no repeat", timed, 0, []event{{0, false}, {7 * s, false}, {7500 * time.Millisecond, false}, {9 * s, false}},
			"INT@0s/stop signal INT@7.5s/deadline KILL@9s/deadline"},
		{"timed, repeat advances at once", timed, 0, []event{{0, false}, {2 * s, true}, {2 * s, false}},
			"INT@0s/stop signal INT@2s/repeated stop signal"},
		{"repeat waits the minimum spacing", timed, 0, []event{{0, false}, {200 * time.Millisecond, true}, {time.Second, false}, {1500 * time.Millisecond, false}},
			"INT@0s/stop signal INT@1.5s/repeated stop signal"},
		{"repeat never postpones a deadline", timed, 0, []event{{0, false}, {7 * s, false}, {7500 * time.Millisecond, false}, {8 * s, true}, {9 * s, false}},
			"INT@0s/stop signal INT@7.5s/deadline KILL@9s/deadline"},
		{"untimed waits for repeats", untimed, 0, []event{{0, false}, {time.Hour, false}, {time.Hour, true}, {time.Hour, false}, {2 * time.Hour, false}},
			"INT@0s/stop signal INT@1h0m0s/repeated stop signal"},
		{"untimed, two repeats reach KILL", untimed, 0, []event{{0, false}, {s, true}, {1500 * time.Millisecond, false}, {2 * s, true}, {3 * s, false}},
			"INT@0s/stop signal INT@1.5s/repeated stop signal KILL@3s/repeated stop signal"},
		{"stop delay, then a repeat sends the first rung", timed, 5 * s, []event{{s, false}, {2 * s, true}, {2 * s, false}},
			"INT@2s/repeated stop signal"},
		{"stop delay runs out", timed, 2 * s, []event{{s, false}, {2 * s, false}},
			"INT@2s/stop signal"},
	}
	for _, c := range cases {
		st := NewProgress(c.l, t0, c.delay)
		for _, e := range c.events {
			if e.repeat {
				st.Repeat(at(e.at))
				continue
			}
			st.Fire(at(e.at))
		}
		var got []string
		for _, r := range st.Sent() {
			got = append(got, StepName(r.Signal)+"@"+r.At.String()+"/"+r.Cause.String())
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, g, c.want)
		}
	}
}

// Learning the grace during a stop times the rest of an untimed ladder
// from the last rung sent.
func TestProgressRetime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	untimed, _ := Size(presets["huey"], Budget{})
	st := NewProgress(untimed, t0, 0)
	st.Fire(t0)
	if due, _ := st.Due(); !due.IsZero() {
		t.Fatalf("untimed ladder has a deadline %v", due)
	}
	timed, _ := Size(presets["huey"], Budget{Grace: 45 * s})
	st.Retime(timed)
	due, cause := st.Due()
	if want := t0.Add(timed.Rungs[0].Wait); !due.Equal(want) || cause != CauseDeadline {
		t.Fatalf("after Retime: due %v (%s), want %v", due.Sub(t0), cause, want.Sub(t0))
	}
	if r, ok := st.Fire(due); !ok || r.Signal != unix.SIGINT || !r.AfterDrain {
		t.Fatalf("Fire at the new deadline: %+v %v", r, ok)
	}
}

func TestParseStop(t *testing.T) {
	good := map[string]string{
		"TERM,290s,QUIT,5s,KILL": "TERM,4m50s,QUIT,5s,KILL",
		"INT,30,KILL":            "INT,30s,KILL",
		"TERM,30s":               "TERM,30s,KILL",
		"sigterm, 2s ,kill":      "TERM,2s,KILL",
		"KILL":                   "KILL",
	}
	for in, want := range good {
		l, err := ParseStop(in)
		if err != nil || l.String() != want || !l.Timed {
			t.Errorf("ParseStop(%q) = %s, %v; want %s", in, l, err, want)
		}
	}
	for _, in := range []string{"", "TERM", "TERM,5s,QUIT", "TERM,1s,KILL", "TERM,x,KILL", "KILL,5s,TERM", "FOO,5s,KILL", "TERM,-5s,KILL", ",,"} {
		l, err := ParseStop(in)
		if err == nil {
			t.Errorf("ParseStop(%q) = %s, want an error", in, l)
		} else if strings.Contains(err.Error(), "--") {
			t.Errorf("ParseStop(%q): the error names a flag: %v", in, err)
		}
	}
}

func FuzzParseStop(f *testing.F) {
	for _, s := range []string{"TERM,290s,QUIT,5s,KILL", "INT,4s,INT,5s,KILL", "TERM,30", "KILL", "", ",", "TERM,1.5s,KILL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := ParseStop(in)
		if err != nil {
			return
		}
		if len(l.Rungs) == 0 || l.Rungs[len(l.Rungs)-1].Signal != unix.SIGKILL {
			t.Fatalf("ParseStop(%q) = %s: does not end in KILL", in, l)
		}
		for _, s := range l.Rungs[:len(l.Rungs)-1] {
			if s.Wait < MinSpacing || s.Signal == unix.SIGKILL {
				t.Fatalf("ParseStop(%q) = %s: bad rung %+v", in, l, s)
			}
		}
		again, err := ParseStop(l.String())
		if err != nil || again.String() != l.String() {
			t.Fatalf("round trip of %q: %s, %v", in, again, err)
		}
	})
}

func TestPreview(t *testing.T) {
	p, _ := Lookup("huey")
	l, _ := Size(p, Budget{Grace: 10 * s})
	var got []string
	for _, r := range l.Preview(Budget{Grace: 10 * s}) {
		got = append(got, fmt.Sprintf("%s@%s/%v", StepName(r.Signal), r.At, r.Timed))
	}
	if g := strings.Join(got, " "); g != "INT@0s/true INT@7.5s/true KILL@9s/true" {
		t.Errorf("timed preview: %s", g)
	}
	l, _ = Size(p, Budget{})
	got = nil
	for _, r := range l.Preview(Budget{}) {
		got = append(got, fmt.Sprintf("%s/%v/%s", StepName(r.Signal), r.Timed, r.When))
	}
	if g := strings.Join(got, " "); g != "INT/true/at once INT/false/on a repeated stop signal KILL/false/on a repeated stop signal" {
		t.Errorf("untimed preview: %s", g)
	}
}

// The margin before the orchestrator's SIGKILL, pinned to its values
// (other tests compute their expectations with Margin itself).
func TestMarginValues(t *testing.T) {
	for grace, want := range map[time.Duration]time.Duration{
		5 * time.Second: 500 * time.Millisecond, 9 * time.Second: 900 * time.Millisecond, 10 * time.Second: time.Second,
		30 * time.Second: time.Second, 300 * time.Second: time.Second, 2 * time.Second: 200 * time.Millisecond,
	} {
		if got := Margin(grace); got != want {
			t.Errorf("Margin(%s) = %s, want %s", grace, got, want)
		}
	}
}

// Set refuses a zero given for a field that zero leaves unset, saying how
// to leave it unset; the stop delay takes zero.
func TestBudgetSet(t *testing.T) {
	var b Budget
	for _, f := range []string{FieldGrace, FieldDrainTimeout, FieldFastStop} {
		var fe *FieldError
		if err := b.Set(f, 0); !errors.As(err, &fe) || fe.Field != f || !strings.Contains(fe.Reason, "leave it unset") || !Unsettable(f) {
			t.Errorf("Set(%s, 0) = %v", f, err)
		}
	}
	if err := b.Set(FieldStopDelay, 0); err != nil || Unsettable(FieldStopDelay) {
		t.Errorf("Set(stop delay, 0) = %v", err)
	}
	for f, to := range map[string]*time.Duration{FieldGrace: &b.Grace, FieldDrainTimeout: &b.DrainTimeout,
		FieldFastStop: &b.FastStop, FieldStopDelay: &b.StopDelay} {
		if err := b.Set(f, 7*time.Second); err != nil || *to != 7*time.Second {
			t.Errorf("Set(%s, 7s) = %v, field %s", f, err, *to)
		}
	}
}

// Every preset names the releases its tests run it against: a preset is
// a promise about a program.
func TestEveryPresetTested(t *testing.T) {
	for _, name := range Names() {
		if p, ok := Lookup(name); ok && p.Tested == "" {
			t.Errorf("preset %s names no release its tests run", name)
		}
	}
}

// MaxWait is what the "stop now" rung's wait can grow to while Size still
// fits the ladder: sized with it, the drain keeps MinSpacing.
func TestMaxWait(t *testing.T) {
	b := Budget{Grace: 20 * time.Second}
	for _, name := range []string{"resque", "huey", "nginx"} {
		p, _ := Lookup(name)
		l, _ := Size(p.WithStopWait(time.Minute), b) // does not fit: cut to MinSpacing
		most := l.MaxWait(1)
		if want := l.Total() - MinSpacing; most != want {
			t.Errorf("%s %s: MaxWait(1) = %s, want %s", name, l, most, want)
		}
		again, warnings := Size(p.WithStopWait(most), b)
		if again.Rungs[1].Wait != most || again.Rungs[0].Wait != MinSpacing || len(warnings) != 0 {
			t.Errorf("%s sized with its MaxWait %s: %s, %q", name, most, again, warnings)
		}
	}
}
