#!/usr/bin/env bash
# Enable the Google Cloud APIs the project uses. Idempotent.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gcloud
require_project

step "Enabling APIs in ${PROJECT_ID}"
gcloud services enable compute.googleapis.com container.googleapis.com dns.googleapis.com
ok "compute, container, dns"
