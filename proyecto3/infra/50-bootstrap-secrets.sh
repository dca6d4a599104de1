#!/usr/bin/env bash
# The Secrets that git must not hold, created once from random values (never rotated by a
# re-run; delete one to rotate it):
#   tweets/valkey-auth      key password        Valkey requirepass/masterauth, consumers
#   monitoring/valkey-auth  key password        the same value, for Grafana's datasource
#   monitoring/grafana-admin admin-user/admin-password  Grafana login
#   tweets/zot-pull         .dockerconfigjson   pull credentials for zot.tweets.internal:5000
# RabbitMQ's credentials are made by its operator (tweets/tweets-rabbitmq-default-user).
# Values travel through stdin and mode-600 temp files, never through command-line arguments.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need kubectl base64
load_zot_credentials

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
umask 077

ensure_ns() {
  kubectl create namespace "$1" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  ok "namespace $1"
}

has_secret() { kubectl -n "$1" get secret "$2" >/dev/null 2>&1; }

step "Namespaces"
ensure_ns tweets
ensure_ns monitoring

step "Valkey password"
if has_secret tweets valkey-auth; then
  say "tweets/valkey-auth exists: kept"
else
  random_secret > "${tmp}/password"
  kubectl -n tweets create secret generic valkey-auth --from-file=password="${tmp}/password" >/dev/null
  ok "tweets/valkey-auth created"
fi
kubectl -n tweets get secret valkey-auth -o jsonpath='{.data.password}' | base64 -d > "${tmp}/password"
kubectl -n monitoring create secret generic valkey-auth --from-file=password="${tmp}/password" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
ok "monitoring/valkey-auth (same value)"

step "Grafana admin"
if has_secret monitoring grafana-admin; then
  say "monitoring/grafana-admin exists: kept"
else
  printf 'admin' > "${tmp}/user"
  random_secret > "${tmp}/admin-password"
  kubectl -n monitoring create secret generic grafana-admin \
    --from-file=admin-user="${tmp}/user" --from-file=admin-password="${tmp}/admin-password" >/dev/null
  ok "monitoring/grafana-admin created"
fi
say "read it with: kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d"

step "Zot pull secret (${ZOT_HOST}, user ${ZOT_PULL_USER})"
auth="$(printf '%s:%s' "${ZOT_PULL_USER}" "${ZOT_PULL_PASSWORD}" | base64 | tr -d '\n')"
printf '{"auths":{"%s":{"auth":"%s"}}}' "${ZOT_HOST}" "${auth}" > "${tmp}/dockerconfig.json"
kubectl -n tweets create secret generic zot-pull --type=kubernetes.io/dockerconfigjson \
  --from-file=.dockerconfigjson="${tmp}/dockerconfig.json" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
ok "tweets/zot-pull (used by ServiceAccount tweets)"
