package delivery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/subrequests/lint"
	digest "github.com/opencontainers/go-digest"
)

// offlineImages answers BuildKit's base-image lookups with an empty linux/amd64 config, so the
// Dockerfile frontend runs without a registry.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

// buildkitLint is `docker build --check`: BuildKit's own Dockerfile frontend converts every
// stage (all targets) and reports its lint rules and any conversion error.
func buildkitLint(t *testing.T, name string, dt []byte, args map[string]string) *lint.LintResults {
	t.Helper()
	sm := llb.NewSourceMap(nil, name, "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: args},
		SourceMap:    sm,
		MetaResolver: offlineImages{},
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// Every Dockerfile passes BuildKit's checks with no warning; the Go one for every role.
func TestDockerfilesBuildKitCheck(t *testing.T) {
	root := repoRoot(t)
	roles, _ := filepath.Glob(filepath.Join(root, "proyecto3", "src", "cmd", "*"))
	for _, f := range findDockerfiles(t, root) {
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		argSets := []map[string]string{{"VERSION": "test"}}
		if rel(root, f) == "proyecto3/src/Dockerfile" {
			argSets = nil
			for _, r := range roles {
				argSets = append(argSets, map[string]string{"ROLE": filepath.Base(r), "VERSION": "test"})
			}
		}
		for _, args := range argSets {
			res := buildkitLint(t, rel(root, f), dt, args)
			for _, w := range res.Warnings {
				t.Errorf("%s %v: %s: %s", rel(root, f), args, w.RuleName, w.Detail)
			}
			if res.Error != nil {
				t.Errorf("%s %v: %s", rel(root, f), args, res.Error.Message)
			}
		}
	}
}

// The check can fail: BuildKit flags these mistakes.
func TestBuildKitCheckCatchesMistakes(t *testing.T) {
	res := buildkitLint(t, "bad", []byte("FROM debian:12 as b\nFROM scratch\nCOPY --from=b /x /x\nCMD /x\n"), nil)
	var rules []string
	for _, w := range res.Warnings {
		rules = append(rules, w.RuleName)
	}
	got := strings.Join(rules, ",")
	for _, want := range []string{"FromAsCasing", "JSONArgsRecommended"} {
		if !strings.Contains(got, want) {
			t.Errorf("BuildKit did not report %s (got %s)", want, got)
		}
	}
}
