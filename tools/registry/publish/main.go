// Command publish pushes supervise's release binaries to an OCI registry
// as one image index: an image per architecture, each FROM scratch with
// the binary (/supervise, the entrypoint) and its licence (/LICENSE),
// nothing else, annotated with the standard OCI keys (source, revision,
// version, licences, created). The index is tagged with the version and a
// moving tag. Nothing is pulled and no Docker daemon is needed
// (go-containerregistry). The same dist/ and commit give the same digests:
// every date is the commit's.
//
//	(cd tools/registry && go run ./publish -dist ../../dist) -repo HOST:PORT/supervise \
//	  -version v0.1.0 -revision abc123 -created 2026-12-05T12:00:00Z [-tag latest] [-insecure]
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// platforms are the release's architectures: the binary's name in dist/
// and the OCI platform.
var platforms = []struct {
	name string
	p    v1.Platform
}{
	{"amd64", v1.Platform{OS: "linux", Architecture: "amd64"}},
	{"arm64", v1.Platform{OS: "linux", Architecture: "arm64"}},
	{"armv7", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}},
	{"386", v1.Platform{OS: "linux", Architecture: "386"}},
	{"ppc64le", v1.Platform{OS: "linux", Architecture: "ppc64le"}},
	{"s390x", v1.Platform{OS: "linux", Architecture: "s390x"}},
	{"riscv64", v1.Platform{OS: "linux", Architecture: "riscv64"}},
}

func main() {
	dist := flag.String("dist", "dist", "the release's folder (scripts/dist or scripts/release)")
	repo := flag.String("repo", "", "the repository: HOST[:PORT]/NAME")
	version := flag.String("version", "", "the version tag")
	revision := flag.String("revision", "", "the commit")
	created := flag.String("created", "", "the commit's time, RFC 3339")
	moving := flag.String("tag", "latest", "the moving tag")
	insecure := flag.Bool("insecure", false, "plain HTTP (a registry on loopback)")
	license := flag.String("license", "LICENSE", "the licence file")
	flag.Parse()
	if *repo == "" || *version == "" || *revision == "" || *created == "" {
		fail(fmt.Errorf("-repo, -version, -revision and -created are needed"))
	}
	when, err := time.Parse(time.RFC3339, *created)
	if err != nil {
		fail(err)
	}
	lic, err := os.ReadFile(*license)
	if err != nil {
		fail(err)
	}
	annotations := map[string]string{
		"org.opencontainers.image.source":   "https://github.com/supervise/supervise",
		"org.opencontainers.image.revision": *revision,
		"org.opencontainers.image.version":  *version,
		"org.opencontainers.image.licenses": "MIT",
		"org.opencontainers.image.created":  when.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":    "supervise",
		"org.opencontainers.image.description": "PID-1 init and supervisor for job-queue worker containers: " +
			"COPY --from this image's /supervise",
	}
	var opts []name.Option
	if *insecure {
		opts = append(opts, name.Insecure)
	}
	// Credentials as docker login left them (none for a loopback registry).
	auth := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, pl := range platforms {
		bin, err := os.ReadFile(filepath.Join(*dist, "supervise-linux-"+pl.name))
		if err != nil {
			fail(err)
		}
		img, err := image(bin, lic, pl.p, when, annotations)
		if err != nil {
			fail(err)
		}
		// Pushed by digest: the registry holds the index's tags only.
		ref, err := name.NewDigest(*repo+"@"+digest(img), opts...)
		if err != nil {
			fail(err)
		}
		if err := remote.Write(ref, img, auth); err != nil {
			fail(err)
		}
		p := pl.p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		fmt.Printf("%s %s\n", p.OS+"/"+p.Architecture+variant(p), ref)
	}
	idx = mutate.Annotations(idx, annotations).(v1.ImageIndex)
	for _, tag := range []string{*version, *moving} {
		ref, err := name.NewTag(*repo+":"+tag, opts...)
		if err != nil {
			fail(err)
		}
		if err := remote.WriteIndex(ref, idx, auth); err != nil {
			fail(err)
		}
		d, _ := idx.Digest()
		fmt.Printf("index %s@%s\n", ref, d)
	}
}

// image is one architecture's image: a layer of /supervise and /LICENSE,
// the entrypoint, the platform and the annotations, dated when.
func image(bin, lic []byte, p v1.Platform, when time.Time, annotations map[string]string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"supervise", 0o755, bin}, {"LICENSE", 0o644, lic}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: when,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: when},
		CreatedBy: "supervise release"}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: when}
	cf.Config.Entrypoint = []string{"/supervise"}
	cf.Config.Labels = annotations
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: when}); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, annotations).(v1.Image), nil
}

func digest(img v1.Image) string {
	d, err := img.Digest()
	if err != nil {
		fail(err)
	}
	return d.String()
}

func variant(p v1.Platform) string {
	if p.Variant == "" {
		return ""
	}
	return "/" + p.Variant
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "publish:", err)
	os.Exit(1)
}
