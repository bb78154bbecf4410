//go:build dist

package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// arch is one release architecture under each system's name for it.
type arch struct {
	name             string // in supervise-linux-NAME
	goarch           string // in `supervise version`
	debArch, rpmArch string
	apkArch          string
	platform         string // OCI
	qemu             string // Debian's qemu-user-static binary; "" runs natively
}

var arches = []arch{
	{"amd64", "amd64", "amd64", "x86_64", "x86_64", "linux/amd64", ""},
	{"arm64", "arm64", "arm64", "aarch64", "aarch64", "linux/arm64", "qemu-aarch64-static"},
	{"armv7", "arm", "armhf", "armv7hl", "armv7", "linux/arm/v7", "qemu-arm-static"},
	{"386", "386", "i386", "i386", "x86", "linux/386", ""},
	{"ppc64le", "ppc64le", "ppc64el", "ppc64le", "ppc64le", "linux/ppc64le", "qemu-ppc64le-static"},
	{"s390x", "s390x", "s390x", "s390x", "s390x", "linux/s390x", "qemu-s390x-static"},
	{"riscv64", "riscv64", "riscv64", "riscv64", "riscv64", "linux/riscv64", "qemu-riscv64-static"},
}

// rel is the release under test: its folder and what its files say.
var rel struct {
	dir     string
	version string // as `supervise version` prints it
	commit  string
	pkgver  string // the .deb's and .rpm's upstream version
	apkver  string
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	rel.dir = os.Getenv("SUPERVISE_DIST")
	if rel.dir == "" {
		tmp, err := os.MkdirTemp("", "supervise-dist-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("scripts/dist", tmp)
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "scripts/dist: %v\n%s", err, out)
			return 1
		}
		rel.dir = tmp
	}
	out, err := exec.Command(filepath.Join(rel.dir, "supervise-linux-amd64"), "version").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervise version:", err)
		return 1
	}
	// supervise v0.1.0 (commit 0123456789ab, go1.26.8, linux/amd64)
	f := strings.Fields(strings.NewReplacer("(", " ", ")", " ", ",", " ").Replace(string(out)))
	if len(f) < 4 || f[2] != "commit" {
		fmt.Fprintf(os.Stderr, "supervise version: %q\n", out)
		return 1
	}
	rel.version, rel.commit = f[1], f[3]
	debs, _ := filepath.Glob(filepath.Join(rel.dir, "supervise_*-1_amd64.deb"))
	apks, _ := filepath.Glob(filepath.Join(rel.dir, "supervise_*-r1_x86_64.apk"))
	if len(debs) != 1 || len(apks) != 1 {
		fmt.Fprintf(os.Stderr, "%s: want one amd64 .deb and one x86_64 .apk, have %v %v\n", rel.dir, debs, apks)
		return 1
	}
	rel.pkgver = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(debs[0]), "supervise_"), "-1_amd64.deb")
	rel.apkver = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(apks[0]), "supervise_"), "-r1_x86_64.apk")
	fmt.Printf("release %s: supervise %s (commit %s), packages %s, apk %s\n", rel.dir, rel.version, rel.commit, rel.pkgver, rel.apkver)
	return m.Run()
}

// file is one of the release's files by name.
func file(name string) string { return filepath.Join(rel.dir, name) }

func (a arch) binary() string  { return file("supervise-linux-" + a.name) }
func (a arch) debFile() string { return file("supervise_" + rel.pkgver + "-1_" + a.debArch + ".deb") }
func (a arch) rpmFile() string {
	return file("supervise-" + rel.pkgver + "-1." + a.rpmArch + ".rpm")
}
func (a arch) apkFile() string { return file("supervise_" + rel.apkver + "-r1_" + a.apkArch + ".apk") }

// run runs a command and returns its standard output; it fails the test
// with the command's output when the command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sums reads a SHA256SUMS file: name to hash.
func sums(t *testing.T, path string) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("%s: line %q", path, sc.Text())
		}
		m[f[1]] = f[0]
	}
	return m
}

// Every file of the release is in SHA256SUMS, and every sum holds
// (sha256sum -c, as a user checks a download).
func TestSums(t *testing.T) {
	run(t, rel.dir, nil, "sha256sum", "--quiet", "-c", "SHA256SUMS")
	listed := sums(t, file("SHA256SUMS"))
	entries, _ := os.ReadDir(rel.dir)
	var names []string
	for _, e := range entries {
		n := e.Name()
		if n == "SHA256SUMS" || strings.HasSuffix(n, ".bundle") { // the signature of SHA256SUMS itself
			continue
		}
		names = append(names, n)
		if _, ok := listed[n]; !ok {
			t.Errorf("%s is not in SHA256SUMS", n)
		}
	}
	if len(listed) != len(names) {
		t.Errorf("SHA256SUMS lists %d files, the release has %d", len(listed), len(names))
	}
	// 7 binaries, 7 SBOMs, 21 packages, the man page, the notes.
	if len(names) != 37 {
		t.Errorf("the release has %d files, want 37: %v", len(names), names)
	}
	t.Logf("%d files, each in SHA256SUMS and matching", len(names))
}

