package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Expect is what differs between overlays.
type Expect struct {
	WriterReplicas int32 // replicas of writer-kafka and of writer-rabbitmq
	ValkeyHPA      bool  // the valkey-hpa component is in
}

// Overlays and what each must render to.
var Overlays = map[string]Expect{
	"writers-1":  {WriterReplicas: 1},
	"writers-2":  {WriterReplicas: 2},
	"valkey-hpa": {WriterReplicas: 1, ValkeyHPA: true},
}

// workload is a pod template with its owner's identity.
type workload struct {
	kind, name string
	replicas   *int32
	labels     map[string]string
	pod        *corev1.PodSpec
}

func workloads(objs []Object) []workload {
	var ws []workload
	for _, o := range objs {
		switch t := o.Typed.(type) {
		case *appsv1.Deployment:
			ws = append(ws, workload{"Deployment", t.Name, t.Spec.Replicas, t.Spec.Template.Labels, &t.Spec.Template.Spec})
		case *appsv1.StatefulSet:
			ws = append(ws, workload{"StatefulSet", t.Name, t.Spec.Replicas, t.Spec.Template.Labels, &t.Spec.Template.Spec})
		case *appsv1.DaemonSet:
			ws = append(ws, workload{"DaemonSet", t.Name, nil, t.Spec.Template.Labels, &t.Spec.Template.Spec})
		}
	}
	return ws
}

func find[T any](objs []Object, name string) T {
	var zero T
	for _, o := range objs {
		if t, ok := o.Typed.(T); ok && o.Name == name {
			return t
		}
	}
	return zero
}

