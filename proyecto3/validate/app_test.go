package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"
)

var (
	renderOnce sync.Once
	rendered   map[string][]Object
	renderErr  error
	p3         string
)

// overlays renders every overlay once per test binary.
func overlays(t *testing.T) map[string][]Object {
	t.Helper()
	renderOnce.Do(func() {
		p3, renderErr = Proyecto3()
		if renderErr != nil {
			return
		}
		rendered = map[string][]Object{}
		for name := range Overlays {
			objs, err := RenderObjects(filepath.Join(p3, "kustomize", "overlays", name))
			if err != nil {
				renderErr = err
				return
			}
			rendered[name] = objs
		}
	})
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return rendered
}

// fresh returns an independent copy of an overlay's objects (decoded again from JSON), for
// mutation tests.
func fresh(t *testing.T, name string) []Object {
	t.Helper()
	var out []Object
	for _, o := range overlays(t)[name] {
		c, err := Decode(o.JSON)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func contractEnv(t *testing.T) map[string]bool {
	t.Helper()
	overlays(t)
	env, err := ContractEnv(p3)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestEveryOverlayIsTested(t *testing.T) {
	overlays(t)
	entries, err := os.ReadDir(filepath.Join(p3, "kustomize", "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := Overlays[e.Name()]; e.IsDir() && !ok {
			t.Errorf("overlay %s has no expectations in Overlays", e.Name())
		}
	}
}

func TestOverlaysRenderAndDecodeStrictly(t *testing.T) {
	for name, objs := range overlays(t) {
		kinds := map[string]int{}
		for _, o := range objs {
			kinds[o.Kind]++
		}
		t.Logf("%s: %d objects %v", name, len(objs), kinds)
		for _, k := range []string{"Namespace", "Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler", "Ingress",
			"Kafka", "KafkaNodePool", "KafkaTopic", "RabbitmqCluster", "NetworkPolicy", "PodDisruptionBudget", "ConfigMap"} {
			if kinds[k] == 0 {
				t.Errorf("%s: no %s rendered", name, k)
			}
		}
	}
}

func TestOverlayInvariants(t *testing.T) {
	env := contractEnv(t)
	for name, objs := range overlays(t) {
		for _, msg := range CheckApp(objs, Overlays[name], env) {
			t.Errorf("%s: %s", name, msg)
		}
	}
}

func TestOverlaysDifferOnlyAsIntended(t *testing.T) {
	o := overlays(t)
	for _, msg := range CheckValkeyHPADiff(o["writers-1"], o["valkey-hpa"]) {
		t.Error(msg)
	}
	for _, msg := range CheckWriters2Diff(o["writers-1"], o["writers-2"]) {
		t.Error(msg)
	}
}

func TestDashboardIsGeneratedFromTheFile(t *testing.T) {
	overlays(t)
	want, err := os.ReadFile(filepath.Join(p3, "grafana", "dashboards", "tweets.json"))
	if err != nil {
		t.Fatal(err)
	}
	cm := find[*corev1.ConfigMap](overlays(t)["writers-1"], "grafana-dashboard-tweets")
	if cm == nil || cm.Data["tweets.json"] != string(want) {
		t.Fatal("the dashboard ConfigMap does not hold proyecto3/grafana/dashboards/tweets.json byte for byte")
	}
	// Generated, not copied: no dashboard JSON lives in the kustomize tree.
	_ = filepath.WalkDir(filepath.Join(p3, "kustomize"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			t.Errorf("%s: dashboards are generated from proyecto3/grafana, not copied", p)
		}
		return nil
	})
}

// TestValkeyScriptsPassShellcheck extracts the scripts of the Valkey ConfigMap and lints them.
func TestValkeyScriptsPassShellcheck(t *testing.T) {
	cm := find[*corev1.ConfigMap](overlays(t)["writers-1"], "valkey-scripts")
	if cm == nil {
		t.Fatal("valkey-scripts missing")
	}
	dir := t.TempDir()
	var files []string
	for k, s := range cm.Data {
		p := filepath.Join(dir, k)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	sort.Strings(files)
	runShellcheck(t, files)
}

// ---- each invariant can fail: mutate a rendered copy and expect the checker to say so ----

func mutateDeployment(objs []Object, name string, f func(*appsv1.Deployment)) {
	for _, o := range objs {
		if d, ok := o.Typed.(*appsv1.Deployment); ok && d.Name == name {
			f(d)
		}
	}
}

func TestInvariantsCanFail(t *testing.T) {
	env := contractEnv(t)
	cases := []struct {
		name    string
		overlay string
		mutate  func([]Object) []Object
		want    string
	}{
		{"api HPA max 5", "writers-1", func(o []Object) []Object {
			find[*autoscalingv2.HorizontalPodAutoscaler](o, "api").Spec.MaxReplicas = 5
			return o
		}, "api HPA: want minReplicas 1 and maxReplicas 3"},
		{"api HPA at 50%", "writers-1", func(o []Object) []Object {
			find[*autoscalingv2.HorizontalPodAutoscaler](o, "api").Spec.Metrics[0].Resource.Target.AverageUtilization = ptr.To[int32](50)
			return o
		}, "CPU Utilization 30%"},
		{"api HPA removed", "writers-1", func(o []Object) []Object {
			return remove(o, "HorizontalPodAutoscaler", "api")
		}, "no HorizontalPodAutoscaler targets Deployment api"},
		{"writer Service ClusterIP-only", "writers-1", func(o []Object) []Object {
			find[*corev1.Service](o, "writer-kafka-headless").Spec.ClusterIP = ""
			return o
		}, "must be headless"},
		{"writer Service removed", "writers-2", func(o []Object) []Object {
			return remove(o, "Service", "writer-rabbitmq-headless")
		}, "Service writer-rabbitmq-headless missing"},
		{"image off Zot", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "gateway", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Image = "docker.io/someone/gateway:0.1.0"
			})
			return o
		}, "is not from the Zot registry"},
		{"image latest", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "api", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Image = ZotHost + "tweets/api:latest"
			})
			return o
		}, "uses latest"},
		{"writers-1 with 2 writers", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "writer-rabbitmq", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](2) })
			return o
		}, "writer-rabbitmq: want replicas 1"},
		{"writers-2 with 1 writer", "writers-2", func(o []Object) []Object {
			mutateDeployment(o, "writer-kafka", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](1) })
			return o
		}, "writer-kafka: want replicas 2"},
		{"writer probe not gRPC", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "writer-kafka", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].ReadinessProbe.GRPC = nil
				d.Spec.Template.Spec.Containers[0].ReadinessProbe.TCPSocket = &corev1.TCPSocketAction{}
			})
			return o
		}, "native grpc probe"},
		{"no readiness probe", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "consumer-kafka", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].ReadinessProbe = nil })
			return o
		}, "consumer-kafka container consumer: no readinessProbe"},
		{"no memory limit", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "api", func(d *appsv1.Deployment) {
				delete(d.Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
			})
			return o
		}, "api container api: no memory limit"},
		{"writable root filesystem", "writers-1", func(o []Object) []Object {
			find[*appsv1.StatefulSet](o, "valkey").Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr.To(false)
			return o
		}, "readOnlyRootFilesystem is not true"},
		{"capabilities kept", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "gateway", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities = nil })
			return o
		}, "capabilities do not drop ALL"},
		{"privilege escalation", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "gateway", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
			})
			return o
		}, "allowPrivilegeEscalation is not false"},
		{"root user", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "gateway", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false)
			})
			return o
		}, "runAsNonRoot is not true"},
		{"plain-text password", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "consumer-kafka", func(d *appsv1.Deployment) {
				for i, e := range d.Spec.Template.Spec.Containers[0].Env {
					if e.Name == "VALKEY_PASSWORD" {
						d.Spec.Template.Spec.Containers[0].Env[i] = corev1.EnvVar{Name: "VALKEY_PASSWORD", Value: "hunter2"}
					}
				}
			})
			return o
		}, "env VALKEY_PASSWORD must come from a secretKeyRef"},
		{"Secret in git", "writers-1", func(o []Object) []Object {
			s, _ := Decode([]byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"valkey-auth","namespace":"tweets"},"stringData":{"password":"x"}}`))
			return append(o, s)
		}, "Secret valkey-auth is rendered from git"},
		{"env name not in the contract", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "gateway", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "WRITER_KAFKA_ADDR", Value: "x"})
			})
			return o
		}, "env WRITER_KAFKA_ADDR is not in docs/contracts.md"},
		{"api env name not read by the api", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "api", func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "GATEWAY_ADDR", Value: "x"})
			})
			return o
		}, "env GATEWAY_ADDR is not read by the api"},
		{"gateway not on the headless Service", "writers-1", func(o []Object) []Object {
			mutateDeployment(o, "gateway", func(d *appsv1.Deployment) {
				for i, e := range d.Spec.Template.Spec.Containers[0].Env {
					if e.Name == "WRITER_KAFKA" {
						d.Spec.Template.Spec.Containers[0].Env[i].Value = "writer-kafka:50051"
					}
				}
			})
			return o
		}, "gateway: WRITER_KAFKA="},
		{"ingress class", "writers-1", func(o []Object) []Object {
			find[*networkingv1.Ingress](o, "api").Spec.IngressClassName = ptr.To("traefik")
			return o
		}, "ingressClassName must be nginx"},
		{"valkey 3 replicas", "writers-1", func(o []Object) []Object {
			find[*appsv1.StatefulSet](o, "valkey").Spec.Replicas = ptr.To[int32](3)
			return o
		}, "valkey: want 2 replicas"},
		{"valkey without AOF", "writers-1", func(o []Object) []Object {
			cm := find[*corev1.ConfigMap](o, "valkey-scripts")
			cm.Data["start.sh"] = strings.ReplaceAll(cm.Data["start.sh"], "appendonly yes", "appendonly no")
			return o
		}, `missing "appendonly yes"`},
		{"valkey without replica", "writers-1", func(o []Object) []Object {
			cm := find[*corev1.ConfigMap](o, "valkey-scripts")
			cm.Data["start.sh"] = strings.ReplaceAll(cm.Data["start.sh"], "replicaof valkey-0.valkey-headless 6379", "replicaof no one")
			return o
		}, "replicaof valkey-0.valkey-headless 6379"},
		{"valkey without PVC", "writers-1", func(o []Object) []Object {
			find[*appsv1.StatefulSet](o, "valkey").Spec.VolumeClaimTemplates = nil
			return o
		}, "no volumeClaimTemplate"},
		{"valkey-primary selects every pod", "writers-1", func(o []Object) []Object {
			delete(find[*corev1.Service](o, "valkey-primary").Spec.Selector, "statefulset.kubernetes.io/pod-name")
			return o
		}, "valkey-primary: must select pod valkey-0 only"},
		{"valkey PDB removed", "writers-1", func(o []Object) []Object {
			return remove(o, "PodDisruptionBudget", "valkey")
		}, "valkey: PodDisruptionBudget missing"},
		{"writers-2 without PDB", "writers-2", func(o []Object) []Object {
			return remove(o, "PodDisruptionBudget", "writer-kafka")
		}, "Deployment writer-kafka: more than one replica but no PodDisruptionBudget"},
		{"Valkey HPA by default", "writers-1", func(o []Object) []Object {
			for _, h := range fresh(t, "valkey-hpa") {
				if h.Kind == "HorizontalPodAutoscaler" && h.Name == "valkey" {
					o = append(o, h)
				}
			}
			return o
		}, "must not have it"},
		{"valkey-hpa without HPA", "valkey-hpa", func(o []Object) []Object {
			return remove(o, "HorizontalPodAutoscaler", "valkey")
		}, "want exactly 1 HPA on StatefulSet valkey"},
		{"kafka topic partitions", "writers-1", func(o []Object) []Object {
			find[*KafkaTopic](o, "weather-tweets").Spec.Partitions = 1
			return o
		}, "KafkaTopic weather-tweets: want 6 partitions"},
		{"kafka ephemeral", "writers-1", func(o []Object) []Object {
			p := all[*KafkaNodePool](o)[0]
			p.Spec.Storage = KafkaStorage{Type: "ephemeral"}
			return o
		}, "storage must be persistent-claim"},
		{"default deny removed", "writers-1", func(o []Object) []Object {
			return remove(o, "NetworkPolicy", "default-deny-app")
		}, "is not covered by a deny-all policy"},
		{"valkey open to everyone", "writers-1", func(o []Object) []Object {
			np := find[*networkingv1.NetworkPolicy](o, "valkey")
			np.Spec.Ingress[0].From = nil
			return o
		}, "allows a flow off the data path: ingress-nginx -> valkey:6379/TCP"},
		{"gateway policy removed", "writers-1", func(o []Object) []Object {
			return remove(o, "NetworkPolicy", "gateway")
		}, "blocks the data path: api -> gateway:8080/TCP"},
		{"gateway egress closed", "writers-1", func(o []Object) []Object {
			find[*networkingv1.NetworkPolicy](o, "gateway").Spec.Egress = nil
			return o
		}, "blocks the data path: gateway -> writer-kafka:50051/TCP"},
		{"ingress controller cut off", "writers-1", func(o []Object) []Object {
			find[*networkingv1.NetworkPolicy](o, "api").Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] = "nginx"
			return o
		}, "blocks the data path: ingress-nginx -> api:8080/TCP"},
		{"kafka listener open", "writers-1", func(o []Object) []Object {
			find[*Kafka](o, "tweets-kafka").Spec.Kafka.Listeners[0].NetworkPolicyPeers = nil
			return o
		}, "no networkPolicyPeers"},
		{"rabbitmq WAL default", "writers-1", func(o []Object) []Object {
			find[*RabbitmqCluster](o, "tweets-rabbitmq").Spec.Rabbitmq = nil
			return o
		}, "raft.wal_max_size_bytes not set"},
		{"rabbitmq WAL too big for the pod", "writers-2", func(o []Object) []Object {
			find[*RabbitmqCluster](o, "tweets-rabbitmq").Spec.Rabbitmq.AdditionalConfig = "raft.wal_max_size_bytes = 512000000\n"
			return o
		}, "more than a quarter of the memory limit 1Gi"},
		{"wrong namespace", "writers-1", func(o []Object) []Object {
			for i := range o {
				if o[i].Kind == "Deployment" && o[i].Name == "gateway" {
					o[i].Namespace = "default"
				}
			}
			return o
		}, "Deployment gateway: namespace \"default\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := c.mutate(fresh(t, c.overlay))
			got := CheckApp(objs, Overlays[c.overlay], env)
			if !containsMsg(got, c.want) {
				t.Fatalf("checker did not report %q; it reported %q", c.want, got)
			}
		})
	}
}

func remove(objs []Object, kind, name string) []Object {
	var out []Object
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			continue
		}
		out = append(out, o)
	}
	return out
}

func containsMsg(msgs []string, want string) bool {
	for _, m := range msgs {
		if strings.Contains(m, want) {
			return true
		}
	}
	return false
}

func TestOverlayDiffCheckersCanFail(t *testing.T) {
	w1 := fresh(t, "writers-1")
	// valkey-hpa that also scales a writer.
	hpa := fresh(t, "valkey-hpa")
	for i, o := range hpa {
		if o.Kind == "Deployment" && o.Name == "writer-kafka" {
			hpa[i].JSON = []byte(strings.Replace(string(o.JSON), `"replicas":1`, `"replicas":2`, 1))
		}
	}
	if got := CheckValkeyHPADiff(w1, hpa); !containsMsg(got, "must only add") {
		t.Errorf("valkey-hpa diff checker missed a changed writer: %q", got)
	}
	// writers-2 that also changes the writer image tag.
	w2 := fresh(t, "writers-2")
	for i, o := range w2 {
		if o.Kind == "Deployment" && o.Name == "writer-rabbitmq" {
			w2[i].JSON = []byte(strings.Replace(string(o.JSON), "tweets/writer:", "tweets/writer:9", 1))
		}
	}
	if got := CheckWriters2Diff(w1, w2); !containsMsg(got, "more than spec.replicas") {
		t.Errorf("writers-2 diff checker missed a changed image: %q", got)
	}
}

// Strict decoding rejects unknown fields, for built-in kinds and for the custom resources.
func TestStrictDecodingCanFail(t *testing.T) {
	cases := map[string]string{
		"Deployment spec.replica":                `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replica":2,"selector":{},"template":{}}}`,
		"Service spec.clusterIp":                 `{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"clusterIp":"None"}}`,
		"Kafka spec.kafka.replicas (gone in v1)": `{"apiVersion":"kafka.strimzi.io/v1","kind":"Kafka","metadata":{"name":"x"},"spec":{"kafka":{"replicas":3,"listeners":[]}}}`,
		"RabbitmqCluster spec.replica":           `{"apiVersion":"rabbitmq.com/v1beta1","kind":"RabbitmqCluster","metadata":{"name":"x"},"spec":{"replica":3}}`,
		"Application syncPolicy.automated.prun":  `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"x"},"spec":{"project":"p","destination":{},"syncPolicy":{"automated":{"prun":true}}}}`,
		"unknown kind":                           `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"x"}}`,
	}
	for name, doc := range cases {
		if _, err := Decode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// ---- shell scripts ----

func runShellcheck(t *testing.T, files []string) {
	t.Helper()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is not installed (apt-get install shellcheck); the test runner installs it")
	}
	args := append([]string{"-x", "-S", "style"}, files...)
	out, err := exec.Command("shellcheck", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck:\n%s", out)
	}
}

