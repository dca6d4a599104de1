#!/usr/bin/env bash
# Switch the running experiment: point the `tweets` Argo CD Application at another overlay,
# commit that one-line change, push it, and wait until the cluster runs it.
#
#   proyecto3/argocd/switch-overlay.sh writers-2            # or writers-1, valkey-hpa
#   TIMEOUT=1200 proyecto3/argocd/switch-overlay.sh valkey-hpa
#
# Needs: git (with push rights), kubectl (context on the cluster) and the argocd CLI, logged in
# (`argocd login <server> --grpc-web`, see proyecto3/docs/deploy-gke.md). Env: TIMEOUT (seconds,
# default 900), REMOTE (default origin), ARGOCD_NS (default argocd).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app_file="${here}/apps/tweets.yaml"
overlays_dir="$(cd "${here}/../kustomize/overlays" && pwd)"
timeout="${TIMEOUT:-900}"
remote="${REMOTE:-origin}"
ns="${ARGOCD_NS:-argocd}"
prefix="proyecto3/kustomize/overlays/"

say() { printf '[switch-overlay %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf '[switch-overlay] ERROR: %s\n' "$*" >&2; exit 1; }

overlay="${1:-}"
if [[ -z "${overlay}" || "${overlay}" == -* ]]; then
  echo "usage: $0 <overlay>   overlays: $(cd "${overlays_dir}" && echo */ | tr -d /)" >&2
  exit 2
fi
[[ -f "${overlays_dir}/${overlay}/kustomization.yaml" ]] || die "no overlay '${overlay}' in ${overlays_dir}"
for tool in git kubectl argocd; do
  command -v "${tool}" >/dev/null || die "${tool} is not installed"
done

repo_root="$(git -C "${here}" rev-parse --show-toplevel)"
current="$(sed -n "s|^    path: ${prefix}\(.*\)$|\1|p" "${app_file}")"
[[ -n "${current}" ]] || die "no 'path: ${prefix}...' line in ${app_file}"

if [[ "${current}" == "${overlay}" ]]; then
  say "tweets already points at ${overlay}; nothing to commit"
else
  say "tweets: ${current} -> ${overlay}"
  sed -i.bak "s|^\(    path: ${prefix}\).*$|\1${overlay}|" "${app_file}"
  rm -f "${app_file}.bak"
  git -C "${repo_root}" add -- "${app_file}"
  # Commit only this file, whatever else is staged.
  git -C "${repo_root}" commit --quiet -m "experiment: run overlay ${overlay}" -- "${app_file}"
  say "committed $(git -C "${repo_root}" rev-parse --short HEAD); pushing to ${remote}"
  git -C "${repo_root}" push --quiet "${remote}" HEAD
fi

# Do not wait for Argo CD's 3-minute poll: refresh the root app, which carries tweets' spec.
say "refreshing the root application"
argocd app get root --refresh >/dev/null

want="${prefix}${overlay}"
deadline=$(( $(date +%s) + timeout ))
while :; do
  path="$(kubectl -n "${ns}" get application tweets -o jsonpath='{.spec.source.path}')"
  state="$(kubectl -n "${ns}" get application tweets \
    -o jsonpath='sync={.status.sync.status} health={.status.health.status} revision={.status.sync.revision}')"
  say "path=${path} ${state}"
  [[ "${path}" == "${want}" ]] && break
  (( $(date +%s) < deadline )) || die "timed out waiting for the tweets Application to point at ${want}"
  sleep 5
done

say "waiting for tweets to be Synced and Healthy (timeout ${timeout}s)"
argocd app get tweets --refresh >/dev/null
argocd app wait tweets --sync --health --timeout "${timeout}"
say "done: the cluster runs ${overlay}"
argocd app get tweets