// A second scripts/dist of the same commit gives the same bytes for every
// binary, package, man page and the notes. Only the SBOMs differ: SPDX
// asks for the time each was made and a unique namespace.
func TestReproducible(t *testing.T) {
	again := t.TempDir()
	run(t, "../..", []string{"VERSION=" + rel.version, "COMMIT=" + rel.commit}, "scripts/dist", again)
	a, b := sums(t, file("SHA256SUMS")), sums(t, filepath.Join(again, "SHA256SUMS"))
	n := 0
	for name, h := range a {
		if strings.HasSuffix(name, ".spdx.json") {
			continue
		}
		n++
		if b[name] != h {
			t.Errorf("%s: %s, then %s", name, h, b[name])
		}
	}
	if len(a) != len(b) {
		t.Errorf("first run %d files, second %d", len(a), len(b))
	}
	t.Logf("%d files the same bytes from a second run into %s", n, again)
}

// Each binary has an SPDX 2.3 SBOM naming the binary's hash and the Go
// modules it links, at the versions go.mod requires.
func TestSBOM(t *testing.T) {
	gomod := string(readFile(t, "../../go.mod"))
	for _, a := range arches {
		var doc struct {
			SPDXVersion string `json:"spdxVersion"`
			Packages    []struct {
				Name      string `json:"name"`
				Version   string `json:"versionInfo"`
				Checksums []struct {
					Algorithm string `json:"algorithm"`
					Value     string `json:"checksumValue"`
				} `json:"checksums"`
			} `json:"packages"`
			Files []struct {
				Name      string `json:"fileName"`
				Checksums []struct {
					Algorithm string `json:"algorithm"`
					Value     string `json:"checksumValue"`
				} `json:"checksums"`
			} `json:"files"`
		}
		if err := json.Unmarshal(readFile(t, a.binary()+".spdx.json"), &doc); err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if doc.SPDXVersion != "SPDX-2.3" {
			t.Errorf("%s: spdxVersion %q", a.name, doc.SPDXVersion)
		}
		mods := map[string]string{}
		for _, p := range doc.Packages {
			mods[p.Name] = p.Version
		}
		for _, m := range []string{"github.com/urfave/cli/v2", "github.com/prometheus/client_golang", "golang.org/x/sys"} {
			v, ok := mods[m]
			if !ok || !strings.Contains(gomod, m+" "+v) {
				t.Errorf("%s: SBOM has %s at %q; go.mod requires otherwise", a.name, m, v)
			}
		}
		want := sum(readFile(t, a.binary()))
		found := false
		for _, f := range doc.Files {
			for _, c := range f.Checksums {
				found = found || (c.Algorithm == "SHA256" && c.Value == want)
			}
		}
		if !found {
			t.Errorf("%s: no file in the SBOM has the binary's SHA-256 %s", a.name, want)
		}
		if a.name == "amd64" {
			names := make([]string, 0, len(mods))
			for m := range mods {
				names = append(names, m)
			}
			sort.Strings(names)
			t.Logf("amd64 SBOM: %d packages: %s", len(names), strings.Join(names, " "))
		}
	}
}

// The release notes are the version's section of CHANGELOG.md (a build
// that is no tagged version gets the newest section).
func TestReleaseNotes(t *testing.T) {
	notes := string(readFile(t, file("RELEASE_NOTES.md")))
	changelog := string(readFile(t, "../../CHANGELOG.md"))
	if !strings.HasPrefix(notes, "## ") || !strings.Contains(changelog, notes) {
		t.Fatalf("RELEASE_NOTES.md is not a section of CHANGELOG.md:\n%s", notes)
	}
	first := strings.SplitN(notes, "\n", 2)[0]
	if v := strings.TrimPrefix(rel.version, "v"); !strings.Contains(first, v) && !strings.HasPrefix(changelog[strings.Index(changelog, "## "):], first) {
		t.Errorf("notes %q: neither version %s nor the newest section", first, rel.version)
	}
	t.Logf("RELEASE_NOTES.md: %q, %d bytes", first, len(notes))
}
