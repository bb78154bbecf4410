package supervisor

import "testing"

func TestParseNumbers(t *testing.T) {
	for _, c := range []struct {
		parse func(string) (int, error)
		in    string
		want  int
		ok    bool
	}{
		{ParseExitStatus, " 143 ", 143, true}, {ParseExitStatus, "0", 0, true}, {ParseExitStatus, "255", 255, true},
		{ParseExitStatus, "256", 0, false}, {ParseExitStatus, "-1", 0, false}, {ParseExitStatus, "x", 0, false},
		{ParseRestartMax, "0", 0, true}, {ParseRestartMax, "1000000", MaxRestarts, true},
		{ParseRestartMax, "1000001", 0, false}, {ParseRestartMax, "", 0, false}, {ParseRestartMax, "1e3", 0, false},
	} {
		got, err := c.parse(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("parse(%q) = %d, %v", c.in, got, err)
		}
	}
	for in, want := range map[string]RestartMode{"no": RestartNo, " On-Failure ": RestartOnFailure, "always": RestartAlways} {
		if got, err := ParseRestart(in); got != want || err != nil {
			t.Errorf("ParseRestart(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseRestart("sometimes"); err == nil {
		t.Error("ParseRestart(sometimes): no error")
	}
}
