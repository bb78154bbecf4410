//go:build kube

package e2e

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// ociImage is an image to write as an OCI archive for `ctr images import`:
// layers (uncompressed tars, bottom first) and the image config.
type ociImage struct {
	name   string // e.g. docker.io/supervise-test/worker:1
	layers []string
	config map[string]any // the config's "config" object: Entrypoint, Env, StopSignal...
}

// blob is one content-addressed file of the archive.
type blob struct {
	digest string
	size   int64
	path   string // a file on disk, or
	data   []byte // the bytes themselves
}

func fileBlob(t *testing.T, path string) blob {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return blob{digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), size: n, path: path}
}

func dataBlob(b []byte) blob {
	sum := sha256.Sum256(b)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), size: int64(len(b)), data: b}
}

func descriptor(mediaType string, b blob) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": b.digest, "size": b.size}
}

// write writes the image as an OCI image layout in a tar at path: one
// manifest for linux/amd64, named by the io.containerd.image.name
// annotation that ctr import reads.
func (img ociImage) write(t *testing.T, path string) {
	t.Helper()
	var layers []blob
	var diffIDs []string
	var layerDescs []map[string]any
	for _, l := range img.layers {
		b := fileBlob(t, l)
		layers = append(layers, b)
		diffIDs = append(diffIDs, b.digest) // uncompressed: the diff id is the digest
		layerDescs = append(layerDescs, descriptor("application/vnd.oci.image.layer.v1.tar", b))
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "config": img.config,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cfgBlob := dataBlob(cfg)
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": descriptor("application/vnd.oci.image.config.v1+json", cfgBlob), "layers": layerDescs})
	manBlob := dataBlob(manifest)
	md := descriptor("application/vnd.oci.image.manifest.v1+json", manBlob)
	md["platform"] = map[string]any{"architecture": "amd64", "os": "linux"}
	md["annotations"] = map[string]any{"io.containerd.image.name": img.name, "org.opencontainers.image.ref.name": img.name}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{md}})

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, b blob) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: b.size, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if b.path == "" {
			tw.Write(b.data)
			return
		}
		src, err := os.Open(b.path)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if _, err := io.Copy(tw, src); err != nil {
			t.Fatal(err)
		}
	}
	add("oci-layout", dataBlob([]byte(`{"imageLayoutVersion":"1.0.0"}`)))
	add("index.json", dataBlob(index))
	for _, b := range append(layers, cfgBlob, manBlob) {
		add("blobs/sha256/"+b.digest[len("sha256:"):], b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// layerFile is one file of a layer built by writeLayer.
type layerFile struct {
	name string // path inside the image, without the leading /
	mode int64
	data []byte
	src  string // or: copy this file or directory tree from the host
}

// writeLayer writes a layer tar at path holding files (directories are
// made as needed, owned by root).
func writeLayer(t *testing.T, path string, files []layerFile) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	dirs := map[string]bool{}
	mkdirs := func(name string) {
		for d := filepath.Dir(name); d != "." && d != "/"; d = filepath.Dir(d) {
			defer func(d string) {
				if !dirs[d] {
					dirs[d] = true
					tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir})
				}
			}(d)
		}
	}
	put := func(name string, mode int64, data []byte) {
		mkdirs(name)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	for _, lf := range files {
		if lf.src == "" {
			put(lf.name, lf.mode, lf.data)
			continue
		}
		err := filepath.Walk(lf.src, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			// A symbolic link is copied as the file it points to.
			if info, err = os.Stat(p); err != nil || !info.Mode().IsRegular() {
				return err
			}
			rel, _ := filepath.Rel(lf.src, p)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			put(filepath.Join(lf.name, rel), int64(info.Mode().Perm()), b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// readFile is os.ReadFile that fails the test.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
