package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit are set at build time with
// -ldflags '-X main.version=... -X main.commit=...'.
var (
	version = "dev"
	commit  = ""
)

// versionLine is what `supervise version` and `--version` print:
// "supervise v1.0.0 (commit 0123456789ab, go1.26.8, linux/arm64)".
func versionLine() string {
	return "supervise " + buildVersion() + " (commit " + buildCommit() + ", " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

// buildVersion is the version stamped at build time, else the module's
// version when the binary came from `go install ...@vX.Y.Z` (the toolchain
// records it; a build in a checkout records "(devel)"), else dev and the
// commit.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") {
		return bi.Main.Version
	}
	if c := buildCommit(); c != "unknown" {
		return "dev-" + c
	}
	return version
}

// buildCommit is the commit stamped at build time, else the one the Go
// toolchain recorded (a build inside a git checkout), else "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return "unknown"
}
