#!/usr/bin/env bash
# From an empty GCP project to the system running: every step, in order. Each step is
# idempotent, so re-running after a failure continues where it stopped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for s in 00-apis.sh 10-gke-cluster.sh 20-zot-vm.sh 25-mirror-images.sh 50-bootstrap-secrets.sh 60-argocd.sh; do
  printf '\n\033[1m######## %s\033[0m\n' "${s}"
  "${here}/${s}"
done
printf '\nDone. Next: push the images (proyecto3/.github) and open Grafana:\n'
printf '  kubectl -n monitoring get svc grafana   # EXTERNAL-IP, port 80\n'
printf '  kubectl -n ingress-nginx get svc ingress-nginx-controller   # Locust target\n'
