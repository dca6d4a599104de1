#!/usr/bin/env bash
# Argo CD (pinned upstream manifest), its settings, the Git credentials (optional) and the root
# Application (app of apps). Idempotent.
#   GIT_TOKEN=<read-only token> GIT_USER=<user> ./60-argocd.sh   # for a private repository
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need kubectl

step "Argo CD ${ARGOCD_VERSION}"
kubectl create namespace argocd --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply --server-side --force-conflicts -n argocd \
  -f "https://raw.githubusercontent.com/argoproj/argo-cd/${ARGOCD_VERSION}/manifests/install.yaml" >/dev/null
for d in argocd-repo-server argocd-server argocd-applicationset-controller; do
  kubectl -n argocd rollout status "deploy/${d}" --timeout=5m
done
kubectl -n argocd rollout status statefulset/argocd-application-controller --timeout=5m
ok "installed"

step "Settings (argocd-cm): kustomize load restrictor, Application health"
kubectl -n argocd patch configmap argocd-cm --type merge --patch-file "${INFRA_DIR}/argocd-cm-patch.yaml" >/dev/null
ok "patched"

repo_url="$(kubectl kustomize "${P3_DIR}/argocd/root" | sed -n 's/^ *repoURL: //p' | head -n1)"
[[ "${repo_url}" != *CHANGE-ME* ]] || die "set your repository URL in proyecto3/argocd/repo/kustomization.yaml first"
if [[ -n "${GIT_TOKEN:-}" ]]; then
  step "Git credentials for ${repo_url}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  umask 077
  printf '%s' "${repo_url}" > "${tmp}/url"
  printf '%s' "${GIT_USER:-git}" > "${tmp}/username"
  printf '%s' "${GIT_TOKEN}" > "${tmp}/password"
  printf 'git' > "${tmp}/type"
  kubectl -n argocd create secret generic repo-tweets --from-file="${tmp}/url" --from-file="${tmp}/username" \
    --from-file="${tmp}/password" --from-file="${tmp}/type" --dry-run=client -o yaml |
    kubectl label --local -f - argocd.argoproj.io/secret-type=repository -o yaml |
    kubectl apply -f - >/dev/null
  ok "repository secret repo-tweets"
fi

step "Root application (app of apps) -> ${repo_url}"
kubectl apply -k "${P3_DIR}/argocd/root"
ok "root applied; children sync in waves: project, operators, tweets, grafana"
say "watch:   kubectl -n argocd get applications -w"
say "UI:      kubectl -n argocd port-forward svc/argocd-server 8080:443  (https://localhost:8080)"
say "login:   argocd login localhost:8080 --username admin --insecure --grpc-web \\"
say "           --password \"\$(kubectl -n argocd get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d)\""
