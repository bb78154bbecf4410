//go:build dist

package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// fields parses "Key: value" lines (dpkg-deb -f, rpm -qpi, .PKGINFO's
// "key = value" after a replacement).
func fields(out, sep string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, sep); ok && !strings.HasPrefix(line, " ") {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// tarFiles reads a tar stream: each regular file's name (without a
// leading ./) to its mode and bytes.
func tarFiles(t *testing.T, r io.Reader) map[string]tarFile {
	t.Helper()
	files := map[string]tarFile{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = tarFile{h.Mode, h.Uname + "/" + h.Gname, b}
	}
}

type tarFile struct {
	mode  int64
	owner string
	data  []byte
}

func names[V any](m map[string]V) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Each .deb: its control fields, exactly its files, each owned by root
// with the right mode, the release binary byte for byte and the man page.
func TestDeb(t *testing.T) {
	bin0 := readFile(t, file("supervise.1.gz"))
	for _, a := range arches {
		t.Run(a.name, func(t *testing.T) {
			f := fields(run(t, "", nil, "dpkg-deb", "-f", a.debFile()), ":")
			for k, want := range map[string]string{"Package": "supervise", "Version": rel.pkgver + "-1",
				"Architecture": a.debArch, "Section": "admin", "Priority": "optional"} {
				if f[k] != want {
					t.Errorf("%s: %s %q, want %q", a.debFile(), k, f[k], want)
				}
			}
			if f["Depends"] != "" || !strings.HasPrefix(f["Description"], "PID-1 init") || f["Maintainer"] == "" {
				t.Errorf("fields %v", f)
			}
			cmd := exec.Command("dpkg-deb", "--fsys-tarfile", a.debFile())
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			files := tarFiles(t, bytes.NewReader(out))
			want := []string{"usr/bin/supervise", "usr/share/doc/supervise/changelog.Debian.gz",
				"usr/share/doc/supervise/copyright", "usr/share/lintian/overrides/supervise", "usr/share/man/man1/supervise.1.gz"}
			if got := names(files); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("files %v, want %v", got, want)
			}
			for name, f := range files {
				mode := int64(0o644)
				if name == "usr/bin/supervise" {
					mode = 0o755
				}
				if f.mode&0o7777 != mode || f.owner != "root/root" {
					t.Errorf("%s: mode %o owner %s, want %o root/root", name, f.mode, f.owner, mode)
				}
			}
			if !bytes.Equal(files["usr/bin/supervise"].data, readFile(t, a.binary())) {
				t.Errorf("usr/bin/supervise is not %s", a.binary())
			}
			if !bytes.Equal(files["usr/share/man/man1/supervise.1.gz"].data, bin0) {
				t.Errorf("the man page is not supervise.1.gz")
			}
		})
	}
}

// Each .rpm, read with Debian's rpm: its header (rpm -qpi), its file list
// (rpm -qpl), and each file's size, digest and mode (rpm -qp --dump): the
// binary's digest is the release binary's.
func TestRPM(t *testing.T) {
	for _, a := range arches {
		t.Run(a.name, func(t *testing.T) {
			info := fields(run(t, "", nil, "rpm", "-qpi", a.rpmFile()), ":")
			for k, want := range map[string]string{"Name": "supervise", "Version": rel.pkgver, "Release": "1",
				"Architecture": a.rpmArch, "License": "MIT", "Group": "System Environment/Base"} {
				if info[k] != want {
					t.Errorf("rpm -qpi: %s %q, want %q", k, info[k], want)
				}
			}
			list := strings.Fields(run(t, "", nil, "rpm", "-qpl", a.rpmFile()))
			want := "/usr/bin/supervise /usr/share/licenses/supervise/LICENSE /usr/share/man/man1/supervise.1.gz"
			if strings.Join(list, " ") != want {
				t.Errorf("rpm -qpl: %v, want %s", list, want)
			}
			// path size mtime digest mode owner group isconfig isdoc rdev symlink
			dump := run(t, "", nil, "rpm", "-qp", "--dump", a.rpmFile())
			bin := readFile(t, a.binary())
			for _, line := range strings.Split(strings.TrimSpace(dump), "\n") {
				f := strings.Fields(line)
				if len(f) < 7 || f[0] != "/usr/bin/supervise" {
					continue
				}
				if f[3] != sum(bin) || f[4] != "0100755" || f[5] != "root" || f[6] != "root" {
					t.Errorf("rpm --dump: %s; want the binary's sha256 %s, mode 0100755, root root", line, sum(bin))
				}
				return
			}
			t.Errorf("rpm --dump has no /usr/bin/supervise:\n%s", dump)
		})
	}
}

