//go:build docker

package docker

import (
	"archive/tar"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/supervise/supervise/test/testenv"
)

// The scratch image make image builds: it runs, it holds the binary and
// its licence and nothing else, and it is under 12 MB.
func TestImage(t *testing.T) {
	testenv.RequireDocker(t)
	tag := superviseImage(t)
	out := run(t, "", nil, false, "docker", "run", "--rm", tag, "version")
	if !strings.HasPrefix(out, "supervise ") || !strings.Contains(out, "linux/amd64") {
		t.Errorf("docker run %s version: %q", tag, out)
	}
	size, _ := strconv.Atoi(strings.TrimSpace(run(t, "", nil, false, "docker", "image", "inspect", "--format", "{{.Size}}", tag)))
	if size <= 0 || size >= 12<<20 {
		t.Errorf("image is %d bytes, want under 12 MB", size)
	}
	id := strings.TrimSpace(run(t, "", nil, false, "docker", "create", tag))
	defer run(t, "", nil, true, "docker", "rm", id)
	export := exec.Command("docker", "export", id)
	pipe, _ := export.StdoutPipe()
	if err := export.Start(); err != nil {
		t.Fatal(err)
	}
	var files []string
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		// What Docker itself adds to every container's filesystem.
		switch name {
		case ".dockerenv", "dev", "dev/console", "dev/pts", "dev/shm", "etc", "etc/hostname", "etc/hosts",
			"etc/mtab", "etc/resolv.conf", "proc", "sys":
			continue
		}
		files = append(files, name)
	}
	export.Wait()
	sort.Strings(files)
	if strings.Join(files, " ") != "LICENSE supervise" {
		t.Errorf("image holds %v, want only LICENSE and supervise", files)
	}
	t.Logf("%s: %d bytes, files %v; %s", tag, size, files, strings.TrimSpace(out))
}
