package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Diff compares two renders by object identity: ids only in b (added), only in a (removed), and
// in both with different content (changed).
func Diff(a, b []Object) (added, removed, changed []string) {
	am, bm := index(a), index(b)
	for id, ob := range bm {
		oa, ok := am[id]
		switch {
		case !ok:
			added = append(added, id)
		case !sameJSON(oa.JSON, ob.JSON):
			changed = append(changed, id)
		}
	}
	for id := range am {
		if _, ok := bm[id]; !ok {
			removed = append(removed, id)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	sort.Strings(changed)
	return
}

func index(objs []Object) map[string]Object {
	m := map[string]Object{}
	for _, o := range objs {
		m[o.ID()] = o
	}
	return m
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

// CheckValkeyHPADiff: the valkey-hpa overlay is writers-1 plus exactly one HPA on the Valkey
// StatefulSet, and nothing else.
func CheckValkeyHPADiff(writers1, valkeyHPA []Object) []string {
	var v []string
	added, removed, changed := Diff(writers1, valkeyHPA)
	if len(removed) > 0 || len(changed) > 0 {
		v = append(v, fmt.Sprintf("valkey-hpa vs writers-1: must only add; removed %v changed %v", removed, changed))
	}
	if len(added) != 1 || added[0] != "autoscaling/v2/HorizontalPodAutoscaler/tweets/valkey" {
		v = append(v, fmt.Sprintf("valkey-hpa vs writers-1: want exactly one added HPA tweets/valkey, got %v", added))
	}
	return v
}

// CheckWriters2Diff: writers-2 is writers-1 with both writer Deployments at 2 replicas and a
// PodDisruptionBudget for each; nothing else.
func CheckWriters2Diff(writers1, writers2 []Object) []string {
	var v []string
	added, removed, changed := Diff(writers1, writers2)
	wantAdded := []string{"policy/v1/PodDisruptionBudget/tweets/writer-kafka", "policy/v1/PodDisruptionBudget/tweets/writer-rabbitmq"}
	wantChanged := []string{"apps/v1/Deployment/tweets/writer-kafka", "apps/v1/Deployment/tweets/writer-rabbitmq"}
	if fmt.Sprint(added) != fmt.Sprint(wantAdded) || len(removed) > 0 || fmt.Sprint(changed) != fmt.Sprint(wantChanged) {
		v = append(v, fmt.Sprintf("writers-2 vs writers-1: want added %v and changed %v only; got added %v removed %v changed %v",
			wantAdded, wantChanged, added, removed, changed))
	}
	// The writer Deployments may differ only in spec.replicas.
	w1 := index(writers1)
	for _, o := range writers2 {
		if o.Kind != "Deployment" || (o.Name != "writer-kafka" && o.Name != "writer-rabbitmq") {
			continue
		}
		a, b := map[string]any{}, map[string]any{}
		_ = json.Unmarshal(w1[o.ID()].JSON, &a)
		_ = json.Unmarshal(o.JSON, &b)
		delete(a["spec"].(map[string]any), "replicas")
		delete(b["spec"].(map[string]any), "replicas")
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			v = append(v, fmt.Sprintf("writers-2: Deployment %s differs from writers-1 in more than spec.replicas", o.Name))
		}
	}
	return v
}
