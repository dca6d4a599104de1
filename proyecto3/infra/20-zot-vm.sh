#!/usr/bin/env bash
# The Zot registry on a VM outside the cluster: static external IP (the UI at http://<IP>:5000),
# firewall rules (VPC + your IP), a private DNS name (zot.tweets.internal) that GKE nodes and
# pods resolve, and the VM itself with zot-startup.sh. Idempotent: re-running updates the
# startup script, the htpasswd metadata and the DNS record, and restarts nothing else.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gcloud htpasswd curl
require_project
load_zot_credentials

step "Zot credentials -> bcrypt htpasswd (clear-text stays in ${STATE_DIR})"
htfile="$(mktemp)"
trap 'rm -f "${htfile}"' EXIT
htpasswd -nbB "${ZOT_ADMIN_USER}" "${ZOT_ADMIN_PASSWORD}" >  "${htfile}"
htpasswd -nbB "${ZOT_CI_USER}"    "${ZOT_CI_PASSWORD}"    >> "${htfile}"
htpasswd -nbB "${ZOT_PULL_USER}"  "${ZOT_PULL_PASSWORD}"  >> "${htfile}"
sed -i '/^$/d' "${htfile}"
ok "users: ${ZOT_ADMIN_USER} (admin), ${ZOT_CI_USER} (push), ${ZOT_PULL_USER} (pull)"

step "Static external IP zot-ip (${REGION})"
if ! exists compute addresses describe zot-ip --region "${REGION}"; then
  gcloud compute addresses create zot-ip --region "${REGION}"
fi
ext_ip="$(gcloud compute addresses describe zot-ip --region "${REGION}" --format='value(address)')"
ok "${ext_ip}"

step "Firewall rules for tcp:${ZOT_PORT}"
if [[ -z "${ZOT_ALLOWED_SOURCES}" ]]; then
  ZOT_ALLOWED_SOURCES="$(curl -fsS https://checkip.amazonaws.com | tr -d '[:space:]')/32"
  say "ZOT_ALLOWED_SOURCES not set: allowing only this machine (${ZOT_ALLOWED_SOURCES})"
fi
if ! exists compute firewall-rules describe zot-from-vpc; then
  gcloud compute firewall-rules create zot-from-vpc --network "${NETWORK}" --direction INGRESS \
    --allow "tcp:${ZOT_PORT}" --source-ranges 10.0.0.0/8 --target-tags zot \
    --description "GKE nodes and pods pull from Zot"
fi
if exists compute firewall-rules describe zot-from-admins; then
  gcloud compute firewall-rules update zot-from-admins --source-ranges "${ZOT_ALLOWED_SOURCES}"
else
  gcloud compute firewall-rules create zot-from-admins --network "${NETWORK}" --direction INGRESS \
    --allow "tcp:${ZOT_PORT}" --source-ranges "${ZOT_ALLOWED_SOURCES}" --target-tags zot \
    --description "Zot UI and pushes (CI, operators)"
fi
ok "zot-from-vpc (10.0.0.0/8), zot-from-admins (${ZOT_ALLOWED_SOURCES})"

step "VM ${ZOT_VM} (${ZOT_MACHINE}, ${ZONE})"
metadata="zot-version=${ZOT_VERSION}"
if exists compute instances describe "${ZOT_VM}" --zone "${ZONE}"; then
  gcloud compute instances add-metadata "${ZOT_VM}" --zone "${ZONE}" --metadata "${metadata}" \
    --metadata-from-file "startup-script=${INFRA_DIR}/zot-startup.sh,zot-htpasswd=${htfile}"
  say "exists: metadata updated; re-running the startup script"
  gcloud compute ssh "${ZOT_VM}" --zone "${ZONE}" --command 'sudo google_metadata_script_runner startup'
else
  gcloud compute instances create "${ZOT_VM}" --zone "${ZONE}" --machine-type "${ZOT_MACHINE}" \
    --network "${NETWORK}" --address "${ext_ip}" --tags zot \
    --image-family debian-12 --image-project debian-cloud \
    --boot-disk-size "${ZOT_DISK_GB}GB" --boot-disk-type pd-balanced \
    --metadata "${metadata}" \
    --metadata-from-file "startup-script=${INFRA_DIR}/zot-startup.sh,zot-htpasswd=${htfile}"
fi
int_ip="$(gcloud compute instances describe "${ZOT_VM}" --zone "${ZONE}" --format='value(networkInterfaces[0].networkIP)')"
ok "internal ${int_ip}, external ${ext_ip}"

step "Private DNS ${ZOT_DNS_DOMAIN} -> zot.${ZOT_DNS_DOMAIN} = ${int_ip}"
if ! exists dns managed-zones describe "${ZOT_DNS_ZONE}"; then
  gcloud dns managed-zones create "${ZOT_DNS_ZONE}" --dns-name "${ZOT_DNS_DOMAIN}." \
    --visibility private --networks "${NETWORK}" --description "Tweets del Clima private names"
fi
current="$(gcloud dns record-sets list --zone "${ZOT_DNS_ZONE}" --name "zot.${ZOT_DNS_DOMAIN}." --type A --format='value(rrdatas[0])')"
if [[ -z "${current}" ]]; then
  gcloud dns record-sets create "zot.${ZOT_DNS_DOMAIN}." --zone "${ZOT_DNS_ZONE}" --type A --ttl 300 --rrdatas "${int_ip}"
elif [[ "${current}" != "${int_ip}" ]]; then
  gcloud dns record-sets update "zot.${ZOT_DNS_DOMAIN}." --zone "${ZOT_DNS_ZONE}" --type A --ttl 300 --rrdatas "${int_ip}"
fi
ok "zot.${ZOT_DNS_DOMAIN}"

step "Waiting for Zot to answer on http://${ext_ip}:${ZOT_PORT}/v2/"
for _ in $(seq 1 60); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://${ext_ip}:${ZOT_PORT}/v2/" || true)"
  if [[ "${code}" == "401" || "${code}" == "200" ]]; then
    ok "Zot is up (HTTP ${code}: authentication required). UI: http://${ext_ip}:${ZOT_PORT}"
    exit 0
  fi
  sleep 5
done
die "Zot did not answer in 5 minutes: gcloud compute ssh ${ZOT_VM} --zone ${ZONE} -- sudo journalctl -u zot -u google-startup-scripts"
