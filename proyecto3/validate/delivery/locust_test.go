package delivery

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const zot = "zot.tweets.internal:5000/"

// The in-cluster Locust (master + workers) renders, decodes strictly, pulls the input artifact
// from Zot in an initContainer before Locust starts, and runs hardened.
func TestLocustKustomization(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(root, "proyecto3", "locust", "k8s")
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone // the locustfile lives one folder up
	rm, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	deploys := map[string]*appsv1.Deployment{}
	configMaps := map[string]*corev1.ConfigMap{}
	var services int
	for _, r := range rm.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		obj, _, err := codecs.UniversalDeserializer().Decode(js, nil, nil)
		if err != nil {
			t.Errorf("%s %s does not decode strictly: %v", r.GetKind(), r.GetName(), err)
			continue
		}
		if ns := r.GetNamespace(); r.GetKind() != "Namespace" && ns != "locust" {
			t.Errorf("%s %s in namespace %q, want locust", r.GetKind(), r.GetName(), ns)
		}
		switch o := obj.(type) {
		case *appsv1.Deployment:
			deploys[o.Name] = o
		case *corev1.ConfigMap:
			configMaps[o.Name] = o
		case *corev1.Service:
			services++
		}
	}
	if services != 1 {
		t.Errorf("%d Services, want 1 (locust-master)", services)
	}
	for _, name := range []string{"locust-master", "locust-worker"} {
		d := deploys[name]
		if d == nil {
			t.Errorf("Deployment %s is missing", name)
			continue
		}
		spec := d.Spec.Template.Spec
		if len(spec.InitContainers) != 1 {
			t.Errorf("%s: %d initContainers, want 1 (pull the input)", name, len(spec.InitContainers))
			continue
		}
		ic := spec.InitContainers[0]
		if !strings.HasPrefix(ic.Image, zot+"tweets/tweetsctl:") {
			t.Errorf("%s: initContainer image %s, want tweetsctl from Zot", name, ic.Image)
		}
		args := strings.Join(ic.Args, " ")
		if !strings.HasPrefix(args, "artifact pull --ref $(LOCUST_INPUT_REF) --file /input/") {
			t.Errorf("%s: initContainer args %q", name, args)
		}
		if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: pod is not runAsNonRoot", name)
		}
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			if !strings.HasPrefix(c.Image, zot) {
				t.Errorf("%s/%s: image %s is not from Zot", name, c.Name, c.Image)
			}
			if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Memory().IsZero() {
				t.Errorf("%s/%s: requests and limits are required", name, c.Name)
			}
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 {
				t.Errorf("%s/%s: hardened securityContext required", name, c.Name)
			}
			if c.Name != "locust" {
				continue
			}
			input := ""
			for _, e := range c.Env {
				if e.Name == "LOCUST_INPUT" {
					input = e.Value
				}
			}
			if !strings.HasPrefix(input, "/input/") {
				t.Errorf("%s: LOCUST_INPUT %q does not point at the pulled file", name, input)
			}
			mode := "--master"
			if name == "locust-worker" {
				mode = "--worker"
			}
			if !strings.Contains(strings.Join(c.Args, " "), mode) {
				t.Errorf("%s: args %v lack %s", name, c.Args, mode)
			}
		}
	}
	// The locustfile ConfigMap is generated from the real files, byte for byte.
	var found bool
	for name, cm := range configMaps {
		if !strings.HasPrefix(name, "locustfile-") {
			continue
		}
		found = true
		for key, file := range map[string]string{"locustfile.py": "locustfile.py", "tweetgen.py": "tweetgen.py"} {
			want, _ := os.ReadFile(filepath.Join(root, "proyecto3", "locust", file))
			if cm.Data[key] != string(want) {
				t.Errorf("ConfigMap %s key %s differs from proyecto3/locust/%s", name, key, file)
			}
		}
	}
	if !found {
		t.Error("no locustfile ConfigMap")
	}
	for name, cm := range configMaps {
		if !strings.HasPrefix(name, "locust-settings-") {
			continue
		}
		if cm.Data["TWEETS_TOTAL"] != "10000" || cm.Data["LOCUST_USERS"] != "10" {
			t.Errorf("settings %v: the statement's run is 10000 requests with 10 users", cm.Data)
		}
		if !strings.HasPrefix(cm.Data["LOCUST_INPUT_REF"], zot+"tweets/locust-input:v") {
			t.Errorf("LOCUST_INPUT_REF %q, want a versioned tag in Zot", cm.Data["LOCUST_INPUT_REF"])
		}
	}
}

// The locustfile and the sampler compile, and the sampler's unit tests pass (standard library
// only; the full Locust run against a stub api is proyecto3/locust/checks/locustfile.sh).
func TestLocustfilePython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	dir := filepath.Join(repoRoot(t), "proyecto3", "locust")
	tmp := t.TempDir()
	for _, args := range [][]string{
		{"-c", "import py_compile, sys; [py_compile.compile(f, cfile='" + tmp + "/x.pyc', doraise=True) for f in sys.argv[1:]]",
			"locustfile.py", "tweetgen.py", "accepted.py", "checks/stub_api.py", "checks/test_tweetgen.py"},
		{"-m", "unittest", "discover", "-s", "checks", "-p", "test_*.py"},
	} {
		cmd := exec.Command(py, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("python3 %s: %v\n%s", args[0], err, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "checks", "locustfile.sh")); err != nil || st.Mode()&0o111 == 0 {
		t.Error("checks/locustfile.sh must exist and be executable")
	}
}
