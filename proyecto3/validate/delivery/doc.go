// Package delivery checks the delivery chain without Docker, GitHub or a cluster: the workflows
// and composite actions pass actionlint (with shellcheck on every script), every third-party
// action is pinned to a commit, every Dockerfile parses and keeps its rules (multi-stage, pinned
// bases, no `latest`, non-root final stage), the image matrix matches the code and the Kustomize
// images, and the in-cluster Locust kustomization renders into valid objects that pull the input
// artifact from Zot. The ORAS push/pull round trip is tested in proyecto3/src/internal/artifact.
package delivery
