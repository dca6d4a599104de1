// Package artifact publishes and fetches the Locust input file as an OCI artifact (ORAS style):
// one image manifest (OCI 1.1, with artifactType) whose single layer is the file, stored in the
// Zot registry beside the service images.
//
//	manifest  artifactType = application/vnd.tweetsdelclima.locust-input.v1+json
//	          config       = the OCI empty descriptor (application/vnd.oci.empty.v1+json)
//	          layers[0]    = the file, mediaType application/vnd.tweetsdelclima.locust-input.layer.v1+json,
//	                         annotation org.opencontainers.image.title = its file name
//
// Any ORAS client can read it (`oras pull zot:5000/tweets/locust-input:v1`); Pull here checks the
// artifact type, the layer media type, the size and the digest, and writes the file atomically.
package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	oras "oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"
)

const (
	// ArtifactType is the manifest's artifactType: what this artifact is.
	ArtifactType = "application/vnd.tweetsdelclima.locust-input.v1+json"
	// LayerMediaType is the media type of the one layer: the input file itself (JSON).
	LayerMediaType = "application/vnd.tweetsdelclima.locust-input.layer.v1+json"
	// MaxSize bounds what Pull accepts (the input file is a few KiB).
	MaxSize = 16 << 20
)

// Options say where the artifact lives and how to reach the registry.
type Options struct {
	// Ref is the full reference with a tag: host[:port]/repository:tag
	// (e.g. zot.tweets.internal:5000/tweets/locust-input:v1).
	Ref string
	// PlainHTTP talks HTTP instead of HTTPS (a Zot VM without TLS inside the VPC).
	PlainHTTP bool
	// Username and Password are the registry credentials; empty means anonymous.
	Username, Password string
	// HTTPClient overrides the transport (tests); nil uses oras' retrying client.
	HTTPClient *http.Client
}

// Result describes what was pushed or pulled.
type Result struct {
	Ref            string
	ManifestDigest string
	LayerDigest    string
	Size           int64
	FileName       string
}

func (o Options) repository() (*remote.Repository, error) {
	repo, err := remote.NewRepository(o.Ref)
	if err != nil {
		return nil, fmt.Errorf("reference %q: %w", o.Ref, err)
	}
	if repo.Reference.Reference == "" {
		return nil, fmt.Errorf("reference %q: a tag is required (e.g. :v1)", o.Ref)
	}
	repo.PlainHTTP = o.PlainHTTP
	hc := o.HTTPClient
	if hc == nil {
		hc = retry.DefaultClient
	}
	client := &auth.Client{Client: hc, Cache: auth.NewCache()}
	client.SetUserAgent("tweetsctl")
	if o.Username != "" || o.Password != "" {
		client.Credential = auth.StaticCredential(repo.Reference.Registry, auth.Credential{
			Username: o.Username, Password: o.Password,
		})
	}
	repo.Client = client
	return repo, nil
}

// Push uploads the file at path as the layer, packs an OCI 1.1 manifest with ArtifactType and
// tags it with the reference's tag. Pushing the same bytes again is idempotent (same digests).
func Push(ctx context.Context, o Options, path string) (Result, error) {
	repo, err := o.repository()
	if err != nil {
		return Result{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	if !json.Valid(data) {
		return Result{}, fmt.Errorf("%s: not valid JSON", path)
	}
	name := filepath.Base(path)
	layer := content.NewDescriptorFromBytes(LayerMediaType, data)
	layer.Annotations = map[string]string{ocispec.AnnotationTitle: name}

	exists, err := repo.Exists(ctx, layer)
	if err != nil {
		return Result{}, fmt.Errorf("check layer: %w", err)
	}
	if !exists {
		if err := repo.Push(ctx, layer, bytes.NewReader(data)); err != nil {
			return Result{}, fmt.Errorf("push layer: %w", err)
		}
	}
	manifest, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers: []ocispec.Descriptor{layer},
		ManifestAnnotations: map[string]string{
			// A fixed creation time would make the manifest digest reproducible; we keep the real
			// time so the registry UI shows when this version was published.
			ocispec.AnnotationCreated:     time.Now().UTC().Format(time.RFC3339),
			ocispec.AnnotationTitle:       name,
			ocispec.AnnotationDescription: "Locust input for Tweets del Clima: municipalities, weathers and value ranges",
		},
	})
	if err != nil {
		return Result{}, fmt.Errorf("push manifest: %w", err)
	}
	if err := repo.Tag(ctx, manifest, repo.Reference.Reference); err != nil {
		return Result{}, fmt.Errorf("tag %s: %w", repo.Reference.Reference, err)
	}
	return Result{
		Ref: o.Ref, ManifestDigest: manifest.Digest.String(), LayerDigest: layer.Digest.String(),
		Size: layer.Size, FileName: name,
	}, nil
}