func TestShellScriptsPassShellcheck(t *testing.T) {
	overlays(t)
	var files []string
	_ = filepath.WalkDir(p3, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "target" || d.Name() == ".venv" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".sh") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("no shell scripts found under proyecto3")
	}
	t.Logf("%d scripts", len(files))
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is not installed (apt-get install shellcheck); the test runner installs it")
	}
	// One run over every script (shellcheck starts slowly); sourced files resolve from each
	// script's own folder.
	cmd := exec.Command("shellcheck", append([]string{"-x", "-P", "SCRIPTDIR", "-S", "style"}, files...)...)
	cmd.Dir = p3
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck (every *.sh under proyecto3/ must pass, at every severity):\n%s", out)
	}
}

// Components combine: Valkey HPA on top of writers-2 (an overlay nobody has to write in advance)
// renders to both changes and still meets every invariant.
func TestComponentsCombine(t *testing.T) {
	overlays(t)
	dir := t.TempDir()
	rel := func(p ...string) string {
		r, err := filepath.Rel(dir, filepath.Join(append([]string{p3, "kustomize"}, p...)...))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	doc := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - " + rel("base") +
		"\ncomponents:\n  - " + rel("components", "writers-2") + "\n  - " + rel("components", "valkey-hpa") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := RenderObjects(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range CheckApp(objs, Expect{WriterReplicas: 2, ValkeyHPA: true}, contractEnv(t)) {
		t.Error(msg)
	}
	for _, msg := range CheckValkeyHPADiff(overlays(t)["writers-2"], objs) {
		t.Error(msg)
	}
}
