//go:build dist

package release

import (
	"archive/zip"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/supervise/supervise/test/testenv"
)

// readme is the README's install section, between its markers.
func readme(t *testing.T) string {
	t.Helper()
	s := string(readFile(t, "../../README.md"))
	a, b := strings.Index(s, "<!-- install"), strings.Index(s, "<!-- end install -->")
	if a < 0 || b < a {
		t.Fatal("README.md has no install section between <!-- install and <!-- end install -->")
	}
	return s[a:b]
}

// snippet is the README install line that starts with prefix, the
// release's version and package versions put in for the README's.
func snippet(t *testing.T, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(readme(t), "\n") {
		if strings.HasPrefix(line, prefix) {
			if i := strings.Index(line, "  #"); i > 0 {
				line = line[:i]
			}
			return strings.NewReplacer("0.1.0-r1", rel.apkver+"-r1", "0.1.0-1", rel.pkgver+"-1",
				"v0.1.0", rel.version).Replace(strings.TrimSpace(line))
		}
	}
	t.Fatalf("README's install section has no line starting %q", prefix)
	return ""
}

// Every file the README's install section names is one the release has,
// and its checksum line works on a download of two files.
func TestReadmeInstall(t *testing.T) {
	section := readme(t)
	named := regexp.MustCompile(`supervise[-_][A-Za-z0-9._~-]+\.(deb|rpm|apk)|supervise-linux-[a-z0-9]+\b|SHA256SUMS`).FindAllString(section, -1)
	for _, n := range named {
		n = strings.NewReplacer("0.1.0-r1", rel.apkver+"-r1", "0.1.0-1", rel.pkgver+"-1").Replace(n)
		if _, err := os.Stat(file(n)); err != nil {
			t.Errorf("README names %s; the release has no such file", n)
		}
	}
	for _, a := range arches {
		if !strings.Contains(section, "`"+a.name+"`") || !strings.Contains(section, a.debArch) {
			t.Errorf("README's install section does not name %s (.deb %s)", a.name, a.debArch)
		}
	}
	dl := t.TempDir()
	for _, n := range []string{"supervise-linux-amd64", "SHA256SUMS"} {
		os.WriteFile(filepath.Join(dl, n), readFile(t, file(n)), 0o755)
	}
	line := snippet(t, "sha256sum ")
	if out := run(t, dl, nil, "sh", "-c", line); strings.TrimSpace(out) != "supervise-linux-amd64: OK" {
		t.Errorf("%s: %q", line, out)
	}
	t.Logf("%d file names in the README's install section, each in the release; %q passes", len(named), line)
}

// overlay mounts a writable overlay of dir (the cached Debian root
// filesystem stays as it is) and returns its merged view.
func overlay(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: an overlay mount and chroot need root")
	}
	tmp := t.TempDir()
	for _, d := range []string{"upper", "work", "root"} {
		os.Mkdir(filepath.Join(tmp, d), 0o755)
	}
	root := filepath.Join(tmp, "root")
	run(t, "", nil, "mount", "-t", "overlay", "overlay", "-o",
		fmt.Sprintf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work", dir, tmp, tmp), root)
	t.Cleanup(func() { exec.Command("umount", root).Run() })
	return root
}

// The amd64 .deb installed as the README says (apt-get install ./FILE) in
// a Debian bookworm root filesystem: dpkg knows it, `supervise version`
// runs there, and an image made of that filesystem runs a real RQ worker
// with the packaged supervise as PID 1 and stops it gracefully. Then dpkg
// removes it without a trace.
func TestDebInstall(t *testing.T) {
	root := overlay(t, testenv.RootFS(t))
	deb := arches[0].debFile()
	os.WriteFile(filepath.Join(root, "tmp", filepath.Base(deb)), readFile(t, deb), 0o644)
	line := snippet(t, "apt-get install ")
	out := run(t, "", nil, "chroot", root, "sh", "-c", "cd /tmp && "+strings.Replace(line, "apt-get install", "apt-get install -y", 1))
	status := fields(run(t, "", nil, "chroot", root, "dpkg", "-s", "supervise"), ":")
	if status["Status"] != "install ok installed" || status["Version"] != rel.pkgver+"-1" {
		t.Fatalf("dpkg -s supervise: %v\n%s", status, out)
	}
	version := strings.TrimSpace(run(t, "", nil, "chroot", root, "supervise", "version"))
	if !strings.HasPrefix(version, "supervise "+rel.version+" (commit "+rel.commit) || !strings.HasSuffix(version, "linux/amd64)") {
		t.Errorf("chroot supervise version: %q", version)
	}
	t.Logf("%s in a Debian root filesystem; `supervise version`: %s", line, version)

	if testing.Short() {
		return
	}
	testenv.RequireDocker(t)
	os.MkdirAll(filepath.Join(root, "app"), 0o755)
	os.WriteFile(filepath.Join(root, "app/jobs.py"), readFile(t, "../../examples/compose/rq/jobs.py"), 0o644)
	image := "supervise-release/deb:" + strings.ReplaceAll(rel.pkgver, "~", "-")
	run(t, "", nil, "sh", "-c", `tar -C "$0" -c . | docker import -c 'ENTRYPOINT ["/usr/bin/supervise", "--"]' - "$1"`, root, image)
	t.Cleanup(func() { exec.Command("docker", "rmi", image).Run() })
	stopRQ(t, image)

	run(t, "", nil, "chroot", root, "dpkg", "--purge", "supervise")
	for _, f := range []string{"usr/bin/supervise", "usr/share/man/man1/supervise.1.gz", "usr/share/doc/supervise"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("dpkg --purge left /%s", f)
		}
	}
}