func all[T any](objs []Object) []T {
	var out []T
	for _, o := range objs {
		if t, ok := o.Typed.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// CheckApp checks a rendered overlay of the application and returns every violation found.
func CheckApp(objs []Object, exp Expect, contractEnv map[string]bool) []string {
	var v []string
	bad := func(format string, a ...any) { v = append(v, fmt.Sprintf(format, a...)) }

	v = append(v, checkNamespaces(objs)...)
	v = append(v, checkContainers(objs)...)
	v = append(v, checkImages(objs)...)
	v = append(v, checkSecrets(objs)...)
	v = append(v, checkPDBs(objs)...)
	if contractEnv != nil {
		v = append(v, checkEnvNames(objs, contractEnv)...)
	}

	// api HPA: autoscaling/v2, Deployment api, 1..3 at 30% CPU, nothing else.
	hpas := all[*autoscalingv2.HorizontalPodAutoscaler](objs)
	var apiHPA *autoscalingv2.HorizontalPodAutoscaler
	for _, h := range hpas {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == "api" {
			apiHPA = h
		}
	}
	switch {
	case apiHPA == nil:
		bad("api: no HorizontalPodAutoscaler targets Deployment api")
	default:
		h := apiHPA.Spec
		if h.MinReplicas == nil || *h.MinReplicas != 1 || h.MaxReplicas != 3 {
			bad("api HPA: want minReplicas 1 and maxReplicas 3, got %v..%d", deref(h.MinReplicas), h.MaxReplicas)
		}
		if h.ScaleTargetRef.APIVersion != "apps/v1" {
			bad("api HPA: scaleTargetRef apiVersion %q", h.ScaleTargetRef.APIVersion)
		}
		if len(h.Metrics) != 1 || h.Metrics[0].Type != autoscalingv2.ResourceMetricSourceType || h.Metrics[0].Resource == nil ||
			h.Metrics[0].Resource.Name != corev1.ResourceCPU || h.Metrics[0].Resource.Target.Type != autoscalingv2.UtilizationMetricType ||
			h.Metrics[0].Resource.Target.AverageUtilization == nil || *h.Metrics[0].Resource.Target.AverageUtilization != 30 {
			bad("api HPA: want exactly one metric, CPU Utilization 30%%")
		}
	}
	if d := find[*appsv1.Deployment](objs, "api"); d == nil {
		bad("api: Deployment missing")
	} else if d.Spec.Replicas != nil {
		bad("api: Deployment sets replicas (%d); the HPA owns it", *d.Spec.Replicas)
	}

	// Valkey HPA only in the valkey-hpa overlay, and then exactly one, on the StatefulSet.
	var valkeyHPAs int
	for _, h := range hpas {
		if h.Spec.ScaleTargetRef.Kind == "StatefulSet" && h.Spec.ScaleTargetRef.Name == "valkey" && h.Spec.ScaleTargetRef.APIVersion == "apps/v1" {
			valkeyHPAs++
		} else if h != apiHPA {
			bad("HPA %s: unexpected target %s/%s", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
		}
	}
	if exp.ValkeyHPA && valkeyHPAs != 1 {
		bad("valkey-hpa: want exactly 1 HPA on StatefulSet valkey, got %d", valkeyHPAs)
	}
	if !exp.ValkeyHPA && valkeyHPAs != 0 {
		bad("an HPA on Valkey is present in an overlay that must not have it")
	}

	// Writers: replicas per overlay, one image with --broker, headless Services, gRPC probes.
	for _, b := range []string{"kafka", "rabbitmq"} {
		name := "writer-" + b
		d := find[*appsv1.Deployment](objs, name)
		if d == nil {
			bad("%s: Deployment missing", name)
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != exp.WriterReplicas {
			bad("%s: want replicas %d, got %v", name, exp.WriterReplicas, deref(d.Spec.Replicas))
		}
		c := d.Spec.Template.Spec.Containers[0]
		if !strings.HasSuffix(imageRepo(c.Image), "/tweets/writer") {
			bad("%s: image %q is not the shared writer image", name, c.Image)
		}
		if strings.Join(c.Args, " ") != "--broker "+b {
			bad("%s: args %q, want --broker %s", name, c.Args, b)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.GRPC == nil || c.ReadinessProbe.GRPC.Port != 50051 {
			bad("%s: readiness must be a native grpc probe on 50051", name)
		}
		svc := find[*corev1.Service](objs, name+"-headless")
		if svc == nil {
			bad("%s: Service %s-headless missing", name, name)
		} else {
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				bad("Service %s: must be headless (clusterIP: None), got %q", svc.Name, svc.Spec.ClusterIP)
			}
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 50051 {
				bad("Service %s: want one port 50051", svc.Name)
			}
			if svc.Spec.Selector["app.kubernetes.io/name"] != name {
				bad("Service %s: selector does not pick %s", svc.Name, name)
			}
		}
	}
	for _, s := range all[*corev1.Service](objs) {
		if strings.HasPrefix(s.Name, "writer-") && s.Spec.ClusterIP != corev1.ClusterIPNone {
			bad("Service %s: writers are reached only through headless Services", s.Name)
		}
	}
	if g := find[*appsv1.Deployment](objs, "gateway"); g == nil {
		bad("gateway: Deployment missing")
	} else {
		env := envMap(g.Spec.Template.Spec.Containers[0])
		for k, want := range map[string]string{
			"WRITER_KAFKA":    "dns:///writer-kafka-headless.tweets.svc.cluster.local:50051",
			"WRITER_RABBITMQ": "dns:///writer-rabbitmq-headless.tweets.svc.cluster.local:50051",
		} {
			if env[k] != want {
				bad("gateway: %s=%q, want %q", k, env[k], want)
			}
		}
	}

	// Ingress: class nginx, / -> api:8080.
	ings := all[*networkingv1.Ingress](objs)
	if len(ings) != 1 {
		bad("want exactly one Ingress, got %d", len(ings))
	}
	for _, in := range ings {
		if in.Spec.IngressClassName == nil || *in.Spec.IngressClassName != "nginx" {
			bad("Ingress %s: ingressClassName must be nginx", in.Name)
		}
		ok := false
		for _, r := range in.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Path == "/" && p.Backend.Service != nil && p.Backend.Service.Name == "api" && p.Backend.Service.Port.Number == 8080 {
					ok = true
				}
			}
		}
		if !ok {
			bad("Ingress %s: no path / to service api:8080", in.Name)
		}
	}

	v = append(v, checkValkey(objs)...)
	v = append(v, checkBrokers(objs)...)
	v = append(v, checkDashboard(objs)...)
	v = append(v, checkNetworkPolicies(objs)...)
	v = append(v, CheckDataPath(objs)...)
	return v
}

func deref(p *int32) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func envMap(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func imageRepo(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i]
	}
	return image
}

func checkNamespaces(objs []Object) []string {
	var v []string
	for _, o := range objs {
		switch o.Kind {
		case "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition":
			continue
		}
		if o.Namespace != AppNamespace {
			v = append(v, fmt.Sprintf("%s %s: namespace %q, want %q", o.Kind, o.Name, o.Namespace, AppNamespace))
		}
	}
	return v
}

// checkContainers: probes, requests+limits, and the hardened securityContext on every container
// (init containers included) of every workload.
func checkContainers(objs []Object) []string {
	var v []string
	for _, w := range workloads(objs) {
		ps := w.pod.SecurityContext
		all := append(append([]corev1.Container{}, w.pod.InitContainers...), w.pod.Containers...)
		if len(w.pod.Containers) == 0 {
			v = append(v, fmt.Sprintf("%s %s: no containers", w.kind, w.name))
		}
		for i, c := range all {
			id := fmt.Sprintf("%s %s container %s", w.kind, w.name, c.Name)
			isInit := i < len(w.pod.InitContainers)
			if !isInit {
				if c.ReadinessProbe == nil {
					v = append(v, id+": no readinessProbe")
				}
				if c.LivenessProbe == nil {
					v = append(v, id+": no livenessProbe")
				}
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := c.Resources.Requests[r]; !ok || q.IsZero() {
					v = append(v, fmt.Sprintf("%s: no %s request", id, r))
				}
				if q, ok := c.Resources.Limits[r]; !ok || q.IsZero() {
					v = append(v, fmt.Sprintf("%s: no %s limit", id, r))
				}
			}
			sc := c.SecurityContext
			if sc == nil {
				v = append(v, id+": no securityContext")
				continue
			}
			nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && ps != nil && ps.RunAsNonRoot != nil && *ps.RunAsNonRoot)
			if !nonRoot {
				v = append(v, id+": runAsNonRoot is not true")
			}
			if uid := sc.RunAsUser; uid != nil && *uid == 0 {
				v = append(v, id+": runAsUser 0")
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				v = append(v, id+": readOnlyRootFilesystem is not true")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				v = append(v, id+": allowPrivilegeEscalation is not false")
			}
			if sc.Privileged != nil && *sc.Privileged {
				v = append(v, id+": privileged")
			}
			dropAll := false
			if sc.Capabilities != nil {
				for _, d := range sc.Capabilities.Drop {
					dropAll = dropAll || d == "ALL"
				}
				if len(sc.Capabilities.Add) > 0 {
					v = append(v, id+": adds capabilities")
				}
			}
			if !dropAll {
				v = append(v, id+": capabilities do not drop ALL")
			}
			seccomp := sc.SeccompProfile
			if seccomp == nil && ps != nil {
				seccomp = ps.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				v = append(v, id+": seccompProfile is not RuntimeDefault")
			}
		}
	}
	return v
}

