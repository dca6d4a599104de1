#!/usr/bin/env bash
# Run the Tweets del Clima load test with Locust.
#
#   proyecto3/locust/run.sh --host http://127.0.0.1:8080 [--headless] [--total N] [--users N]
#                           [--spawn-rate N] [--workers N] [--run-time 30m] [--out DIR] [--csv PREFIX]
#                           [-- locust args...]
#
# Defaults: 10,000 requests in total (TWEETS_TOTAL), 10 users, spawn rate = users, web UI on
# http://127.0.0.1:8089 unless --headless. --workers N runs Locust distributed on this machine
# (one master + N worker processes); the request cap stays global (see locustfile.py).
#
# Input: if LOCUST_INPUT_REF is set (e.g. zot.tweets.internal:5000/tweets/locust-input:v1) the
# file is first pulled from the registry as an OCI artifact with `tweetsctl artifact pull`
# (LOCUST_INPUT_PLAIN_HTTP=1 for a plain-HTTP Zot; REGISTRY_USERNAME / REGISTRY_PASSWORD for
# credentials); otherwise input/weather-distribution.json beside this script is used.
#
# Reports go to --out (default proyecto3/locust/reports/<UTC time>/): report.html, stats CSVs
# (tweets_stats.csv, tweets_stats_history.csv, tweets_failures.csv, tweets_exceptions.csv; or
# PREFIX_stats.csv ... with --csv PREFIX), summary.json and locust.log. The summary (requests,
# failures, req/s, p50/p95/p99) is printed last; `accepted.py <stats.csv>` prints the 202 count.
#
# Locust is installed from requirements.txt into a virtualenv under the cache dir
# (${TWEETS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/tweetsdelclima}) the first time; the venv's
# name carries a hash of requirements.txt, so changing the pin installs a fresh one.
# Exit status: Locust's (non-zero when any request failed), 3 when more than the cap was sent,
# 4 when a worker was lost mid-test (its last requests are unaccounted for).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../src" && pwd)"

host="${TWEETS_HOST:-http://127.0.0.1:8080}"
headless=0
total="${TWEETS_TOTAL:-10000}"
users="${LOCUST_USERS:-10}"
spawn_rate=""
workers=0
run_time=""
out=""
csv=""
web_port="${LOCUST_WEB_PORT:-8089}"
extra=()

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --host) host="$2"; shift 2 ;;
    --headless) headless=1; shift ;;
    --total) total="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --spawn-rate) spawn_rate="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --run-time) run_time="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --csv) csv="$2"; shift 2 ;;
    --web-port) web_port="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$total" "$users" "$workers"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "run.sh: --total, --users and --workers take integers" >&2; exit 2; }
done
(( users > 0 )) || { echo "run.sh: --users must be > 0" >&2; exit 2; }
spawn_rate="${spawn_rate:-$users}"

# --- Locust in a cached virtualenv ----------------------------------------------------------------
cache="${TWEETS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tweetsdelclima}"
req_hash="$(sha256sum "$here/requirements.txt" | cut -c1-12)"
venv="$cache/locust-venv-$req_hash"
if [[ ! -f "$venv/.installed" ]]; then
  echo "run.sh: installing Locust into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$venv/.installed"
fi
locust="$venv/bin/locust"

# --- reports --------------------------------------------------------------------------------------
if [[ -z "$out" && -n "$csv" ]]; then out="$(dirname "$csv")"; fi
out="${out:-$here/reports/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
csv="${csv:-$out/tweets}"
mkdir -p "$(dirname "$csv")"

# --- the input file: the OCI artifact from Zot, or the local copy -------------------------------
if [[ -n "${LOCUST_INPUT_REF:-}" ]]; then
  tweetsctl="${TWEETSCTL:-}"
  if [[ -z "$tweetsctl" ]]; then
    if command -v tweetsctl >/dev/null 2>&1; then
      tweetsctl="$(command -v tweetsctl)"
    else
      tweetsctl="$cache/bin/tweetsctl"
      echo "run.sh: building tweetsctl into $tweetsctl" >&2
      (cd "$src" && go build -o "$tweetsctl" ./cmd/tweetsctl)
    fi
  fi
  mkdir -p "$out/input"
  pull=("$tweetsctl" artifact pull --ref "$LOCUST_INPUT_REF" --file "$out/input/weather-distribution.json")
  [[ "${LOCUST_INPUT_PLAIN_HTTP:-0}" == 1 ]] && pull+=(--plain-http)
  "${pull[@]}" >&2
  export LOCUST_INPUT="$out/input/weather-distribution.json"
else
  export LOCUST_INPUT="${LOCUST_INPUT:-$here/input/weather-distribution.json}"
fi
echo "run.sh: input $LOCUST_INPUT" >&2

export TWEETS_TOTAL="$total"
export TWEETS_SUMMARY_JSON="$out/summary.json"
rm -f "$TWEETS_SUMMARY_JSON"

common=(-f "$here/locustfile.py" --host "$host")
master=("${common[@]}" --users "$users" --spawn-rate "$spawn_rate"
        --csv "$csv" --csv-full-history --html "$out/report.html"
        --logfile "$out/locust.log" --loglevel INFO)
if (( headless )); then
  master+=(--headless --only-summary)
  [[ -n "$run_time" ]] && master+=(--run-time "$run_time")
else
  master+=(--web-host 127.0.0.1 --web-port "$web_port")
  echo "run.sh: web UI on http://127.0.0.1:$web_port (press Ctrl-C to finish; reports are written on exit)" >&2
fi

pids=()
cleanup() {
  local p
  for p in "${pids[@]:-}"; do
    if [[ -n "$p" ]]; then kill "$p" 2>/dev/null || true; fi
  done
}
trap cleanup EXIT

if (( workers > 0 )); then
  port="${LOCUST_MASTER_PORT:-5557}"
  master+=(--master --master-bind-host 127.0.0.1 --master-bind-port "$port" --expect-workers "$workers")
  for ((i = 0; i < workers; i++)); do
    "$locust" "${common[@]}" --worker --master-host 127.0.0.1 --master-port "$port" \
      --logfile "$out/worker-$i.log" --loglevel INFO &
    pids+=("$!")
  done
fi

# Ctrl-C reaches Locust too (same process group): it writes its reports and exits; this
# script keeps going to print the summary.
trap 'echo "run.sh: interrupted; waiting for Locust to write its reports" >&2' INT
set +e
"$locust" "${master[@]}" "${extra[@]}"
rc=$?
set -e
trap - INT
cleanup
for p in "${pids[@]:-}"; do
  if [[ -n "$p" ]]; then wait "$p" 2>/dev/null || true; fi
done

echo
echo "== Locust summary ($out) =="
if [[ -f "$TWEETS_SUMMARY_JSON" ]]; then
  "$venv/bin/python" - "$TWEETS_SUMMARY_JSON" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"requests  {s['requests']} (cap {s['cap']})")
print(f"failures  {s['failures']}")
print(f"accepted  {s['accepted']}  (HTTP 202)")
print(f"req/s     {s['rps']}")
print(f"latency   p50 {s['p50_ms']} ms   p95 {s['p95_ms']} ms   p99 {s['p99_ms']} ms   max {s['max_ms']} ms")
PY
else
  echo "no summary written (Locust exited early, status $rc); see $out/locust.log" >&2
fi
echo "reports   $out/report.html  ${csv}_stats.csv"
exit "$rc"
