package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Waves: operators (and their CRDs) before the application and Grafana.
var wantWave = map[string]int{
	"strimzi":           0,
	"rabbitmq-operator": 0,
	"ingress-nginx":     0,
	"tweets":            1,
	"grafana":           1,
}

var semver = regexp.MustCompile(`^v?\d+\.\d+\.\d+$`)

// CheckArgoCD checks the rendered children of the root Application (proyecto3/argocd/apps).
// p3 is the proyecto3 folder, used to check that Git paths exist.
func CheckArgoCD(objs []Object, p3 string) []string {
	var v []string
	bad := func(format string, a ...any) { v = append(v, fmt.Sprintf(format, a...)) }

	proj := find[*AppProject](objs, "tweets")
	if proj == nil {
		bad("AppProject tweets missing")
		return v
	}
	if w := proj.Metadata.Annotations["argocd.argoproj.io/sync-wave"]; w == "" || mustInt(w) >= 0 {
		bad("AppProject tweets: sync-wave %q must come before every Application (negative)", w)
	}
	apps := all[*Application](objs)
	seen := map[string]bool{}
	var selfRepo string
	for _, a := range apps {
		name := a.Metadata.Name
		seen[name] = true
		s := a.Spec.Source
		if a.Metadata.Namespace != "argocd" {
			bad("Application %s: must live in namespace argocd", name)
		}
		if a.Spec.Project != "tweets" {
			bad("Application %s: project %q, want tweets", name, a.Spec.Project)
		}
		if s == nil {
			bad("Application %s: no source", name)
			continue
		}
		sp := a.Spec.SyncPolicy
		if sp == nil || sp.Automated == nil || !sp.Automated.Prune || !sp.Automated.SelfHeal {
			bad("Application %s: automated sync with prune and selfHeal is required", name)
		}
		if sp != nil && sp.Retry == nil {
			bad("Application %s: no sync retry", name)
		}
		want, known := wantWave[name]
		if !known {
			bad("Application %s: unknown child (add it to wantWave)", name)
		} else if w := a.Metadata.Annotations["argocd.argoproj.io/sync-wave"]; w == "" || mustInt(w) != want {
			bad("Application %s: sync-wave %q, want %d", name, w, want)
		}
		if !hasString(a.Metadata.Finalizers, "resources-finalizer.argocd.argoproj.io") {
			bad("Application %s: no resources finalizer (deleting it would orphan its resources)", name)
		}
		if !hasString(proj.Spec.SourceRepos, s.RepoURL) {
			bad("Application %s: repo %s is not in the AppProject's sourceRepos", name, s.RepoURL)
		}
		destOK := false
		for _, d := range proj.Spec.Destinations {
			destOK = destOK || (d.Namespace == a.Spec.Destination.Namespace && d.Server == a.Spec.Destination.Server)
		}
		if !destOK {
			bad("Application %s: destination %s not allowed by the AppProject", name, a.Spec.Destination.Namespace)
		}
		if a.Metadata.Labels["tweets.gitops/source"] == "this-repo" {
			if selfRepo == "" {
				selfRepo = s.RepoURL
			} else if selfRepo != s.RepoURL {
				bad("Application %s: repo %s differs from the other in-repo Applications (%s)", name, s.RepoURL, selfRepo)
			}
			if strings.Contains(s.RepoURL, "REPO_URL_SET_IN") || !strings.HasPrefix(s.RepoURL, "https://") {
				bad("Application %s: repoURL %q was not set by proyecto3/argocd/repo", name, s.RepoURL)
			}
			if !strings.HasPrefix(s.Path, "proyecto3/") {
				bad("Application %s: path %q is not inside proyecto3/", name, s.Path)
			} else if _, err := os.Stat(filepath.Join(filepath.Dir(p3), s.Path, "kustomization.yaml")); err != nil {
				bad("Application %s: path %s has no kustomization.yaml in this repository", name, s.Path)
			}
		} else if !semver.MatchString(s.TargetRevision) {
			bad("Application %s: chart version %q is not pinned", name, s.TargetRevision)
		}
	}
	for name := range wantWave {
		if !seen[name] {
			bad("Application %s missing", name)
		}
	}

	if a := find[*Application](objs, "tweets"); a != nil && a.Spec.Source != nil {
		const pre = "proyecto3/kustomize/overlays/"
		ov := strings.TrimPrefix(a.Spec.Source.Path, pre)
		if _, ok := Overlays[ov]; !ok || !strings.HasPrefix(a.Spec.Source.Path, pre) {
			bad("tweets: path %q is not one of the overlays", a.Spec.Source.Path)
		}
		if a.Spec.Destination.Namespace != AppNamespace {
			bad("tweets: destination namespace %q", a.Spec.Destination.Namespace)
		}
		ignored := false
		for _, d := range a.Spec.IgnoreDifferences {
			ignored = ignored || (d.Kind == "StatefulSet" && d.Name == "valkey" && hasString(d.JSONPointers, "/spec/replicas"))
		}
		if !ignored || a.Spec.SyncPolicy == nil || !hasString(a.Spec.SyncPolicy.SyncOptions, "RespectIgnoreDifferences=true") {
			bad("tweets: must ignore (and respect ignoring) /spec/replicas of StatefulSet valkey, or Argo CD fights the Valkey HPA")
		}
	}
	if a := find[*Application](objs, "strimzi"); a != nil && a.Spec.Source != nil {
		if a.Spec.Source.RepoURL != "oci://quay.io/strimzi-helm/strimzi-kafka-operator" || a.Spec.Source.Path != "." {
			bad("strimzi: must come from the OCI chart oci://quay.io/strimzi-helm/strimzi-kafka-operator (path .)")
		}
		if !versionAtLeast(a.Spec.Source.TargetRevision, 0, 49) {
			bad("strimzi: %s does not serve kafka.strimzi.io/v1 (needs >= 0.49)", a.Spec.Source.TargetRevision)
		}
		if a.Spec.SyncPolicy == nil || !hasString(a.Spec.SyncPolicy.SyncOptions, "ServerSideApply=true") {
			bad("strimzi: big CRDs need ServerSideApply=true")
		}
	}
	if a := find[*Application](objs, "rabbitmq-operator"); a != nil {
		if a.Spec.SyncPolicy == nil || !hasString(a.Spec.SyncPolicy.SyncOptions, "ServerSideApply=true") {
			bad("rabbitmq-operator: big CRDs need ServerSideApply=true")
		}
	}
	if a := find[*Application](objs, "ingress-nginx"); a != nil && a.Spec.Source != nil && a.Spec.Source.Helm != nil {
		c, _ := a.Spec.Source.Helm.ValuesObject["controller"].(map[string]any)
		icr, _ := c["ingressClassResource"].(map[string]any)
		if icr["name"] != "nginx" || icr["enabled"] != true {
			bad("ingress-nginx: must create IngressClass nginx")
		}
	}
	v = append(v, checkGrafana(find[*Application](objs, "grafana"))...)
	return v
}

