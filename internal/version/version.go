// Package version says which build of supervise this is: the version and
// commit stamped at build time, or what the Go toolchain recorded.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version and commit are set at build time with -ldflags
// '-X github.com/supervise/supervise/internal/version.version=...
// -X github.com/supervise/supervise/internal/version.commit=...'.
var (
	version = "dev"
	commit  = ""
)

// Line is what `supervise version` prints:
// "supervise v1.0.0 (commit 0123456789ab, go1.26.8, linux/arm64)".
func Line() string {
	return "supervise " + Version() + " (commit " + Commit() + ", " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

// EngineLine is what `supervise --version` prints: one line in tini's
// format, "tini version V_supervise - git.COMMIT", because the engines
// that run supervise as their injected init read it so. dockerd runs
// `<init> --version` for every `docker info` and `docker version` and
// parses it (moby daemon/info_unix.go, parseInitVersion: the version after
// "tini version ", the commit after " - git."); any other line makes it
// log a parse failure and show no init version. catatonit prints "tini
// version 0.1.7_catatonit" for the same reason.
func EngineLine() string {
	return "tini version " + Version() + "_supervise - git." + Commit()
}

// Version is the version stamped at build time, else the module's version
// when the binary came from `go install ...@vX.Y.Z` (the toolchain records
// it; a build in a checkout records "(devel)"), else dev and the commit.
func Version() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") {
		return bi.Main.Version
	}
	if c := Commit(); c != "unknown" {
		return "dev-" + c
	}
	return version
}

// Commit is the commit stamped at build time, else the one the Go
// toolchain recorded (a build inside a git checkout), else "unknown".
func Commit() string {
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