func checkImages(objs []Object) []string {
	var v []string
	for _, w := range workloads(objs) {
		for _, c := range append(append([]corev1.Container{}, w.pod.InitContainers...), w.pod.Containers...) {
			id := fmt.Sprintf("%s %s container %s", w.kind, w.name, c.Name)
			if !strings.HasPrefix(c.Image, ZotHost) {
				v = append(v, fmt.Sprintf("%s: image %q is not from the Zot registry %s", id, c.Image, ZotHost))
			}
			rest := strings.TrimPrefix(c.Image, ZotHost)
			if !strings.Contains(rest, ":") && !strings.Contains(rest, "@sha256:") {
				v = append(v, fmt.Sprintf("%s: image %q has no tag", id, c.Image))
			}
			if strings.HasSuffix(c.Image, ":latest") {
				v = append(v, fmt.Sprintf("%s: image %q uses latest", id, c.Image))
			}
		}
	}
	return v
}

var secretish = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|USERNAME|API_?KEY|CREDENTIAL)`)

// checkSecrets: no Secret object in git, and every secret-looking env var comes from a Secret.
func checkSecrets(objs []Object) []string {
	var v []string
	for _, o := range objs {
		if o.Kind == "Secret" {
			v = append(v, fmt.Sprintf("Secret %s is rendered from git: secrets are made by operators or by the bootstrap script", o.Name))
		}
		if strings.Contains(strings.ToLower(string(o.JSON)), "guest") {
			v = append(v, fmt.Sprintf("%s %s mentions guest credentials", o.Kind, o.Name))
		}
	}
	for _, w := range workloads(objs) {
		for _, c := range append(append([]corev1.Container{}, w.pod.InitContainers...), w.pod.Containers...) {
			for _, e := range c.Env {
				if !secretish.MatchString(e.Name) {
					continue
				}
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					v = append(v, fmt.Sprintf("%s %s container %s: env %s must come from a secretKeyRef", w.kind, w.name, c.Name, e.Name))
				}
			}
			for _, a := range append(append([]string{}, c.Command...), c.Args...) {
				if secretish.MatchString(a) && strings.Contains(a, "=") {
					v = append(v, fmt.Sprintf("%s %s container %s: secret-looking argument %q", w.kind, w.name, c.Name, a))
				}
			}
		}
	}
	return v
}

// checkPDBs: every workload that can run more than one pod has a PodDisruptionBudget.
func checkPDBs(objs []Object) []string {
	var v []string
	pdbs := all[*policyv1.PodDisruptionBudget](objs)
	scaled := map[string]bool{}
	for _, h := range all[*autoscalingv2.HorizontalPodAutoscaler](objs) {
		if h.Spec.MaxReplicas > 1 {
			scaled[h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name] = true
		}
	}
	for _, w := range workloads(objs) {
		if w.kind == "DaemonSet" {
			continue
		}
		if !(scaled[w.kind+"/"+w.name] || (w.replicas != nil && *w.replicas > 1)) {
			continue
		}
		covered := false
		for _, p := range pdbs {
			if p.Spec.Selector == nil || len(p.Spec.Selector.MatchLabels) == 0 {
				continue
			}
			match := true
			for k, val := range p.Spec.Selector.MatchLabels {
				if w.labels[k] != val {
					match = false
				}
			}
			covered = covered || match
		}
		if !covered {
			v = append(v, fmt.Sprintf("%s %s: more than one replica but no PodDisruptionBudget", w.kind, w.name))
		}
	}
	return v
}

// checkEnvNames: the Go services only use env names that contracts.md defines; the api only
// names that its config reads (contract entries prefixed "api:").
func checkEnvNames(objs []Object, contract map[string]bool) []string {
	var v []string
	for _, w := range workloads(objs) {
		if w.name == "valkey" {
			continue
		}
		if w.name == "api" {
			for _, c := range w.pod.Containers {
				for _, e := range c.Env {
					if !contract["api:"+e.Name] {
						v = append(v, fmt.Sprintf("%s %s: env %s is not read by the api (src/api/src/config.rs)", w.kind, w.name, e.Name))
					}
				}
			}
			continue
		}
		for _, c := range w.pod.Containers {
			for _, e := range c.Env {
				if e.Name == "GOMEMLIMIT" || e.Name == "GODEBUG" { // Go runtime settings, not flags
					continue
				}
				if !contract[e.Name] {
					v = append(v, fmt.Sprintf("%s %s: env %s is not in docs/contracts.md", w.kind, w.name, e.Name))
				}
			}
		}
	}
	return v
}

var flagRe = regexp.MustCompile("`--([a-z][a-z0-9-]*)`")
var envRe = regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")

// ContractEnv reads docs/contracts.md: every flag of the configuration table, as its env name,
// plus the secret env names the page lists.
func ContractEnv(p3 string) (map[string]bool, error) {
	b, err := os.ReadFile(filepath.Join(p3, "docs", "contracts.md"))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.Index(s, "## Configuration")
	if i < 0 {
		return nil, fmt.Errorf("contracts.md: no Configuration section")
	}
	s = s[i:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	env := map[string]bool{}
	for _, m := range flagRe.FindAllStringSubmatch(s, -1) {
		env[strings.ToUpper(strings.ReplaceAll(m[1], "-", "_"))] = true
	}
	for _, m := range envRe.FindAllStringSubmatch(s, -1) {
		env[m[1]] = true
	}
	// The api (Rust) reads its configuration in src/api/src/config.rs: get("NAME").
	api, err := os.ReadFile(filepath.Join(p3, "src", "api", "src", "config.rs"))
	if err != nil {
		return nil, fmt.Errorf("the api's env names: %w", err)
	}
	for _, m := range apiEnvRe.FindAllStringSubmatch(string(api), -1) {
		env["api:"+m[1]] = true
	}
	return env, nil
}

var apiEnvRe = regexp.MustCompile(`get\("([A-Z][A-Z0-9_]+)"\)`)

func checkValkey(objs []Object) []string {
	var v []string
	bad := func(format string, a ...any) { v = append(v, fmt.Sprintf(format, a...)) }
	ss := find[*appsv1.StatefulSet](objs, "valkey")
	if ss == nil {
		return []string{"valkey: StatefulSet missing"}
	}
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 2 {
		bad("valkey: want 2 replicas (primary + replica), got %v", deref(ss.Spec.Replicas))
	}
	if ss.Spec.ServiceName != "valkey-headless" {
		bad("valkey: serviceName %q, want valkey-headless", ss.Spec.ServiceName)
	}
	var pvc bool
	for _, t := range ss.Spec.VolumeClaimTemplates {
		if t.Name == "data" {
			if q, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]; ok && !q.IsZero() {
				pvc = true
			}
		}
	}
	if !pvc {
		bad("valkey: no volumeClaimTemplate `data` with a storage request")
	}
	c := ss.Spec.Template.Spec.Containers[0]
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.Name == "data" && m.MountPath == "/data" {
			mounted = true
		}
	}
	if !mounted {
		bad("valkey: the data PVC is not mounted at /data")
	}
	if !strings.HasSuffix(imageRepo(c.Image), "/valkey/valkey") || !regexp.MustCompile(`:8\.\d+\.\d+$`).MatchString(c.Image) {
		bad("valkey: image %q is not a pinned official valkey/valkey 8.x", c.Image)
	}
	var pw bool
	for _, e := range c.Env {
		if e.Name == "VALKEY_PASSWORD" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
			e.ValueFrom.SecretKeyRef.Name == "valkey-auth" && e.ValueFrom.SecretKeyRef.Key == "password" {
			pw = true
		}
	}
	if !pw {
		bad("valkey: VALKEY_PASSWORD must come from Secret valkey-auth key password")
	}
	cm := find[*corev1.ConfigMap](objs, "valkey-scripts")
	if cm == nil {
		bad("valkey: ConfigMap valkey-scripts missing")
	} else {
		s := cm.Data["start.sh"]
		for _, want := range []string{"appendonly yes", "replicaof valkey-0.valkey-headless 6379", `ordinal="${POD_NAME##*-}"`, "requirepass", "masterauth", "dir /data"} {
			if !strings.Contains(s, want) {
				bad("valkey start.sh: missing %q", want)
			}
		}
	}
	prim := find[*corev1.Service](objs, "valkey-primary")
	if prim == nil || prim.Spec.Selector["statefulset.kubernetes.io/pod-name"] != "valkey-0" {
		bad("valkey-primary: must select pod valkey-0 only")
	}
	if find[*corev1.Service](objs, "valkey-read") == nil {
		bad("valkey-read: Service missing")
	}
	if h := find[*corev1.Service](objs, "valkey-headless"); h == nil || h.Spec.ClusterIP != corev1.ClusterIPNone {
		bad("valkey-headless: must exist and be headless")
	}
	if find[*policyv1.PodDisruptionBudget](objs, "valkey") == nil {
		bad("valkey: PodDisruptionBudget missing")
	}
	return v
}

func checkBrokers(objs []Object) []string {
	var v []string
	bad := func(format string, a ...any) { v = append(v, fmt.Sprintf(format, a...)) }
	k := find[*Kafka](objs, "tweets-kafka")
	if k == nil {
		bad("Kafka tweets-kafka missing (kafka.strimzi.io/v1)")
	} else {
		plain := false
		for _, l := range k.Spec.Kafka.Listeners {
			if l.Name == "plain" && l.Port == 9092 && l.Type == "internal" && !l.TLS {
				plain = true
			}
		}
		if !plain {
			bad("Kafka: no internal plain listener on 9092 (tweets-kafka-kafka-bootstrap:9092)")
		}
		if k.Spec.EntityOperator == nil || k.Spec.EntityOperator.TopicOperator == nil {
			bad("Kafka: the topic operator must run (KafkaTopic weather-tweets)")
		}
	}
	pools := all[*KafkaNodePool](objs)
	if len(pools) == 0 {
		bad("no KafkaNodePool")
	}
	roles := map[string]bool{}
	for _, p := range pools {
		if p.Metadata.Labels["strimzi.io/cluster"] != "tweets-kafka" {
			bad("KafkaNodePool %s: label strimzi.io/cluster must be tweets-kafka", p.Metadata.Name)
		}
		for _, r := range p.Spec.Roles {
			roles[r] = true
		}
		persistent := p.Spec.Storage.Type == "persistent-claim"
		if p.Spec.Storage.Type == "jbod" {
			for _, vol := range p.Spec.Storage.Volumes {
				persistent = persistent || vol.Type == "persistent-claim"
			}
		}
		if !persistent {
			bad("KafkaNodePool %s: storage must be persistent-claim", p.Metadata.Name)
		}
	}
	if !roles["controller"] || !roles["broker"] {
		bad("KafkaNodePools: KRaft needs both controller and broker roles")
	}
	t := find[*KafkaTopic](objs, "weather-tweets")
	if t == nil || t.Spec.Partitions != 6 || t.Metadata.Labels["strimzi.io/cluster"] != "tweets-kafka" {
		bad("KafkaTopic weather-tweets: want 6 partitions on tweets-kafka")
	}
	if r := find[*RabbitmqCluster](objs, "tweets-rabbitmq"); r == nil {
		bad("RabbitmqCluster tweets-rabbitmq missing")
	} else if msg := checkRabbitWAL(r); msg != "" {
		bad("RabbitmqCluster tweets-rabbitmq: %s", msg)
	}
	return v
}

// checkRabbitWAL: quorum queues hold the whole write-ahead log in memory until it rolls over at
// raft.wal_max_size_bytes (default 512 MiB), and RabbitMQ's guidance is a node memory of at
// least 3-4 times that limit. The pods' memory limit must therefore be >= 4 x the WAL limit,
// which must be set (the default needs 2 GiB).
func checkRabbitWAL(r *RabbitmqCluster) string {
	var limit resource.Quantity
	if res := r.Spec.Resources; res != nil {
		limit = res.Limits[corev1.ResourceMemory]
	}
	if limit.IsZero() {
		return "no memory limit"
	}
	wal := int64(0)
	if r.Spec.Rabbitmq != nil {
		for _, line := range strings.Split(r.Spec.Rabbitmq.AdditionalConfig, "\n") {
			key, val, ok := strings.Cut(line, "=")
			if ok && strings.TrimSpace(key) == "raft.wal_max_size_bytes" {
				n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
				if err != nil {
					return fmt.Sprintf("raft.wal_max_size_bytes %q is not a number of bytes", strings.TrimSpace(val))
				}
				wal = n
			}
		}
	}
	if wal == 0 {
		return "raft.wal_max_size_bytes not set in spec.rabbitmq.additionalConfig (the default, 512 MiB, needs 2 GiB of memory)"
	}
	if 4*wal > limit.Value() {
		return fmt.Sprintf("raft.wal_max_size_bytes %d is more than a quarter of the memory limit %s", wal, limit.String())
	}
	return ""
}

func checkDashboard(objs []Object) []string {
	cm := find[*corev1.ConfigMap](objs, "grafana-dashboard-tweets")
	if cm == nil {
		return []string{"grafana-dashboard-tweets ConfigMap missing"}
	}
	var v []string
	if cm.Labels["grafana_dashboard"] != "1" {
		v = append(v, "grafana-dashboard-tweets: label grafana_dashboard=\"1\" missing")
	}
	if _, ok := cm.Data["tweets.json"]; !ok {
		v = append(v, "grafana-dashboard-tweets: key tweets.json missing")
	}
	return v
}

// checkNetworkPolicies: each of our workloads is selected by a deny-all policy, and DNS is open.
func checkNetworkPolicies(objs []Object) []string {
	var v []string
	nps := all[*networkingv1.NetworkPolicy](objs)
	names := map[string]bool{}
	for _, w := range workloads(objs) {
		names[w.labels["app.kubernetes.io/name"]] = true
	}
	isolated := map[string]bool{}
	dns := map[string]bool{}
	for _, np := range nps {
		var sel []string
		if vals, ok := np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"]; ok {
			sel = append(sel, vals)
		}
		for _, e := range np.Spec.PodSelector.MatchExpressions {
			if e.Key == "app.kubernetes.io/name" && e.Operator == "In" {
				sel = append(sel, e.Values...)
			}
		}
		hasIn, hasEg := false, false
		for _, t := range np.Spec.PolicyTypes {
			hasIn = hasIn || t == networkingv1.PolicyTypeIngress
			hasEg = hasEg || t == networkingv1.PolicyTypeEgress
		}
		for _, s := range sel {
			if hasIn && hasEg && len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 {
				isolated[s] = true
			}
			for _, e := range np.Spec.Egress {
				for _, p := range e.Ports {
					if p.Port != nil && p.Port.IntValue() == 53 {
						dns[s] = true
					}
				}
			}
		}
	}
	var ws []string
	for n := range names {
		ws = append(ws, n)
	}
	sort.Strings(ws)
	for _, n := range ws {
		if !isolated[n] {
			v = append(v, fmt.Sprintf("NetworkPolicy: %s is not covered by a deny-all policy", n))
		}
		if !dns[n] {
			v = append(v, fmt.Sprintf("NetworkPolicy: %s has no DNS egress", n))
		}
	}
	return v
}
