#!/usr/bin/env bash
# Benchmark of the Go pipeline on this machine (issue 2): everything — Kafka, RabbitMQ, Valkey
# primary + replica, gateway, both writers, both consumers and the load generator — on
# 127.0.0.1, open-loop at fixed rates.
#
#   bash proyecto3/bench/pipeline.sh                       # 1000/s for 30 s, then 3000/s for 60 s
#   RATES="1000:30 3000:60 4000:30" bash proyecto3/bench/pipeline.sh
#
# For each rate: the load generator's status counts and latency percentiles (measured from each
# request's due time), the time the consumers needed to drain after the last response, whether
# Valkey holds exactly the accepted tweets (nothing lost, nothing twice), and the peak RSS of each
# Go service. Before that, the raw publish rate of each broker (no gateway, no writer server) for
# comparison (RAW_BROKERS=0 skips it). Results also go to $OUT (default /tmp/tweets-bench) as JSON and text.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STATE=${TWEETS_STATE:-/tmp/tweets-local}
RATES=${RATES:-"1000:30 3000:60"}
OUT=${OUT:-/tmp/tweets-bench}
GATEWAY=${GATEWAY:-http://127.0.0.1:8081/tweets}
mkdir -p "$OUT"

log() { printf '\n[bench %s] == %s\n' "$(date +%H:%M:%S)" "$*"; }

log "start the system (no load yet)"
TWEETS_LOAD=none bash "$ROOT/local/up.sh" >"$OUT/up.log" 2>&1 || { tail -n 40 "$OUT/up.log"; exit 1; }
# shellcheck disable=SC1091
. "$STATE/env"
ctl=$ROOT/bin/tweetsctl

rss() { # peak RSS (VmHWM) of each Go service, MiB
  local name pid
  for name in gateway writer-kafka writer-rabbitmq consumer-kafka consumer-rabbitmq; do
    pid=$(cat "$STATE/services/$name.pid")
    awk -v n="$name" '/VmHWM/ {printf "%s=%.1fMiB ", n, $2/1024}' "/proc/$pid/status"
  done
  echo
}

summary=$OUT/summary.txt
: >"$summary"
if [[ ${RAW_BROKERS:-1} == 1 ]]; then
  log "raw broker publish rates (64 concurrent publishers, 10 s each), same machine, same run"
  (cd "$ROOT/src" && go test -count=1 ./internal/broker/brokertest -run '^$' -bench 'Publish' -benchtime 10s) |
    tee "$OUT/raw-brokers.txt" | grep -E '^Benchmark' | tee -a "$summary"
fi
for spec in $RATES; do
  rate=${spec%%:*} secs=${spec##*:}
  log "rate $rate/s for ${secs}s through the gateway"
  "$ctl" reset --yes >/dev/null
  set +e
  "$ROOT/bin/loadgen" --url "$GATEWAY" --rate "$rate" --duration "${secs}s" --json "$OUT/load-$rate.json" 2>"$OUT/load-$rate.progress"
  lg=$?
  set -e
  tail -n 3 "$OUT/load-$rate.progress"
  accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$OUT/load-$rate.json")
  drain=$("$ctl" wait --tweets "$accepted" --timeout 120s | tail -n 1)
  echo "$drain"
  mem=$(rss)
  echo "peak RSS: $mem"
  python3 - "$OUT/load-$rate.json" "$rate" "$secs" "$lg" "$drain" "$mem" >>"$summary" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"rate {sys.argv[2]}/s x {sys.argv[3]}s: {s['requests']} sent, {s['accepted']} accepted, status {s['status']}, "
      f"achieved {s['achieved_rate']:.0f}/s, p50 {s['p50_ms']:.1f} ms p90 {s['p90_ms']:.1f} ms p99 {s['p99_ms']:.1f} ms "
      f"max {s['max_ms']:.1f} ms; loadgen exit {sys.argv[4]}\n  {sys.argv[5]}\n  peak RSS {sys.argv[6]}")
PY
done
"$ctl" summary >"$OUT/valkey-summary.txt"
log "results"
cat "$summary"
echo
echo "the system is still running: bash $ROOT/local/down.sh stops it"
