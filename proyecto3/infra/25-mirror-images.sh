#!/usr/bin/env bash
# Copy the third-party image our manifests run (official Valkey) into Zot, so that every image
# of the tweets namespace is pulled from Zot. Our own images are pushed by CI (proyecto3/.github).
# Uses crane (go install github.com/google/go-containerregistry/cmd/crane@latest) or skopeo.
# Idempotent: copying an image that is already there only re-checks its digest.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gcloud
require_project
load_zot_credentials

ext_ip="$(zot_external_ip)"
[[ -n "${ext_ip}" ]] || die "the Zot VM has no external IP: run 20-zot-vm.sh first"
src="${VALKEY_IMAGE}"
dst="${ext_ip}:${ZOT_PORT}/valkey/valkey:${src##*:}"

step "Mirroring ${src} -> ${dst}"
if command -v crane >/dev/null 2>&1; then
  printf '%s' "${ZOT_ADMIN_PASSWORD}" | crane auth login "${ext_ip}:${ZOT_PORT}" -u "${ZOT_ADMIN_USER}" --password-stdin
  crane copy --insecure "${src}" "${dst}"
elif command -v skopeo >/dev/null 2>&1; then
  printf '%s' "${ZOT_ADMIN_PASSWORD}" | skopeo login --tls-verify=false -u "${ZOT_ADMIN_USER}" --password-stdin "${ext_ip}:${ZOT_PORT}"
  skopeo copy --all --dest-tls-verify=false "docker://${src}" "docker://${dst}"
else
  die "install crane or skopeo"
fi
ok "in the cluster it is ${ZOT_HOST}/valkey/valkey:${src##*:} (kustomize base images:)"
