package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	good := map[string]time.Duration{"30": 30 * time.Second, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond, "0": 0, "8760h": Max, " 45 ": 45 * time.Second}
	for in, want := range good {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1s", "abc", "8761h", "99999999999999", "1e3s", "30 s"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"30", "1m30s", "250ms", "-1s", "8760h", "999999999999", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := Parse(in)
		if err == nil && (d < 0 || d > Max) {
			t.Fatalf("Parse(%q) = %v", in, d)
		}
	})
}
