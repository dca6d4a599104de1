package delivery

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stage is one FROM ... block of a Dockerfile.
type stage struct {
	base, name string
	line       int
	user       string // the last USER in the stage ("" = none)
	entrypoint bool   // ENTRYPOINT or CMD present
	runs       []string
}

type dockerfile struct {
	path   string
	args   map[string]string // global ARGs (before the first FROM) with their defaults
	stages []stage
}

func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s", w.Short)
	}
	df := dockerfile{path: path, args: map[string]string{}}
	for _, n := range res.AST.Children {
		var words []string
		for x := n.Next; x != nil; x = x.Next {
			words = append(words, x.Value)
		}
		switch strings.ToLower(n.Value) {
		case "arg":
			if len(df.stages) == 0 {
				for _, w := range words {
					k, v, _ := strings.Cut(w, "=")
					df.args[k] = strings.Trim(v, `"`)
				}
			}
		case "from":
			s := stage{line: n.StartLine}
			if len(words) > 0 {
				s.base = words[0]
			}
			if len(words) == 3 && strings.EqualFold(words[1], "as") {
				s.name = words[2]
			} else if len(words) != 1 {
				t.Errorf("line %d: FROM %v: want `FROM image [AS name]`", n.StartLine, words)
			}
			df.stages = append(df.stages, s)
		default:
			if len(df.stages) == 0 {
				t.Errorf("line %d: %s before the first FROM", n.StartLine, n.Value)
				continue
			}
			s := &df.stages[len(df.stages)-1]
			switch strings.ToLower(n.Value) {
			case "user":
				s.user = strings.Join(words, " ")
			case "entrypoint", "cmd":
				s.entrypoint = true
			case "run":
				s.runs = append(s.runs, n.Original)
			}
		}
	}
	return df
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}?`)

// expand substitutes global ARG defaults; an ARG without a default makes the base unpinned.
func (df dockerfile) expand(s string) (string, error) {
	var err error
	out := argRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := argRef.FindStringSubmatch(m)
		if v, ok := df.args[sub[1]]; ok && v != "" {
			return v
		}
		if sub[2] != "" {
			return strings.TrimPrefix(sub[2], ":-")
		}
		err = fmt.Errorf("%s depends on build arg %s, which has no default", s, sub[1])
		return m
	})
	return out, err
}

// imageRule says why an image reference is not pinned, or "" when it is.
func imageRule(ref string) string {
	if ref == "scratch" {
		return ""
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		return "malformed digest"
	}
	tag := ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		tag = name[i+1:]
	}
	switch {
	case tag == "latest":
		return "uses the latest tag"
	case tag == "" && !hasDigest:
		return "has neither a tag nor a digest (means latest)"
	}
	return ""
}

func findDockerfiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "proyecto3"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "target", "node_modules", "reports", ".venv":
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if n == "Dockerfile" || strings.HasPrefix(n, "Dockerfile.") && !strings.HasSuffix(n, ".dockerignore") || strings.HasSuffix(n, ".Dockerfile") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Every Dockerfile in proyecto3 parses and keeps the rules: multi-stage, every base pinned (a
// tag that is not latest, or a digest; ARGs resolved to their defaults), a non-root USER in the
// final stage, an ENTRYPOINT/CMD, and a .dockerignore for its context.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	files := findDockerfiles(t, root)
	mustHave := []string{"proyecto3/src/Dockerfile", "proyecto3/src/api/Dockerfile"}
	for _, m := range mustHave {
		found := false
		for _, f := range files {
			found = found || rel(root, f) == m
		}
		if !found {
			t.Errorf("%s is missing", m)
		}
	}
	for _, f := range files {
		t.Run(rel(root, f), func(t *testing.T) {
			df := parseDockerfile(t, f)
			if len(df.stages) < 2 {
				t.Fatalf("%d FROM, want a multi-stage build (>= 2)", len(df.stages))
			}
			names := map[string]int{}
			for i, s := range df.stages {
				base, err := df.expand(s.base)
				if err != nil {
					t.Errorf("line %d: %v", s.line, err)
					continue
				}
				if _, isStage := names[strings.ToLower(base)]; isStage {
					continue
				}
				if why := imageRule(base); why != "" {
					t.Errorf("line %d: FROM %s %s", s.line, base, why)
				}
				if s.name != "" {
					names[strings.ToLower(s.name)] = i
				}
			}
			// The final stage (following FROM <earlier stage> back) runs as a non-root user.
			final := df.stages[len(df.stages)-1]
			user, entry := final.user, final.entrypoint
			for cur := final; user == "" || !entry; {
				i, ok := names[strings.ToLower(cur.base)]
				if !ok {
					break
				}
				cur = df.stages[i]
				if user == "" {
					user = cur.user
				}
				entry = entry || cur.entrypoint
			}
			u, _, _ := strings.Cut(user, ":")
			switch u {
			case "":
				t.Error("the final stage sets no USER (it would run as root)")
			case "root", "0":
				t.Errorf("the final stage runs as %q", user)
			}
			if !entry {
				t.Error("the final stage has no ENTRYPOINT or CMD")
			}
			dir := filepath.Dir(f)
			_, e1 := os.Stat(filepath.Join(dir, ".dockerignore"))
			_, e2 := os.Stat(f + ".dockerignore")
			if e1 != nil && e2 != nil {
				t.Errorf("no .dockerignore beside %s", filepath.Base(f))
			}
		})
	}
}

// The Go services' Dockerfile: one ROLE build arg, a cgo build linked statically against glibc
// (the Kafka client), a distroless static final image with a numeric non-root user.
func TestGoDockerfile(t *testing.T) {
	root := repoRoot(t)
	path := filepath.Join(root, "proyecto3", "src", "Dockerfile")
	df := parseDockerfile(t, path)
	data, _ := os.ReadFile(path)
	text := string(data)
	for _, want := range []string{"ARG ROLE", "ARG VERSION", "CGO_ENABLED=1", "-linkmode external", "-extldflags -static", "-X tweetsdelclima/internal/service.Version=${VERSION}", `"./cmd/$ROLE"`} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if len(df.stages) == 0 {
		t.Fatal("no stages")
	}
	build, final := df.stages[0], df.stages[len(df.stages)-1]
	if !strings.HasPrefix(build.base, "golang:1.26.") || !strings.HasSuffix(build.base, "-bookworm") {
		t.Errorf("builder %s, want a pinned golang:1.26.x-bookworm (glibc, like the bundled librdkafka)", build.base)
	}
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("final base %s, want gcr.io/distroless/static-debian12:nonroot", final.base)
	}
	if final.user != "65532:65532" {
		t.Errorf("final USER %q, want the numeric 65532:65532 so runAsNonRoot can verify it", final.user)
	}
	ignore, err := os.ReadFile(filepath.Join(root, "proyecto3", "src", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^(api/target|\*\*/target)$`).Match(ignore) {
		t.Error(".dockerignore does not exclude the Rust target/ folder")
	}
}

func TestImageRule(t *testing.T) {
	for ref, ok := range map[string]bool{
		"golang:1.26.8-bookworm":                          true,
		"gcr.io/distroless/static-debian12:nonroot":       true,
		"localhost:5000/x":                                false,
		"localhost:5000/x:1.0":                            true,
		"debian":                                          false,
		"debian:latest":                                   false,
		"debian@sha256:" + strings.Repeat("a", 64):        true,
		"debian:latest@sha256:" + strings.Repeat("a", 64): false,
		"debian@sha256:abc":                               false,
		"scratch":                                         true,
	} {
		if got := imageRule(ref) == ""; got != ok {
			t.Errorf("imageRule(%s) pinned=%v, want %v (%s)", ref, got, ok, imageRule(ref))
		}
	}
}
