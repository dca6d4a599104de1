#!/usr/bin/env bash
# The GKE cluster. Nodes pull from Zot over plain HTTP through GKE's native containerd
# configuration (registryHosts -> /etc/containerd/hosts.d/<zot>/hosts.toml on every node; needs
# GKE >= 1.34.1-gke.2980000): no privileged DaemonSet, survives node upgrades and recreation.
# Dataplane V2 enforces our NetworkPolicies. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gcloud kubectl
require_project

containerd_cfg="$(mktemp)"
trap 'rm -f "${containerd_cfg}"' EXIT
cat > "${containerd_cfg}" <<YAML
registryHosts:
  - server: "${ZOT_HOST}"
    hosts:
      - host: "http://${ZOT_HOST}"
        capabilities:
          - HOST_CAPABILITY_PULL
          - HOST_CAPABILITY_RESOLVE
YAML

step "GKE cluster ${CLUSTER} (${ZONE}, ${NODE_COUNT} x ${NODE_MACHINE}, channel ${RELEASE_CHANNEL})"
if exists container clusters describe "${CLUSTER}" --zone "${ZONE}"; then
  say "exists"
  if [[ "${UPDATE_CONTAINERD:-0}" == "1" ]]; then
    say "UPDATE_CONTAINERD=1: applying the Zot registry config to default-pool (nodes are recreated)"
    gcloud container node-pools update default-pool --cluster "${CLUSTER}" --zone "${ZONE}" \
      --containerd-config-from-file "${containerd_cfg}"
  fi
else
  gcloud container clusters create "${CLUSTER}" --zone "${ZONE}" \
    --release-channel "${RELEASE_CHANNEL}" \
    --network "${NETWORK}" --enable-ip-alias \
    --enable-dataplane-v2 \
    --num-nodes "${NODE_COUNT}" --machine-type "${NODE_MACHINE}" \
    --disk-type pd-balanced --disk-size "${NODE_DISK_GB}" \
    --workload-pool "${PROJECT_ID}.svc.id.goog" \
    --containerd-config-from-file "${containerd_cfg}"
fi
ok "cluster ready"

step "kubectl credentials"
gcloud container clusters get-credentials "${CLUSTER}" --zone "${ZONE}"
kubectl get nodes -o wide
