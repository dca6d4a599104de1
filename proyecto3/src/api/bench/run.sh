#!/usr/bin/env bash
# Benchmark of the Rust api on 127.0.0.1 (not a test; nothing here runs in CI).
#
#   proyecto3/src/api/bench/run.sh                 # both parts, 10 s per run
#   PARTS=alone DURATION=5 proyecto3/src/api/bench/run.sh
#
# Part "alone": the api in front of a fake gateway that answers at once (examples/fake_gateway.rs),
#   max throughput with wrk (closed loop, CONNS connections) → req/s, p50, p99.
# Part "gateway": the real Go gateway (proyecto3/src/cmd/gateway) whose two writers are the same
#   instant fake (so brokers are out of the picture), called directly and through the api over REST
#   and over gRPC, in the same run: wrk for throughput, then the project's open-loop load generator
#   (cmd/loadgen, RATE req/s, latency measured from the due time) for the p50 comparison.
# Every run is bounded: DURATION seconds (wrk) and RATE×DURATION requests (loadgen), under `timeout`.
# On 2 cores the load generator, the api, the gateway and the fakes share the CPU, so single runs
# are noisy: the open-loop runs are repeated ROUNDS times, interleaved, and the median is reported.
# Ports 181xx only, on 127.0.0.1, so it does not collide with the local whole-system run.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CRATE=$(dirname "$HERE")
SRC=$(dirname "$CRATE")
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
RATE=${RATE:-2000}
ROUNDS=${ROUNDS:-3}
PARTS=${PARTS:-"alone gateway"}
OUT=${OUT:-$(mktemp -d /tmp/api-bench.XXXXXX)}
mkdir -p "$OUT"

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

need_wrk() {
  command -v wrk >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is needed (apt-get install wrk)" >&2; exit 1
  fi
}

wait_http() { # url
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "not up: $1" >&2; return 1
}

wait_port() { # host:port
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "not listening: $1" >&2; return 1
}

start() { # name, then the command (env assignments allowed via env)
  local name=$1; shift
  "$@" >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
}

RESULTS="$OUT/results.tsv"
printf 'scenario\ttool\treq/s\tp50\tp99\tnon-2xx\n' >"$RESULTS"
OPEN="$OUT/open-loop.tsv"
printf 'scenario\tround\tp50_ms\tp99_ms\tachieved/s\tstatus\n' >"$OPEN"

run_wrk() { # scenario url
  local name=$1 url=$2 f="$OUT/wrk-$1.txt"
  timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/post.lua" "$url" >"$f"
  local rps p50 p99 bad
  rps=$(awk '/^Requests\/sec/ {print $2}' "$f")
  p50=$(awk '$1=="50%" {print $2}' "$f")
  p99=$(awk '$1=="99%" {print $2}' "$f")
  bad=$(awk '/Non-2xx/ {print $5}' "$f"); bad=${bad:-0}
  printf '%s\twrk -c%s\t%s\t%s\t%s\t%s\n' "$name" "$CONNS" "$rps" "$p50" "$p99" "$bad" | tee -a "$RESULTS"
}

run_loadgen() { # scenario round url
  local name=$1 round=$2 url=$3 f="$OUT/loadgen-$1-$2.txt"
  timeout $((DURATION + 30)) "$OUT/loadgen" --url "$url" --rate "$RATE" --duration "${DURATION}s" \
    --total $((RATE * DURATION)) >"$f" 2>&1 || true
  local line p50 p99 rps codes
  line=$(grep 'latency from due time' "$f" || true)
  p50=$(sed -E 's/.*p50 ([0-9.]+) ms.*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' <<<"$line")
  rps=$(grep -oE '\(([0-9.]+)/s achieved' "$f" | grep -oE '[0-9.]+' || true)
  codes=$(grep 'status:' "$f" | sed -E 's/^ *status: //; s/ \(0 = transport error\)//')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$p50" "$p99" "$rps" "$codes" | tee -a "$OPEN"
}

open_loop() { # "name url" pairs: ROUNDS interleaved rounds
  local r pair
  for r in $(seq 1 "$ROUNDS"); do
    for pair in "$@"; do run_loadgen "${pair% *}" "$r" "${pair#* }"; done
  done
}

