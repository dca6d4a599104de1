package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type kustomizationFile struct {
	Kind      string   `json:"kind"`
	Resources []string `json:"resources"`
}

func readKustomization(t *testing.T, dir string) kustomizationFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomizationFile
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return k
}

var pinnedRelease = regexp.MustCompile(`^https://github\.com/[^/]+/[^/]+/releases/download/v\d+\.\d+\.\d+/[^/]+\.ya?ml$`)

// Every kustomization under proyecto3/argocd renders and decodes strictly. A folder whose only
// resources are remote upstream release files (fetched by Argo CD's repo-server, not here: no
// network) must pin an exact release.
func TestArgoCDKustomizePathsRender(t *testing.T) {
	overlays(t)
	dirs, err := KustomizationDirs(filepath.Join(p3, "argocd"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 3 {
		t.Fatalf("expected root, apps, repo and operator folders, found %v", dirs)
	}
	rendered := 0
	for _, d := range dirs {
		rel, _ := filepath.Rel(p3, d)
		k := readKustomization(t, d)
		if k.Kind == "Component" {
			continue // built as part of root and apps
		}
		var remote []string
		for _, r := range k.Resources {
			if strings.Contains(r, "://") {
				remote = append(remote, r)
			}
		}
		if len(remote) > 0 {
			if len(remote) != len(k.Resources) {
				t.Errorf("%s: mixes remote and local resources", rel)
			}
			for _, r := range remote {
				if !pinnedRelease.MatchString(r) {
					t.Errorf("%s: remote resource %q is not a pinned release file", rel, r)
				}
			}
			t.Logf("%s: remote upstream manifest, pinned (rendered by Argo CD, not offline)", rel)
			continue
		}
		objs, err := RenderObjects(d)
		if err != nil {
			t.Error(err)
			continue
		}
		rendered++
		t.Logf("%s: %d objects", rel, len(objs))
	}
	if rendered < 2 {
		t.Errorf("rendered only %d Argo CD paths", rendered)
	}
}

func argoApps(t *testing.T) []Object {
	t.Helper()
	overlays(t)
	objs, err := RenderObjects(filepath.Join(p3, "argocd", "apps"))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestArgoCDInvariants(t *testing.T) {
	for _, msg := range CheckArgoCD(argoApps(t), p3) {
		t.Error(msg)
	}
	root, err := RenderObjects(filepath.Join(p3, "argocd", "root"))
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != 1 || root[0].Kind != "Application" {
		t.Fatalf("root must render exactly the root Application, got %d objects", len(root))
	}
	r := root[0].Typed.(*Application)
	if r.Spec.Source.Path != "proyecto3/argocd/apps" || r.Spec.SyncPolicy == nil || r.Spec.SyncPolicy.Automated == nil ||
		!r.Spec.SyncPolicy.Automated.Prune || !r.Spec.SyncPolicy.Automated.SelfHeal {
		t.Errorf("root: must sync proyecto3/argocd/apps automatically with prune and selfHeal")
	}
	tw := find[*Application](argoApps(t), "tweets")
	if r.Spec.Source.RepoURL != tw.Spec.Source.RepoURL || r.Spec.Source.TargetRevision != tw.Spec.Source.TargetRevision {
		t.Errorf("root and tweets follow different repositories/branches")
	}
	if tw.Spec.Source.Path != "proyecto3/kustomize/overlays/writers-1" {
		t.Errorf("the default experiment must be writers-1, tweets points at %s", tw.Spec.Source.Path)
	}
}

// The repository URL is written in exactly one file.
func TestRepoURLIsSetInOnePlace(t *testing.T) {
	tw := find[*Application](argoApps(t), "tweets")
	url := tw.Spec.Source.RepoURL
	var holders []string
	_ = filepath.WalkDir(filepath.Join(p3, "argocd"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), url) {
				rel, _ := filepath.Rel(p3, p)
				holders = append(holders, rel)
			}
		}
		return nil
	})
	if len(holders) != 1 || holders[0] != filepath.Join("argocd", "repo", "kustomization.yaml") {
		t.Errorf("repo URL %s appears in %v; it belongs only in argocd/repo/kustomization.yaml", url, holders)
	}
}