// The x86_64 .rpm installed as the README says (rpm -i FILE), into an
// empty root of its own with Debian's rpm: the database lists its files
// and the installed binary runs.
func TestRPMInstall(t *testing.T) {
	root := t.TempDir()
	run(t, "", nil, "rpm", "--root", root, "--initdb")
	line := snippet(t, "rpm -i ")
	rpm := arches[0].rpmFile()
	run(t, rel.dir, nil, "sh", "-c", strings.Replace(line, "rpm -i", "rpm --root '"+root+"' -i", 1))
	list := strings.Fields(run(t, "", nil, "rpm", "--root", root, "-ql", "supervise"))
	if len(list) != 3 || list[0] != "/usr/bin/supervise" {
		t.Errorf("rpm -ql supervise: %v", list)
	}
	version := strings.TrimSpace(run(t, "", nil, filepath.Join(root, "usr/bin/supervise"), "version"))
	if !strings.HasPrefix(version, "supervise "+rel.version+" ") {
		t.Errorf("installed supervise version: %q", version)
	}
	t.Logf("%s (%s) into %s: %v; %s", line, filepath.Base(rpm), root, list, version)
}

// The README's go install, for real: the module served at v0.1.0 by a
// module proxy in a folder (the files a proxy serves: list, .info, .mod,
// .zip), its dependencies by the machine's proxy, into an empty module
// cache. With CGO_ENABLED=0 the binary is static and says v0.1.0; without
// it, where a C compiler is installed, it is dynamically linked, as the
// README warns.
func TestGoInstall(t *testing.T) {
	line := snippet(t, "CGO_ENABLED=0 go install ")
	proxy := moduleProxy(t, "v0.1.0")
	goproxy := strings.TrimSpace(run(t, "", nil, "go", "env", "GOPROXY"))
	cache, bin := t.TempDir(), t.TempDir()
	env := []string{"GOPROXY=file://" + proxy + "," + goproxy, "GOSUMDB=off", "GOFLAGS=", "GOMODCACHE=" + cache, "GOBIN=" + bin}
	// The module cache is read-only; go clean empties it.
	t.Cleanup(func() { exec.Command("env", append(env, "go", "clean", "-modcache")...).Run() })
	line = strings.ReplaceAll(line, rel.version, "v0.1.0")
	run(t, t.TempDir(), env, "sh", "-c", line)
	version := strings.TrimSpace(run(t, "", nil, filepath.Join(bin, "supervise"), "version"))
	if !strings.HasPrefix(version, "supervise v0.1.0 ") {
		t.Errorf("go install's supervise version: %q", version)
	}
	if interp := interpreter(t, filepath.Join(bin, "supervise")); interp != "" {
		t.Errorf("with CGO_ENABLED=0 the binary asks for %s: not static", interp)
	}
	t.Logf("%s: static, %s", line, version)

	t.Run("without CGO_ENABLED=0", func(t *testing.T) {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skip("SKIP: no C compiler (apt-get install gcc libc6-dev): without one go install builds without cgo, so the README's warning cannot be tried")
		}
		os.Remove(filepath.Join(bin, "supervise"))
		run(t, t.TempDir(), env, "sh", "-c", strings.TrimPrefix(line, "CGO_ENABLED=0 "))
		interp := interpreter(t, filepath.Join(bin, "supervise"))
		if interp == "" {
			t.Errorf("without CGO_ENABLED=0 (gcc installed) the binary is static; the README says it is a cgo build")
		}
		t.Logf("without CGO_ENABLED=0: dynamically linked (%s), as the README says", interp)
	})
}

// interpreter is the ELF program interpreter a binary asks for: "" for a
// static binary.
func interpreter(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}

// moduleProxy writes, into a folder, what a Go module proxy serves for
// this checkout as version v: the version list, its .info and .mod, and
// the module zip (the files git tracks or would track, except the
// modules nested under tools/, each under module@version/).
func moduleProxy(t *testing.T, v string) string {
	t.Helper()
	const module = "github.com/supervise/supervise"
	dir := t.TempDir()
	at := filepath.Join(dir, module, "@v")
	os.MkdirAll(at, 0o755)
	os.WriteFile(filepath.Join(at, "list"), []byte(v+"\n"), 0o644)
	os.WriteFile(filepath.Join(at, v+".info"), []byte(`{"Version":"`+v+`","Time":"2026-01-01T00:00:00Z"}`), 0o644)
	os.WriteFile(filepath.Join(at, v+".mod"), readFile(t, "../../go.mod"), 0o644)
	files := strings.Split(strings.TrimRight(run(t, "../..", nil, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00")
	f, err := os.Create(filepath.Join(at, v+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	n := 0
	for _, name := range files {
		if strings.HasPrefix(name, "tools/") {
			continue // separate modules (tools/*/go.mod): never in this one's zip
		}
		info, err := os.Lstat(filepath.Join("../..", name))
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted from the working tree, or a link (no zip holds one)
		}
		w, err := zw.Create(module + "@" + v + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(readFile(t, filepath.Join("../..", name)))
		n++
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Logf("module proxy in %s: %s@%s, %d files", dir, module, v, n)
	return dir
}
