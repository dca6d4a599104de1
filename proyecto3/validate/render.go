// Package validate renders the Kustomize trees of proyecto3 in-process and checks what a cluster
// would receive: every object decodes strictly into its type, and the design's invariants hold.
// No cluster and no network are needed.
package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ZotHost is the registry every image of ours must come from (set once, in the base's images:).
const ZotHost = "zot.tweets.internal:5000/"

// AppNamespace is where the application, its brokers and Valkey live.
const AppNamespace = "tweets"

// Object is one rendered manifest: its identity, its JSON, and its strictly decoded value
// (a client-go type for built-in kinds, a local struct from crds.go for custom resources).
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	JSON       []byte
	Typed      any
}

// ID is a stable key for diffs between overlays.
func (o Object) ID() string {
	return fmt.Sprintf("%s/%s/%s/%s", o.APIVersion, o.Kind, o.Namespace, o.Name)
}

// Proyecto3 returns the absolute path of the proyecto3 folder (this module lives in it).
func Proyecto3() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if filepath.Base(d) == "proyecto3" {
			return d, nil
		}
		if _, err := os.Stat(filepath.Join(d, "proyecto3", "kustomize")); err == nil {
			return filepath.Join(d, "proyecto3"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("proyecto3 not found above %s", wd)
		}
	}
}

// Render runs kustomize (the library Argo CD and kubectl embed) on dir and returns every
// resource as JSON, in output order. Load restrictions are off exactly as Argo CD is configured
// (`kustomize.buildOptions: --load-restrictor LoadRestrictionsNone`), because the dashboard
// ConfigMap is generated from proyecto3/grafana/dashboards/tweets.json.
func Render(dir string) ([][]byte, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out [][]byte
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, b)
	}
	return out, nil
}

var strictSerializer = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	kjson.SerializerOptions{Yaml: false, Pretty: false, Strict: true})

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// Decode turns one rendered JSON document into an Object, strictly: an unknown or duplicated
// field is an error. Built-in kinds go through client-go's scheme; custom resources through the
// local structs of crds.go (DisallowUnknownFields). A kind we do not know is an error too.
func Decode(b []byte) (Object, error) {
	var tm typeMeta
	if err := json.Unmarshal(b, &tm); err != nil {
		return Object{}, err
	}
	o := Object{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: tm.Metadata.Name, Namespace: tm.Metadata.Namespace, JSON: b}
	id := o.APIVersion + " " + o.Kind + " " + o.Name
	if newCR, ok := customKinds[o.APIVersion+"/"+o.Kind]; ok {
		v := newCR()
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return o, fmt.Errorf("%s: strict decode: %w", id, err)
		}
		o.Typed = v
		return o, nil
	}
	obj, _, err := strictSerializer.Decode(b, nil, nil)
	if err != nil {
		return o, fmt.Errorf("%s: strict decode: %w", id, err)
	}
	if _, isUnknown := obj.(*runtime.Unknown); isUnknown {
		return o, fmt.Errorf("%s: no Go type for this kind", id)
	}
	o.Typed = obj
	return o, nil
}

// RenderObjects renders dir and decodes every object strictly.
func RenderObjects(dir string) ([]Object, error) {
	docs, err := Render(dir)
	if err != nil {
		return nil, err
	}
	var objs []Object
	var errs []string
	for _, b := range docs {
		o, err := Decode(b)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return objs, fmt.Errorf("%s:\n  %s", dir, strings.Join(errs, "\n  "))
	}
	return objs, nil
}

// KustomizationDirs lists every folder under root that holds a kustomization file.
func KustomizationDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch d.Name() {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	sort.Strings(dirs)
	return dirs, err
}
