package credential

import (
	"os"
	"regexp"
	"testing"
)

// Resolve against this machine's /etc/passwd and /etc/group.
func TestResolve(t *testing.T) {
	passwd, _ := os.ReadFile("/etc/passwd")
	if regexp.MustCompile(`(?m)^[^:]*:[^:]*:12345:`).Match(passwd) {
		t.Skip("SKIP: uid 12345 is in this machine's /etc/passwd")
	}
	// A uid nobody has: that uid, the same gid, no supplementary groups
	// (an empty list, so setgroups drops supervise's own), HOME=/.
	c, home, err := Resolve("12345")
	if err != nil || c.Uid != 12345 || c.Gid != 12345 || c.Groups == nil || len(c.Groups) != 0 || home != "/" {
		t.Errorf("Resolve(12345) = %+v, %q, %v", c, home, err)
	}
	c, _, err = Resolve("12345:4000")
	if err != nil || c.Uid != 12345 || c.Gid != 4000 {
		t.Errorf("Resolve(12345:4000) = %+v, %v", c, err)
	}
	// root is in every /etc/passwd: uid 0, gid 0, its home.
	c, home, err = Resolve("root")
	if err != nil || c.Uid != 0 || c.Gid != 0 || home != "/root" {
		t.Errorf("Resolve(root) = %+v, %q, %v", c, home, err)
	}
	for _, bad := range []string{"", ":", "root:", "no-such-user-xyz", "root:no-such-group-xyz", "99999999999", "1:99999999999"} {
		if _, _, err := Resolve(bad); err == nil {
			t.Errorf("Resolve(%q): no error", bad)
		}
	}
}