func TestArgoCDInvariantsCanFail(t *testing.T) {
	cases := []struct {
		name   string
		mutate func([]Object)
		want   string
	}{
		{"no prune", func(o []Object) { find[*Application](o, "grafana").Spec.SyncPolicy.Automated.Prune = false }, "grafana: automated sync with prune and selfHeal"},
		{"no selfHeal", func(o []Object) { find[*Application](o, "tweets").Spec.SyncPolicy.Automated.SelfHeal = false }, "tweets: automated sync"},
		{"tweets before operators", func(o []Object) {
			find[*Application](o, "tweets").Metadata.Annotations["argocd.argoproj.io/sync-wave"] = "0"
		}, `tweets: sync-wave "0", want 1`},
		{"unknown overlay", func(o []Object) {
			find[*Application](o, "tweets").Spec.Source.Path = "proyecto3/kustomize/overlays/writers-3"
		}, "is not one of the overlays"},
		{"chart not pinned", func(o []Object) { find[*Application](o, "ingress-nginx").Spec.Source.TargetRevision = "4.x" }, "is not pinned"},
		{"old Strimzi", func(o []Object) { find[*Application](o, "strimzi").Spec.Source.TargetRevision = "0.45.0" }, "does not serve kafka.strimzi.io/v1"},
		{"strimzi from a Helm repo", func(o []Object) {
			find[*Application](o, "strimzi").Spec.Source.RepoURL = "https://strimzi.io/charts/"
		}, "must come from the OCI chart"},
		{"grafana without plugin", func(o []Object) {
			find[*Application](o, "grafana").Spec.Source.Helm.ValuesObject["plugins"] = []any{}
		}, "plugin redis-datasource missing"},
		{"grafana plain admin password", func(o []Object) {
			find[*Application](o, "grafana").Spec.Source.Helm.ValuesObject["adminPassword"] = "admin"
		}, "adminPassword in git"},
		{"tweets fights the Valkey HPA", func(o []Object) { find[*Application](o, "tweets").Spec.IgnoreDifferences = nil }, "fights the Valkey HPA"},
		{"destination not in project", func(o []Object) {
			find[*Application](o, "grafana").Spec.Destination.Namespace = "grafana"
		}, "not allowed by the AppProject"},
		{"repo placeholder left", func(o []Object) {
			find[*Application](o, "tweets").Spec.Source.RepoURL = "REPO_URL_SET_IN_proyecto3/argocd/repo"
		}, "was not set by proyecto3/argocd/repo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := argoApps(t)
			c.mutate(objs)
			if got := CheckArgoCD(objs, p3); !containsMsg(got, c.want) {
				t.Fatalf("checker did not report %q; it reported %q", c.want, got)
			}
		})
	}
}

// switch-overlay.sh, run for real against a throw-away git repository and a bare "remote", with
// fake argocd and kubectl that record their calls and answer like a cluster that converged.
func TestSwitchOverlayScript(t *testing.T) {
	overlays(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required")
	}
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	remote := filepath.Join(tmp, "remote.git")
	bin := filepath.Join(tmp, "bin")
	log := filepath.Join(tmp, "calls.log")
	for _, d := range []string{filepath.Join(work, "proyecto3", "argocd", "apps"), bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name := range Overlays {
		d := filepath.Join(work, "proyecto3", "kustomize", "overlays", name)
		_ = os.MkdirAll(d, 0o755)
		_ = os.WriteFile(filepath.Join(d, "kustomization.yaml"), []byte("resources: []\n"), 0o644)
	}
	copyFile(t, filepath.Join(p3, "argocd", "switch-overlay.sh"), filepath.Join(work, "proyecto3", "argocd", "switch-overlay.sh"), 0o755)
	appFile := filepath.Join(work, "proyecto3", "argocd", "apps", "tweets.yaml")
	copyFile(t, filepath.Join(p3, "argocd", "apps", "tweets.yaml"), appFile, 0o644)
	_ = os.WriteFile(filepath.Join(work, "unrelated.txt"), []byte("x\n"), 0o644)

	// Fakes: kubectl reports the path currently in the work tree's tweets.yaml.
	fakeArgo := "#!/bin/sh\necho \"argocd $*\" >> \"" + log + "\"\n"
	fakeKubectl := "#!/bin/sh\necho \"kubectl $*\" >> \"" + log + "\"\ncase \"$*\" in *spec.source.path*) sed -n 's/^    path: //p' \"" + appFile + "\" ;; *) printf 'sync=Synced health=Healthy revision=abc' ;; esac\n"
	_ = os.WriteFile(filepath.Join(bin, "argocd"), []byte(fakeArgo), 0o755)
	_ = os.WriteFile(filepath.Join(bin, "kubectl"), []byte(fakeKubectl), 0o755)

	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(tmp, "init", "--quiet", "--bare", remote)
	git(work, "init", "--quiet", "-b", "main")
	git(work, "add", "proyecto3")
	git(work, "commit", "--quiet", "-m", "init")
	git(work, "remote", "add", "origin", remote)
	git(work, "push", "--quiet", "origin", "main")
	git(work, "add", "unrelated.txt") // staged but must not be committed by the script

	run := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(work, "proyecto3", "argocd", "switch-overlay.sh"), args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "TIMEOUT=30",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	if out, err := run("writers-3"); err == nil {
		t.Fatalf("an unknown overlay must fail:\n%s", out)
	}
	out, err := run("writers-2")
	if err != nil {
		t.Fatalf("switch-overlay writers-2: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(appFile)
	if !strings.Contains(string(b), "    path: proyecto3/kustomize/overlays/writers-2\n") {
		t.Fatalf("tweets.yaml path not switched:\n%s", b)
	}
	if msg := git(work, "--git-dir", remote, "log", "-1", "--format=%s", "main"); msg != "experiment: run overlay writers-2" {
		t.Errorf("remote head is %q, the switch was not pushed", msg)
	}
	if files := git(work, "--git-dir", remote, "show", "--name-only", "--format=", "main"); files != "proyecto3/argocd/apps/tweets.yaml" {
		t.Errorf("the switch commit must touch only tweets.yaml, it touched %q", files)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "argocd app wait tweets --sync --health --timeout 30") {
		t.Errorf("argocd app wait not called as expected; calls:\n%s", calls)
	}
	if !strings.Contains(out, "sync=Synced health=Healthy") {
		t.Errorf("no progress printed:\n%s", out)
	}
	// Idempotent: the same overlay again commits nothing.
	before := git(work, "rev-parse", "HEAD")
	if out, err := run("writers-2"); err != nil || git(work, "rev-parse", "HEAD") != before {
		t.Errorf("second run must be a no-op commit-wise: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