// Each .apk, read with tar (it is gzipped tar streams: the control
// segment with .PKGINFO, then the data): its package info, its files,
// the binary byte for byte, and the data hash apk checks on install.
func TestAPK(t *testing.T) {
	for _, a := range arches {
		t.Run(a.name, func(t *testing.T) {
			list := strings.Fields(run(t, "", nil, "tar", "-tzif", a.apkFile()))
			sort.Strings(list)
			want := ".PKGINFO usr/ usr/bin/ usr/bin/supervise usr/share/ usr/share/licenses/ usr/share/licenses/supervise/ " +
				"usr/share/licenses/supervise/LICENSE usr/share/man/ usr/share/man/man1/ usr/share/man/man1/supervise.1.gz"
			if strings.Join(list, " ") != want {
				t.Errorf("tar -tzif: %v\nwant %s", list, want)
			}
			info := fields(run(t, "", nil, "tar", "-xzif", a.apkFile(), "-O", ".PKGINFO"), " = ")
			for k, want := range map[string]string{"pkgname": "supervise", "pkgver": rel.apkver + "-r1", "arch": a.apkArch, "license": "MIT"} {
				if info[k] != want {
					t.Errorf(".PKGINFO: %s %q, want %q", k, info[k], want)
				}
			}
			if !regexp.MustCompile(`^\d+\.\d+\.\d+(_p\d+|_git\d+)?-r\d+$`).MatchString(info["pkgver"]) {
				t.Errorf("pkgver %q is no apk version", info["pkgver"])
			}
			bin := run(t, "", nil, "tar", "-xzif", a.apkFile(), "-O", "usr/bin/supervise")
			if bin != string(readFile(t, a.binary())) {
				t.Errorf("usr/bin/supervise is not %s", a.binary())
			}
			// The control segment is the first gzip member; apk checks the
			// rest against .PKGINFO's datahash.
			raw := readFile(t, a.apkFile())
			r := bytes.NewReader(raw) // an io.ByteReader: gzip reads no further than the member
			z, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			z.Multistream(false)
			if _, err := io.Copy(io.Discard, z); err != nil {
				t.Fatal(err)
			}
			if data := raw[len(raw)-r.Len():]; sum(data) != info["datahash"] {
				t.Errorf("data segment sha256 %s, .PKGINFO datahash %s", sum(data), info["datahash"])
			}
		})
	}
}

// lintian on every .deb: no error and no warning; each override is
// explained in packaging/lintian-overrides.
func TestLintian(t *testing.T) {
	if _, err := exec.LookPath("lintian"); err != nil {
		t.Skip("SKIP: no lintian (apt-get install lintian)")
	}
	var debs []string
	for _, a := range arches {
		debs = append(debs, a.debFile())
	}
	// Every tag, overridden ones too (O:); an E: or W: line is a failure,
	// as --fail-on error,warning would make it. (lintian 2.116 exits 2
	// with --show-overrides when only overridden tags show, unless told
	// --fail-on none.)
	out := run(t, "", nil, "lintian", append([]string{"--fail-on", "none", "--show-overrides", "--tag-display-limit", "0"}, debs...)...)
	tags := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] != "N:" {
			tags[f[0]+" "+f[2]]++
		}
	}
	for tag, n := range tags {
		if strings.HasPrefix(tag, "E: ") || strings.HasPrefix(tag, "W: ") {
			t.Errorf("lintian: %s (%d packages)", tag, n)
		}
	}
	t.Logf("lintian on %d packages: %v", len(debs), tags)
}