medians() { # median p50 and p99 per scenario of the open-loop runs
  printf 'scenario\trounds\tmedian_p50_ms\tmedian_p99_ms\n'
  tail -n +2 "$OPEN" | cut -f1 | awk '!seen[$0]++' | while read -r sc; do
    local p50s p99s n
    p50s=$(awk -F'\t' -v s="$sc" '$1==s {print $3}' "$OPEN" | sort -g)
    p99s=$(awk -F'\t' -v s="$sc" '$1==s {print $4}' "$OPEN" | sort -g)
    n=$(wc -l <<<"$p50s")
    printf '%s\t%s\t%s\t%s\n' "$sc" "$n" "$(sed -n "$(((n + 1) / 2))p" <<<"$p50s")" "$(sed -n "$(((n + 1) / 2))p" <<<"$p99s")"
  done
}

need_wrk
echo "building (release)…" >&2
(cd "$CRATE" && cargo build --release --quiet --bin tweets-api --example fake_gateway)
BIN="$CRATE/target/release/tweets-api"
FAKE="$CRATE/target/release/examples/fake_gateway"

# The instant fake: REST gateway on 18181, gRPC on 18151 (also writer-kafka) and 18152 (writer-rabbitmq).
start fake "$FAKE" --http 127.0.0.1:18181 --grpc 127.0.0.1:18151 --grpc 127.0.0.1:18152
wait_port 127.0.0.1:18181; wait_port 127.0.0.1:18151; wait_port 127.0.0.1:18152

api() { # name port forward gateway-url grpc-addr
  start "$1" env LISTEN_ADDR="127.0.0.1:$2" FORWARD="$3" GATEWAY_URL="$4" GATEWAY_GRPC_ADDR="$5" \
    LOG_LEVEL=warn SHUTDOWN_DELAY_MS=0 "$BIN"
  wait_http "http://127.0.0.1:$2/readyz"
}

echo "machine: $(nproc) cores, $(uname -r); duration ${DURATION}s per run; results in $OUT" >&2

HAVE_GO=1
(cd "$SRC" && go build -o "$OUT/gateway" ./cmd/gateway && go build -o "$OUT/loadgen" ./cmd/loadgen) >"$OUT/go-build.log" 2>&1 || HAVE_GO=0
[ "$HAVE_GO" = 1 ] || echo "Go gateway/loadgen did not build (see $OUT/go-build.log): open-loop and gateway runs skipped" >&2

if [[ " $PARTS " == *" alone "* ]]; then
  api api-rest-fake 18080 rest http://127.0.0.1:18181 http://127.0.0.1:18151
  api api-grpc-fake 18090 grpc http://127.0.0.1:18181 http://127.0.0.1:18151
  run_wrk fake-direct http://127.0.0.1:18181/tweets
  run_wrk api-rest-to-fake http://127.0.0.1:18080/tweets
  run_wrk api-grpc-to-fake http://127.0.0.1:18090/tweets
  if [ "$HAVE_GO" = 1 ]; then
    open_loop "fake-direct http://127.0.0.1:18181/tweets" "api-rest-to-fake http://127.0.0.1:18080/tweets" \
      "api-grpc-to-fake http://127.0.0.1:18090/tweets"
  fi
fi

if [[ " $PARTS " == *" gateway "* ]]; then
  if [ "$HAVE_GO" = 1 ]; then
    start gateway "$OUT/gateway" --http-addr 127.0.0.1:18281 --grpc-addr 127.0.0.1:18250 --ops-addr 127.0.0.1:18291 \
      --writer-kafka static:///127.0.0.1:18151 --writer-rabbitmq static:///127.0.0.1:18152 --log-level warn
    wait_port 127.0.0.1:18281; wait_port 127.0.0.1:18250
    api api-rest-gw 18082 rest http://127.0.0.1:18281 http://127.0.0.1:18250
    api api-grpc-gw 18092 grpc http://127.0.0.1:18281 http://127.0.0.1:18250
    run_wrk gateway-direct http://127.0.0.1:18281/tweets
    run_wrk api-rest-to-gateway http://127.0.0.1:18082/tweets
    run_wrk api-grpc-to-gateway http://127.0.0.1:18092/tweets
    open_loop "gateway-direct http://127.0.0.1:18281/tweets" "api-rest-to-gateway http://127.0.0.1:18082/tweets" \
      "api-grpc-to-gateway http://127.0.0.1:18092/tweets"
  fi
fi

medians >"$OUT/medians.tsv"
echo
echo "closed loop (wrk, ${DURATION}s, ${CONNS} connections):"
column -t -s $'\t' "$RESULTS"
echo
echo "open loop (cmd/loadgen, ${RATE}/s for ${DURATION}s, ${ROUNDS} interleaved rounds; latency from the due time):"
column -t -s $'\t' "$OUT/medians.tsv"