// Pull resolves the reference, checks that it is our artifact, and writes its one layer to
// dest (a file path, or a directory: then the file keeps its published name). The content is
// verified against the layer digest and size before it replaces dest (temp file + rename).
func Pull(ctx context.Context, o Options, dest string) (Result, error) {
	repo, err := o.repository()
	if err != nil {
		return Result{}, err
	}
	mdesc, err := repo.Resolve(ctx, repo.Reference.Reference)
	if err != nil {
		return Result{}, fmt.Errorf("resolve %s: %w", o.Ref, err)
	}
	if mdesc.MediaType != ocispec.MediaTypeImageManifest {
		return Result{}, fmt.Errorf("%s: media type %q, want an OCI image manifest", o.Ref, mdesc.MediaType)
	}
	if mdesc.Size > 1<<20 {
		return Result{}, fmt.Errorf("%s: manifest too large (%d bytes)", o.Ref, mdesc.Size)
	}
	raw, err := content.FetchAll(ctx, repo, mdesc) // verifies size and digest
	if err != nil {
		return Result{}, fmt.Errorf("fetch manifest: %w", err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Result{}, fmt.Errorf("decode manifest: %w", err)
	}
	if m.ArtifactType != ArtifactType {
		return Result{}, fmt.Errorf("%s: artifactType %q, want %q", o.Ref, m.ArtifactType, ArtifactType)
	}
	var layer *ocispec.Descriptor
	for i := range m.Layers {
		if m.Layers[i].MediaType == LayerMediaType {
			if layer != nil {
				return Result{}, fmt.Errorf("%s: more than one %s layer", o.Ref, LayerMediaType)
			}
			layer = &m.Layers[i]
		}
	}
	if layer == nil {
		return Result{}, fmt.Errorf("%s: no layer with media type %s", o.Ref, LayerMediaType)
	}
	if layer.Size > MaxSize {
		return Result{}, fmt.Errorf("%s: layer of %d bytes exceeds %d", o.Ref, layer.Size, MaxSize)
	}
	if err := layer.Digest.Validate(); err != nil {
		return Result{}, fmt.Errorf("layer digest: %w", err)
	}
	name := filepath.Base(layer.Annotations[ocispec.AnnotationTitle])
	if name == "" || name == "." || name == "/" {
		name = "locust-input.json"
	}
	target := dest
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		target = filepath.Join(dest, name)
	}

	rc, err := repo.Fetch(ctx, *layer)
	if err != nil {
		return Result{}, fmt.Errorf("fetch layer: %w", err)
	}
	defer rc.Close()
	if err := writeVerified(target, rc, *layer); err != nil {
		return Result{}, err
	}
	return Result{
		Ref: o.Ref, ManifestDigest: mdesc.Digest.String(), LayerDigest: layer.Digest.String(),
		Size: layer.Size, FileName: target,
	}, nil
}

// writeVerified streams r into a temporary file next to target, verifies size and digest, syncs
// and renames it over target. On any error target is untouched and the temporary file removed.
func writeVerified(target string, r io.Reader, desc ocispec.Descriptor) (err error) {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	vr := content.NewVerifyReader(r, desc)
	if _, err = io.Copy(tmp, vr); err != nil {
		return fmt.Errorf("download layer: %w", err)
	}
	if err = vr.Verify(); err != nil {
		return fmt.Errorf("verify layer %s: %w", desc.Digest, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), target); err != nil {
		return err
	}
	if d, e := os.Open(dir); e == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}
