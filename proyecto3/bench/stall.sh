#!/usr/bin/env bash
# What a stalled writer does to the gateway, with and without its in-flight bound (issue 2).
#
#   bash proyecto3/bench/stall.sh                 # bounds "0 1000 2000": none, then 1000 and the default
#   BOUNDS="0 500 1000 2000" STALL_FOR=8 bash proyecto3/bench/stall.sh
#
# For each bound the gateway is restarted with MAX_IN_FLIGHT=<bound> (0: no bound), RATE tweets/s
# are sent for SECS seconds, and writer-rabbitmq is stopped (SIGSTOP) from STALL_AT to
# STALL_AT+STALL_FOR seconds, then resumed (SIGCONT). While it is stopped every tweet waits for
# the gateway's writer deadline (5 s): without a bound the requests in flight pile up to
# rate x deadline and the gateway's memory with them (about 70 KB each); with the bound the
# gateway answers 503 with Retry-After at once beyond it. The load generator's own cap is set far
# above, so it is the gateway that bounds. Printed per bound: the status counts, the most
# requests in flight, the latency, the gateway's peak RSS, and how many tweets Valkey holds
# (at least the accepted ones: a 503 means "not confirmed by both brokers", and the one that
# did take it still delivers it; a client retry with the same id is counted once).
# The system is started if it is not running (TWEETS_LOAD=none local/up.sh), and left running
# with the gateway restarted at its default bound.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STATE=${TWEETS_STATE:-/tmp/tweets-local}
BOUNDS=${BOUNDS:-"0 1000 2000"}
RATE=${RATE:-1000} SECS=${SECS:-25} STALL_AT=${STALL_AT:-5} STALL_FOR=${STALL_FOR:-8}
OUT=${OUT:-/tmp/tweets-stall}
mkdir -p "$OUT"

log() { printf '\n[stall %s] == %s\n' "$(date +%H:%M:%S)" "$*"; }

if ! bash "$ROOT/local/services.sh" status 2>/dev/null | grep -q '^gateway running'; then
  log "start the system (no load yet)"
  TWEETS_LOAD=none bash "$ROOT/local/up.sh" >"$OUT/up.log" 2>&1 || { tail -n 40 "$OUT/up.log"; exit 1; }
fi
# shellcheck disable=SC1091
. "$STATE/env"
ctl=$ROOT/bin/tweetsctl

restart_gateway() { # bound ("" = the default)
  bash "$ROOT/local/services.sh" stop gateway >/dev/null
  env ${1:+MAX_IN_FLIGHT=$1} bash "$ROOT/local/services.sh" start >/dev/null
}

summary=$OUT/summary.txt
: >"$summary"
writer=$(cat "$STATE/services/writer-rabbitmq.pid")
trap 'kill -CONT "$writer" 2>/dev/null || true' EXIT
for bound in $BOUNDS; do
  log "gateway bound $bound (0: none): $RATE/s for ${SECS}s, writer-rabbitmq stopped from ${STALL_AT}s for ${STALL_FOR}s"
  restart_gateway "$bound"
  gw=$(cat "$STATE/services/gateway.pid")
  "$ctl" reset --yes >/dev/null
  "$ROOT/bin/loadgen" --url http://127.0.0.1:8081/tweets --rate "$RATE" --duration "${SECS}s" \
    --max-in-flight 100000 --json "$OUT/load-$bound.json" 2>"$OUT/load-$bound.progress" >/dev/null &
  lg=$!
  sleep "$STALL_AT"
  kill -STOP "$writer"
  echo "writer-rabbitmq stopped"
  sleep "$STALL_FOR"
  kill -CONT "$writer"
  echo "writer-rabbitmq resumed"
  wait "$lg" || true # exit 1: not every request was accepted, which is the point
  tail -n 2 "$OUT/load-$bound.progress"
  rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$gw/status")
  stored=-1 # let the consumers catch up: count until the count stops moving (1 s), at most 30 s
  for ((i = 0; i < 30; i++)); do
    now=$("$ctl" summary | awk '/^tweets stored/ {print $NF; exit}')
    [[ $now == "$stored" ]] && break
    stored=$now
    sleep 1
  done
  python3 - "$OUT/load-$bound.json" "$bound" "$rss" "$stored" <<'PY' | tee -a "$summary"
import json, sys
s = json.load(open(sys.argv[1]))
print(f"bound {sys.argv[2]:>5}: {s['requests']} sent, status {s['status']}, at most {s['peak_in_flight']} in flight, "
      f"p50 {s['p50_ms']:.1f} ms p99 {s['p99_ms']:.1f} ms; gateway peak RSS {sys.argv[3]} MiB; "
      f"Valkey holds {sys.argv[4]} tweets ({s['accepted']} accepted)")
PY
done
restart_gateway ""
log "results (gateway restarted with its default bound)"
cat "$summary"
