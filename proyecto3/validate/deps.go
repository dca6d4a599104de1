package validate

import (
	_ "k8s.io/client-go/kubernetes/scheme"
	_ "sigs.k8s.io/kustomize/api/krusty"
	_ "sigs.k8s.io/kustomize/kyaml/filesys"
)
