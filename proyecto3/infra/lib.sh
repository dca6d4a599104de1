# Shared helpers for proyecto3/infra scripts. Source it; do not run it.
# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this file

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
P3_DIR="$(cd "${INFRA_DIR}/.." && pwd)"
# shellcheck source=config.env
source "${INFRA_DIR}/config.env"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
say()  { printf '    %s\n' "$*"; }
ok()   { printf '    \033[32mok\033[0m %s\n' "$*"; }
die()  { printf '\033[31mERROR:\033[0m %s\n' "$*" >&2; exit 1; }

need() {
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' is required (see proyecto3/docs/deploy-gke.md)"
  done
}

require_project() {
  [[ -n "${PROJECT_ID}" ]] || die "set PROJECT_ID (or: gcloud config set project <id>)"
  gcloud config set project "${PROJECT_ID}" >/dev/null 2>&1
}

# exists <gcloud args...>: true when `gcloud <args> describe` finds the resource.
exists() { gcloud "$@" --format='value(name)' >/dev/null 2>&1; }

state_file() {
  mkdir -p "${STATE_DIR}"
  chmod 700 "${STATE_DIR}"
  printf '%s/%s' "${STATE_DIR}" "$1"
}

# random_secret: 32 url-safe characters from the kernel's CSPRNG.
# (No `head` after the pipe: an early reader exit would be a SIGPIPE failure under pipefail.)
random_secret() {
  local s
  s="$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
  printf '%s' "${s:0:32}"
}

# Zot credentials, generated once and kept outside git (mode 600).
load_zot_credentials() {
  local f
  f="$(state_file zot.env)"
  if [[ ! -s "${f}" ]]; then
    umask 077
    {
      printf 'ZOT_ADMIN_USER=admin\nZOT_ADMIN_PASSWORD=%s\n' "$(random_secret)"
      printf 'ZOT_CI_USER=ci\nZOT_CI_PASSWORD=%s\n' "$(random_secret)"
      printf 'ZOT_PULL_USER=puller\nZOT_PULL_PASSWORD=%s\n' "$(random_secret)"
    } > "${f}"
    say "generated Zot credentials in ${f}"
  fi
  # shellcheck disable=SC1090
  source "${f}"
}

zot_external_ip() {
  gcloud compute instances describe "${ZOT_VM}" --zone "${ZONE}" \
    --format='value(networkInterfaces[0].accessConfigs[0].natIP)'
}
