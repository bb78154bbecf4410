//go:build dist

package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/test/testenv"
)

// registry starts Debian's docker-registry (distribution 2.8) on a free
// loopback port with an empty storage folder of its own, waits for it to
// answer, and stops it when the test ends. It returns host:port.
func registry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("SKIP: no docker-registry (apt-get install docker-registry)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s/storage\n"+
		"http:\n  addr: %s\n", dir, addr)), 0o644)
	var log bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("the registry still answers on %s after it was stopped", addr)
		}
	})
	poll(t, 30*time.Second, "the registry answers /v2/ on "+addr, func() bool {
		select {
		case err := <-exited:
			t.Fatalf("docker-registry exited: %v\n%s", err, log.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return addr
}

// crane runs go-containerregistry's crane, pinned in tools/registry.
func crane(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, "../../tools/registry", nil, "go", append([]string{"tool", "crane"}, args...)...)
}

// The release published as the project publishes it (make publish) to a
// real registry on loopback: one OCI index of seven FROM scratch images
// with the OCI annotations, under the version and latest and nothing
// else; pulled through the real Docker engine per platform, each image's
// /supervise is that architecture's release binary byte for byte and
// runs under qemu; and the README's worker Dockerfile, its COPY --from
// pointed at this registry, builds and runs a real RQ worker that stops
// gracefully.
func TestRegistry(t *testing.T) {
	testenv.RequireDocker(t)
	reg := registry(t)
	run(t, "", nil, "make", "-C", "../..", "-s", "publish", "REGISTRY="+reg, "DIST="+rel.dir)
	repo := reg + "/supervise"

	if got := strings.Fields(crane(t, "catalog", "--insecure", reg)); strings.Join(got, " ") != "supervise" {
		t.Errorf("the registry holds %v, want only supervise", got)
	}
	tags := strings.Fields(crane(t, "ls", "--insecure", repo))
	sort.Strings(tags)
	if want := []string{rel.version, "latest"}; strings.Join(tags, " ") != strings.Join(want, " ") {
		t.Errorf("tags %v, want %v", tags, want)
	}
	if a, b := crane(t, "digest", "--insecure", repo+":"+rel.version), crane(t, "digest", "--insecure", repo+":latest"); a != b {
		t.Errorf("latest is %s, %s is %s", b, rel.version, a)
	}
	var index struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
			Platform  struct {
				OS, Architecture, Variant string
			} `json:"platform"`
		} `json:"manifests"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(crane(t, "manifest", "--insecure", repo+":"+rel.version)), &index); err != nil {
		t.Fatal(err)
	}
	if index.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index media type %q", index.MediaType)
	}
	wantAnn := map[string]string{"org.opencontainers.image.source": "https://github.com/supervise/supervise",
		"org.opencontainers.image.revision": rel.commit, "org.opencontainers.image.version": rel.version,
		"org.opencontainers.image.licenses": "MIT"}
	var platforms, sizes []string
	for _, m := range index.Manifests {
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			p += "/" + m.Platform.Variant
		}
		platforms = append(platforms, p)
		var img struct {
			MediaType string `json:"mediaType"`
			Layers    []struct {
				Size int64 `json:"size"`
			} `json:"layers"`
			Annotations map[string]string `json:"annotations"`
		}
		json.Unmarshal([]byte(crane(t, "manifest", "--insecure", repo+"@"+m.Digest)), &img)
		if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || len(img.Layers) != 1 {
			t.Fatalf("%s: %s with %d layers, want an OCI manifest with one layer", p, m.MediaType, len(img.Layers))
		}
		sizes = append(sizes, fmt.Sprintf("%s %d", p, img.Layers[0].Size))
		for k, v := range wantAnn {
			if img.Annotations[k] != v || index.Annotations[k] != v {
				t.Errorf("%s: annotation %s: image %q, index %q, want %q", p, k, img.Annotations[k], index.Annotations[k], v)
			}
		}
		// The image's files: /supervise, that architecture's release
		// binary, and /LICENSE, nothing else.
		export := exec.Command("go", "tool", "crane", "export", "--insecure", "--platform", p, repo+":"+rel.version, "-")
		export.Dir = "../../tools/registry"
		out, err := export.Output()
		if err != nil {
			t.Fatalf("crane export %s: %v", p, err)
		}
		files := tarFiles(t, bytes.NewReader(out))
		if got := names(files); strings.Join(got, " ") != "LICENSE supervise" {
			t.Errorf("%s: the image holds %v, want only LICENSE and supervise", p, got)
		}
		for _, a := range arches {
			if a.platform == p && !bytes.Equal(files["supervise"].data, readFile(t, a.binary())) {
				t.Errorf("%s: /supervise is not %s", p, a.binary())
			}
		}
	}
	var want []string
	for _, a := range arches {
		want = append(want, a.platform)
	}
	if strings.Join(platforms, " ") != strings.Join(want, " ") {
		t.Errorf("the index's platforms %v, want %v", platforms, want)
	}
	t.Logf("%s:%s: an OCI index of %d images (layer bytes: %s), annotated %v", repo, rel.version, len(platforms), strings.Join(sizes, ", "), wantAnn)

	// Two foreign platforms through the Docker engine: arm64, and arm/v7
	// for its variant.
	for _, a := range []arch{arches[1], arches[2]} {
		pullAndRun(t, repo+":"+rel.version, a)
	}
	workerFromReadme(t, repo)
}

// pullAndRun pulls ref for a's platform through the Docker engine, checks
// that the image is that platform's and that its /supervise is a's release
// binary byte for byte, and runs it under Debian's qemu-user-static from
// inside the container (the host's binfmt_misc is left as it is).
func pullAndRun(t *testing.T, ref string, a arch) {
	t.Helper()
	qemu, err := exec.LookPath(a.qemu)
	if err != nil {
		t.Fatalf("no %s (apt-get install qemu-user-static)", a.qemu)
	}
	docker(t, "pull", "-q", "--platform", a.platform, ref)
	defer exec.Command("docker", "rmi", ref).Run()
	if got := docker(t, "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", ref); got != "linux/"+a.goarch {
		t.Errorf("docker pull --platform %s gave a %s image", a.platform, got)
	}
	id := docker(t, "create", "--platform", a.platform, ref)
	defer exec.Command("docker", "rm", id).Run()
	out := filepath.Join(t.TempDir(), "supervise")
	docker(t, "cp", id+":/supervise", out)
	if !bytes.Equal(readFile(t, out), readFile(t, a.binary())) {
		t.Errorf("%s: the pulled image's /supervise is not %s", a.platform, a.binary())
	}
	version := docker(t, "run", "--rm", "--platform", a.platform, "-v", qemu+":/qemu:ro", "--entrypoint", "/qemu", ref, "/supervise", "version")
	if !strings.HasPrefix(version, "supervise "+rel.version+" ") || !strings.HasSuffix(version, "linux/"+a.goarch+")") {
		t.Errorf("%s under %s: %q", a.platform, a.qemu, version)
	}
	t.Logf("docker pull --platform %s: /supervise is %s byte for byte; under %s: %s", a.platform, filepath.Base(a.binary()), a.qemu, version)
}

// workerFromReadme builds the README's worker Dockerfile with its COPY
// --from pointed at repo's release (and FROM the tests' Debian base image,
// with the RQ example's jobs), and stops a real RQ worker in it.
func workerFromReadme(t *testing.T, repo string) {
	t.Helper()
	section := readme(t)
	a := strings.Index(section, "```dockerfile\n")
	b := strings.Index(section[a+1:], "```")
	if a < 0 || b < 0 {
		t.Fatal("README's install section has no dockerfile snippet")
	}
	base := testenv.EnsureBaseImage(t)
	var lines []string
	for _, line := range strings.Split(section[a+len("```dockerfile\n"):a+1+b], "\n") {
		switch {
		case strings.HasPrefix(line, "FROM "):
			line = "FROM " + base
		case strings.HasPrefix(line, "COPY --from=ghcr.io/supervise/supervise:v0.1.0 "):
			line = strings.Replace(line, "ghcr.io/supervise/supervise:v0.1.0", repo+":"+rel.version, 1)
		case strings.HasPrefix(line, "COPY --from="):
			t.Fatalf("README's COPY --from names no release of ghcr.io/supervise/supervise: %s", line)
		}
		lines = append(lines, line)
	}
	ctx := t.TempDir()
	os.WriteFile(filepath.Join(ctx, "jobs.py"), readFile(t, "../../examples/compose/rq/jobs.py"), 0o644)
	dockerfile := strings.Join(lines, "\n") + "\nCOPY jobs.py /app/jobs.py\n"
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644)
	image := fmt.Sprintf("supervise-release/worker:%d", time.Now().UnixNano())
	docker(t, "build", "-q", "-t", image, ctx)
	t.Cleanup(func() { exec.Command("docker", "rmi", image, repo+":"+rel.version).Run() })
	if got := run(t, "", nil, "docker", "run", "--rm", "--entrypoint", "cat", image, "/usr/local/bin/supervise"); got != string(readFile(t, arches[0].binary())) {
		t.Errorf("the worker image's supervise is not the amd64 release binary")
	}
	t.Logf("the README's Dockerfile, COPY --from=%s:%s, builds:\n%s", repo, rel.version, dockerfile)
	stopRQ(t, image)
}