func checkGrafana(a *Application) []string {
	var v []string
	bad := func(format string, x ...any) { v = append(v, fmt.Sprintf(format, x...)) }
	if a == nil || a.Spec.Source == nil || a.Spec.Source.Helm == nil {
		return []string{"grafana: Helm Application missing"}
	}
	s := a.Spec.Source
	if s.RepoURL != "https://grafana-community.github.io/helm-charts" || s.Chart != "grafana" {
		bad("grafana: must be chart grafana from https://grafana-community.github.io/helm-charts")
	}
	vals := s.Helm.ValuesObject
	if _, plain := vals["adminPassword"]; plain {
		bad("grafana: adminPassword in git")
	}
	if adm, _ := vals["admin"].(map[string]any); adm["existingSecret"] == nil || adm["existingSecret"] == "" {
		bad("grafana: the admin login must come from an existing Secret")
	}
	if !hasAny(vals["plugins"], "redis-datasource") {
		bad("grafana: plugin redis-datasource missing")
	}
	env, _ := vals["envValueFrom"].(map[string]any)
	pw, _ := env["VALKEY_PASSWORD"].(map[string]any)
	ref, _ := pw["secretKeyRef"].(map[string]any)
	if ref["name"] != "valkey-auth" || ref["key"] != "password" {
		bad("grafana: VALKEY_PASSWORD must come from Secret valkey-auth key password")
	}
	dsFile, _ := vals["datasources"].(map[string]any)
	dsy, _ := dsFile["datasources.yaml"].(map[string]any)
	dss, _ := dsy["datasources"].([]any)
	found := false
	for _, d := range dss {
		m, _ := d.(map[string]any)
		if m["type"] != "redis-datasource" {
			continue
		}
		found = true
		if u, _ := m["url"].(string); !strings.Contains(u, "valkey-primary.tweets.svc:6379") {
			bad("grafana: Valkey datasource url %q, want valkey-primary.tweets.svc:6379", u)
		}
		sec, _ := m["secureJsonData"].(map[string]any)
		if p, _ := sec["password"].(string); p != "$VALKEY_PASSWORD" && p != "${VALKEY_PASSWORD}" {
			bad("grafana: datasource password must be $VALKEY_PASSWORD (from the Secret), got %q", p)
		}
	}
	if !found {
		bad("grafana: no redis-datasource datasource")
	}
	sc, _ := vals["sidecar"].(map[string]any)
	db, _ := sc["dashboards"].(map[string]any)
	if db["enabled"] != true || db["label"] != "grafana_dashboard" || db["labelValue"] != "1" {
		bad("grafana: sidecar.dashboards must be enabled for label grafana_dashboard=1")
	}
	if ns, _ := db["searchNamespace"].(string); ns != "ALL" && !strings.Contains(ns, AppNamespace) {
		bad("grafana: sidecar.dashboards.searchNamespace %q does not include %s", ns, AppNamespace)
	}
	return v
}

func mustInt(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 1 << 30
	}
	return n
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAny(list any, s string) bool {
	l, _ := list.([]any)
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func versionAtLeast(v string, major, minor int) bool {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 {
		return false
	}
	ma, minr := mustInt(parts[0]), mustInt(parts[1])
	return ma > major || (ma == major && minr >= minor)
}
