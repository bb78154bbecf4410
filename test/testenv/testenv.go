// Package testenv finds what the end-to-end and Docker tests need from
// outside the repository. Only tests import it.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// HueySource is the vendored Huey 3.3.0 (standard library only for
// SqliteHuey): $HUEY_SRC, or vendor/huey-3.3.0 in the shared folder
// beside the repository (seen from a test directory two levels below the
// root, as test/e2e and test/docker are). It returns "" when there is none.
func HueySource() string {
	for _, c := range []string{os.Getenv("HUEY_SRC"), "../../../shared/vendor/huey-3.3.0"} {
		if c == "" {
			continue
		}
		if abs, err := filepath.Abs(c); err == nil {
			if _, err := os.Stat(filepath.Join(abs, "huey", "consumer.py")); err == nil {
				return abs
			}
		}
	}
	return ""
}

// Huey is HueySource, or a SKIP with the reason when there is none.
func Huey(t testing.TB) string {
	t.Helper()
	src := HueySource()
	if src == "" {
		t.Skip("SKIP: Huey 3.3.0 not found (set HUEY_SRC to a folder holding huey/consumer.py)")
	}
	return src
}
