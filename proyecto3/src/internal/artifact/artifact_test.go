package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	oras "oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
)

// The real input file, so the test also proves the published file round-trips unchanged.
const inputFile = "../../../locust/input/weather-distribution.json"

// startRegistry runs an in-process OCI registry (go-containerregistry) on 127.0.0.1, optionally
// behind basic auth and with a hook that can tamper with responses.
func startRegistry(t *testing.T, user, pass string, tamper func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="zot"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if tamper != nil && tamper(w, r, reg) {
			return
		}
		reg.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPushPullRoundTrip(t *testing.T) {
	host := startRegistry(t, "ci", "s3cret", nil)
	want, err := os.ReadFile(inputFile)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Ref: host + "/tweets/locust-input:v1", PlainHTTP: true, Username: "ci", Password: "s3cret"}

	pushed, err := Push(ctx(t), o, inputFile)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if pushed.FileName != "weather-distribution.json" || pushed.Size != int64(len(want)) {
		t.Fatalf("push result %+v", pushed)
	}

	// Pull into a directory: the file keeps its published name.
	dir := t.TempDir()
	pulled, err := Pull(ctx(t), o, dir)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "weather-distribution.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("pulled file differs from the pushed one (%d vs %d bytes)", len(got), len(want))
	}
	if pulled.ManifestDigest != pushed.ManifestDigest || pulled.LayerDigest != pushed.LayerDigest {
		t.Fatalf("digests differ: push %+v pull %+v", pushed, pulled)
	}
	// Pull to an explicit path, over an existing file.
	target := filepath.Join(dir, "input.json")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx(t), o, target); err != nil {
		t.Fatalf("pull to path: %v", err)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, want) {
		t.Fatal("pull to path: content differs")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	// The manifest as stored in the registry: OCI image manifest, our artifactType, the empty
	// config, one layer with our media type and the file name annotation.
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/tweets/locust-input/manifests/v1", nil)
	req.SetBasicAuth("ci", "s3cret")
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != ocispec.MediaTypeImageManifest {
		t.Fatalf("manifest content type %q", ct)
	}
	var m ocispec.Manifest
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != ocispec.MediaTypeImageManifest || m.ArtifactType != ArtifactType {
		t.Fatalf("manifest mediaType %q artifactType %q", m.MediaType, m.ArtifactType)
	}
	if m.Config.MediaType != ocispec.MediaTypeEmptyJSON {
		t.Fatalf("config media type %q, want the OCI empty descriptor", m.Config.MediaType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != LayerMediaType ||
		m.Layers[0].Annotations[ocispec.AnnotationTitle] != "weather-distribution.json" {
		t.Fatalf("layers %+v", m.Layers)
	}
	if m.Layers[0].Digest != content.NewDescriptorFromBytes("", want).Digest {
		t.Fatal("layer digest is not the file's sha256")
	}

	// Pushing again is idempotent: same layer digest.
	again, err := Push(ctx(t), o, inputFile)
	if err != nil || again.LayerDigest != pushed.LayerDigest {
		t.Fatalf("second push: %v %+v", err, again)
	}
}

func TestCredentialsRequired(t *testing.T) {
	host := startRegistry(t, "ci", "s3cret", nil)
	o := Options{Ref: host + "/tweets/locust-input:v1", PlainHTTP: true}
	if _, err := Push(ctx(t), o, inputFile); err == nil {
		t.Fatal("anonymous push succeeded against a registry that requires credentials")
	}
	o.Username, o.Password = "ci", "wrong"
	if _, err := Push(ctx(t), o, inputFile); err == nil {
		t.Fatal("push with a wrong password succeeded")
	}
}

func TestPullRejectsTamperedLayer(t *testing.T) {
	var layerPath string
	tamper := func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodGet || layerPath == "" || r.URL.Path != layerPath {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 0 {
			body[len(body)/2] ^= 0x20 // same size, different bytes
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
		return true
	}
	host := startRegistry(t, "", "", tamper)
	o := Options{Ref: host + "/tweets/locust-input:v1", PlainHTTP: true}
	pushed, err := Push(ctx(t), o, inputFile)
	if err != nil {
		t.Fatal(err)
	}
	layerPath = "/v2/tweets/locust-input/blobs/" + pushed.LayerDigest

	dir := t.TempDir()
	target := filepath.Join(dir, "input.json")
	if err := os.WriteFile(target, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx(t), o, target); err == nil {
		t.Fatal("pull accepted a layer whose digest does not match")
	}
	if got, _ := os.ReadFile(target); string(got) != "previous" {
		t.Fatalf("a failed pull changed the destination: %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("a failed pull left files behind: %v", entries)
	}
}

func TestPullRejectsOtherArtifacts(t *testing.T) {
	host := startRegistry(t, "", "", nil)
	o := Options{Ref: host + "/tweets/locust-input:other", PlainHTTP: true}
	repo, err := o.repository()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"not":"ours"}`)
	layer := content.NewDescriptorFromBytes("application/json", data)
	if err := repo.Push(ctx(t), layer, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	desc, err := oras.PackManifest(ctx(t), repo, oras.PackManifestVersion1_1, "application/vnd.example.other+json",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Tag(ctx(t), desc, "other"); err != nil {
		t.Fatal(err)
	}
	_, err = Pull(ctx(t), o, filepath.Join(t.TempDir(), "x.json"))
	if err == nil || !strings.Contains(err.Error(), "artifactType") {
		t.Fatalf("pull of a foreign artifact: %v", err)
	}
	if _, err := Pull(ctx(t), Options{Ref: host + "/tweets/locust-input:missing", PlainHTTP: true}, t.TempDir()); err == nil {
		t.Fatal("pull of a missing tag succeeded")
	}
	if _, err := Push(ctx(t), Options{Ref: host + "/tweets/locust-input", PlainHTTP: true}, inputFile); err == nil {
		t.Fatal("push without a tag succeeded")
	}
}
