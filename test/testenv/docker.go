package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BaseImage is the Debian bookworm image the Docker tests build worker
// images from: python3-rq, python3-croniter, redis-server and redis-tools
// on a minimal Debian, imported from RootFS.
const BaseImage = "supervise-test/rootfs:bookworm"

// RequireDocker skips t, with the reason, when no Docker engine answers.
func RequireDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("SKIP: no docker command")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("SKIP: no Docker engine answers: %s", strings.TrimSpace(string(out)))
	}
}

// RootFS is the cached Debian root filesystem BaseImage and the kubelet
// tests' image are made of ($SUPERVISE_ROOTFS, else
// /var/cache/supervise-test/rootfs), debootstrapped by test/kube/rootfs.sh
// the first time (about two minutes). It skips t when it is missing and
// debootstrap is not installed.
func RootFS(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SUPERVISE_ROOTFS")
	if dir == "" {
		dir = "/var/cache/supervise-test/rootfs"
	}
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/python3/dist-packages/croniter")); err == nil {
		return dir
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("SKIP: no cached root filesystem and no debootstrap to make one (apt-get install debootstrap)")
	}
	t.Logf("debootstrapping %s", dir)
	// Seen from a test directory two levels below the root.
	cmd := exec.Command("../kube/rootfs.sh")
	cmd.Env = append(os.Environ(), "SUPERVISE_ROOTFS="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("test/kube/rootfs.sh: %v\n%s", err, out)
	}
	return dir
}

// EnsureBaseImage imports RootFS as BaseImage when the engine has no such
// image, and returns BaseImage.
func EnsureBaseImage(t testing.TB) string {
	t.Helper()
	if exec.Command("docker", "image", "inspect", BaseImage).Run() == nil {
		return BaseImage
	}
	cmd := exec.Command("sh", "-c", `tar -C "$0" -c . | docker import - "$1"`, RootFS(t), BaseImage)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	return BaseImage
}
