package delivery

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the git repository root (two levels above proyecto3/validate).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "proyecto3")); err == nil && st.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no proyecto3 folder above %s", wd)
		}
	}
}

func workflowFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

func actionFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"action.yml", "action.yaml"} {
		m, _ := filepath.Glob(filepath.Join(root, "proyecto3", ".github", "actions", "*", pat))
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

func newLinter(t *testing.T, out *bytes.Buffer) *actionlint.Linter {
	t.Helper()
	opts := &actionlint.LinterOptions{Oneline: true}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck not found: run: scripts are not shellchecked (apt-get install shellcheck)")
	}
	l, err := actionlint.NewLinter(out, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func project(t *testing.T, root string) *actionlint.Project {
	t.Helper()
	p, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every workflow passes actionlint (syntax, expressions and their types, job needs, matrix,
// inputs given to our local composite actions, and shellcheck on every run: script).
func TestWorkflowsPassActionlint(t *testing.T) {
	root := repoRoot(t)
	files := workflowFiles(t, root)
	want := map[string]bool{"images.yml": false, "locust-artifact.yml": false}
	for _, f := range files {
		want[filepath.Base(f)] = true
	}
	for name, found := range want {
		if !found {
			t.Errorf(".github/workflows/%s is missing", name)
		}
	}
	var out bytes.Buffer
	errs, err := newLinter(t, &out).LintFiles(files, project(t, root))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("actionlint: %s:%d:%d: %s [%s]", rel(root, e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}
}

// compositeMeta is what we check in a composite action besides what actionlint checks.
type compositeMeta struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     any    `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string           `yaml:"using"`
		Steps []map[string]any `yaml:"steps"`
	} `yaml:"runs"`
}

// Every composite action is well-formed, and its steps pass actionlint + shellcheck: actionlint
// does not lint action.yml files itself, so each is wrapped in a workflow_call workflow whose
// inputs are the action's inputs, which checks the same expressions and scripts.
func TestCompositeActions(t *testing.T) {
	root := repoRoot(t)
	files := actionFiles(t, root)
	for _, want := range []string{"build-push", "bump-tags"} {
		found := false
		for _, f := range files {
			found = found || filepath.Base(filepath.Dir(f)) == want
		}
		if !found {
			t.Errorf("proyecto3/.github/actions/%s/action.yml is missing", want)
		}
	}
	proj := project(t, root)
	for _, f := range files {
		t.Run(rel(root, f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var md compositeMeta
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			if err := dec.Decode(&md); err != nil {
				t.Fatalf("action metadata: %v", err)
			}
			if md.Name == "" || md.Description == "" {
				t.Error("name and description are required")
			}
			if md.Runs.Using != "composite" || len(md.Runs.Steps) == 0 {
				t.Fatalf("runs.using = %q with %d steps, want a composite action", md.Runs.Using, len(md.Runs.Steps))
			}
			for i, s := range md.Runs.Steps {
				if _, ok := s["run"]; ok {
					if _, ok := s["shell"]; !ok {
						t.Errorf("step %d: a composite run step needs shell:", i)
					}
				}
			}
			for name, in := range md.Inputs {
				if in.Description == "" {
					t.Errorf("input %s has no description", name)
				}
			}
			// Every ${{ inputs.x }} names a declared input.
			for _, m := range regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(data), -1) {
				if _, ok := md.Inputs[m[1]]; !ok {
					t.Errorf("inputs.%s is used but not declared", m[1])
				}
			}

			wf := wrapAsWorkflow(t, md)
			var out bytes.Buffer
			errs, err := newLinter(t, &out).Lint(rel(root, f)+" (as a workflow)", wf, proj)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range errs {
				t.Errorf("actionlint: %d:%d: %s [%s]", e.Line, e.Column, e.Message, e.Kind)
			}
			if t.Failed() {
				t.Logf("wrapped workflow:\n%s", wf)
			}
		})
	}
}

func wrapAsWorkflow(t *testing.T, md compositeMeta) []byte {
	t.Helper()
	inputs := map[string]any{}
	for name := range md.Inputs {
		inputs[name] = map[string]any{"type": "string", "required": false}
	}
	wf := map[string]any{
		"name": "wrapped " + md.Name,
		"on":   map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"jobs": map[string]any{
			"action": map[string]any{
				"runs-on": "ubuntu-latest",
				"steps":   md.Runs.Steps,
			},
		},
	}
	b, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	usesLine = regexp.MustCompile(`(?m)^\s*-?\s*uses:\s*(\S+)(.*)$`)
	pinned   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$`)
	version  = regexp.MustCompile(`#\s*v\d+(\.\d+){0,2}\b`)
)

// Every third-party action is pinned to a full commit SHA with its version in a comment;
// local actions are referenced by path; no docker:// action without a digest.
func TestActionsPinnedToCommits(t *testing.T) {
	root := repoRoot(t)
	files := append(workflowFiles(t, root), actionFiles(t, root)...)
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range usesLine.FindAllStringSubmatch(string(data), -1) {
			ref, rest := strings.Trim(m[1], `"'`), m[2]
			switch {
			case strings.HasPrefix(ref, "./"):
				if _, err := os.Stat(filepath.Join(root, ref)); err != nil {
					t.Errorf("%s: local action %s does not exist", rel(root, f), ref)
				}
			case strings.HasPrefix(ref, "docker://"):
				if !strings.Contains(ref, "@sha256:") {
					t.Errorf("%s: %s is not pinned by digest", rel(root, f), ref)
				}
			default:
				if !pinned.MatchString(ref) {
					t.Errorf("%s: %s is not pinned to a full commit SHA", rel(root, f), ref)
					continue
				}
				if !version.MatchString(rest) {
					t.Errorf("%s: %s has no '# vX.Y.Z' comment saying which release the SHA is", rel(root, f), ref)
				}
				name, sha, _ := strings.Cut(ref, "@")
				if prev, ok := seen[name]; ok && prev != sha {
					t.Errorf("%s is pinned to two different commits (%s and %s)", name, prev, sha)
				}
				seen[name] = sha
			}
		}
	}
	if len(seen) == 0 {
		t.Error("no third-party action found: did the workflows disappear?")
	}
}

// The image matrix builds what exists: each Go role has a cmd/<role> package, each Dockerfile
// exists, and every image the Kustomize trees deploy (tweets/*) is built by the workflow.
func TestImageMatrixMatchesRepository(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "images.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Strategy struct {
				Matrix struct {
					Include []map[string]string `yaml:"include"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	built := map[string]bool{}
	for _, e := range wf.Jobs["build"].Strategy.Matrix.Include {
		img := e["image"]
		built[img] = true
		for _, k := range []string{"context", "dockerfile"} {
			if _, err := os.Stat(filepath.Join(root, e[k])); err != nil {
				t.Errorf("%s: %s %s does not exist", img, k, e[k])
			}
		}
		if role := e["role"]; role != "" {
			goFiles, _ := filepath.Glob(filepath.Join(root, e["context"], "cmd", role, "*.go"))
			if len(goFiles) == 0 {
				t.Errorf("%s: ROLE=%s but %s/cmd/%s has no Go files", img, role, e["context"], role)
			}
			if want := "tweets/" + role; img != want {
				t.Errorf("role %s is pushed as %s, want %s", role, img, want)
			}
		}
	}
	for _, k := range []string{"proyecto3/kustomize/base/kustomization.yaml", "proyecto3/locust/k8s/kustomization.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, k))
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		var kz struct {
			Images []struct {
				Name    string `yaml:"name"`
				NewName string `yaml:"newName"`
				NewTag  string `yaml:"newTag"`
			} `yaml:"images"`
		}
		if err := yaml.Unmarshal(data, &kz); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, im := range kz.Images {
			if !strings.HasPrefix(im.Name, "tweets/") {
				continue
			}
			if !built[im.Name] {
				t.Errorf("%s deploys %s but images.yml does not build it", k, im.Name)
			}
			if im.NewName != "" && !strings.HasSuffix(im.NewName, "/"+im.Name) {
				t.Errorf("%s: %s is renamed to %s; the bump action writes <registry>/%s", k, im.Name, im.NewName, im.Name)
			}
		}
	}
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}

// The harness can fail: a workflow that calls our build-push action without a required input,
// with an input it does not have, and with a broken script is reported (this proves the local
// action's metadata is read and shellcheck runs).
func TestActionlintCatchesMistakes(t *testing.T) {
	root := repoRoot(t)
	bad := []byte(`name: bad
on: push
jobs:
  b:
    runs-on: ubuntu-latest
    steps:
      - uses: ./proyecto3/.github/actions/build-push
        with:
          registry: zot:5000
          imagee: tweets/api
      - run: echo ${{ github.sha }} > $GITHUB_OUTPUT && cd $UNQUOTED
`)
	var out bytes.Buffer
	errs, err := newLinter(t, &out).Lint(".github/workflows/bad.yml", bad, project(t, root))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, e := range errs {
		kinds[e.Kind] = true
	}
	if !kinds["action"] {
		t.Errorf("missing/unknown inputs of the local action not reported: %v", errs)
	}
	if _, err := exec.LookPath("shellcheck"); err == nil && !kinds["shellcheck"] {
		t.Errorf("shellcheck findings not reported: %v", errs)
	}
}
