#!/usr/bin/env bash
# Builds and runs the project's own services on 127.0.0.1 (the dependencies are deps.sh's job):
#
#   services.sh build            build the Go binaries and the Rust api into proyecto3/bin
#                                (TWEETS_API_PROFILE=debug reuses the test build of the api)
#   services.sh start            start the local OCI registry (Zot's stand-in), both writers, both
#                                consumers, the gateway and the api; wait until each is ready
#   services.sh stop [NAME...]   stop exactly what start started (by recorded PID), gracefully;
#                                with names, only those services (start brings them back)
#   services.sh status           print what runs
#
# Needs the env file written by `deps.sh start` ($TWEETS_STATE/env). Logs: $TWEETS_STATE/logs.
# Ports (docs/contracts.md): OCI registry 5000; api 8080; gateway http 8081, grpc 50050, ops 9081; writer-kafka
# 50051/9082; writer-rabbitmq 50052/9083; consumer-kafka ops 9084; consumer-rabbitmq ops 9085.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${TWEETS_STATE:-/tmp/tweets-local}
BIN=$ROOT/bin
RUN=$STATE/services
LOGS=$STATE/logs
FORWARD=${FORWARD:-rest}

# shellcheck source=SCRIPTDIR/quiet-sysmon.sh
. "$ROOT/local/quiet-sysmon.sh" # QUIET_SYSMON
# shellcheck source=SCRIPTDIR/cpu-weight.sh
. "$ROOT/local/cpu-weight.sh" # OFFPATH_AUTOGROUP_NICE for the consumers, set_cpu_weight
# shellcheck source=SCRIPTDIR/reserve-ports.sh
. "$ROOT/local/reserve-ports.sh" # reserve_service_ports: our gRPC ports, not ephemeral ones

log() { printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[services %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# name|ready-url|environment|command...  (the order is the start order; stop goes in reverse)
# GOMAXPROCS=1 for the writers and consumers: ten busy processes share this machine's 2 cores,
# and a Go process with 2 Ps wakes a second thread to steal work that is rarely there. At
# 1000 tweets/s it saved them 10-15 % of their CPU (docs/benchmarks.md); the gateway, which
# does most of the Go work, keeps both. On GKE each pod gets GOMAXPROCS from its CPU limit.
# $QUIET_SYSMON for the Go processes that wait in the network poller (gateway, writer-rabbitmq,
# consumer-rabbitmq; bench/pipeline.sh gives it to the load generator too): local/quiet-sysmon.sh.
# WRITER_GC for both writers: their live heap is a few MB, so with GOGC=100 the collector ran
# every ~4 MB allocated, several times a second at 3000 tweets/s. GOGC=400 collects a fifth as
# often; GOMEMLIMIT keeps the heap bounded when the calls in flight pile up. In 7 interleaved
# rounds of 20 s at 3000/s each writer used 15-16 % less CPU per tweet on average (8-21 % per
# round), and peaked at 55-68 MiB instead of 37-49; writer-kafka's RSS also holds librdkafka's
# buffers, which GOMEMLIMIT does not count: up to 76 MiB in full runs (docs/benchmarks.md,
# "Evening of 2026-11-29"). kustomize/base/writers.yaml sets GOGC=400 too.
WRITER_GC=${WRITER_GC-GOGC=400 GOMEMLIMIT=60MiB}
# GATEWAY_GODEBUG: the gateway's goroutines keep the stacks they have grown. By default every GC
# halves the stack of a goroutine that uses less than a quarter of it: the gateway's idle
# keep-alive connections, whose next request (which runs a gRPC call) grows it back by copying.
# At 2000-3000 tweets/s that copying was ~6 % of the gateway's CPU; without it (6 interleaved
# rounds at 3000/s) the gateway used 4-12 % less CPU, peaked at 63-109 instead of 82-156 MiB
# and kept up in every round (docs/benchmarks.md). kustomize/base/gateway.yaml sets the same.
GATEWAY_GODEBUG=${GATEWAY_GODEBUG-gcshrinkstackoff=1}
gateway_env() { # GODEBUG=<QUIET_SYSMON's settings>,<GATEWAY_GODEBUG>, or nothing when both are empty
  local parts=() v=${QUIET_SYSMON#GODEBUG=}
  [[ -z $v ]] || parts+=("$v")
  [[ -z $GATEWAY_GODEBUG ]] || parts+=("$GATEWAY_GODEBUG")
  ((${#parts[@]} == 0)) || (IFS=,; echo "GODEBUG=${parts[*]}")
}
service_table() {
  cat <<TABLE
registry|http://127.0.0.1:5000/v2/||$BIN/tweetsctl registry --addr 127.0.0.1:5000
writer-kafka|http://127.0.0.1:9082/readyz|GOMAXPROCS=1 $WRITER_GC|$BIN/writer --broker kafka --grpc-addr 127.0.0.1:50051 --ops-addr 127.0.0.1:9082
writer-rabbitmq|http://127.0.0.1:9083/readyz|GOMAXPROCS=1 $WRITER_GC $QUIET_SYSMON|$BIN/writer --broker rabbitmq --grpc-addr 127.0.0.1:50052 --ops-addr 127.0.0.1:9083
consumer-kafka|http://127.0.0.1:9084/readyz|GOMAXPROCS=1|$BIN/consumer --broker kafka --ops-addr 127.0.0.1:9084
consumer-rabbitmq|http://127.0.0.1:9085/readyz|GOMAXPROCS=1 $QUIET_SYSMON|$BIN/consumer --broker rabbitmq --ops-addr 127.0.0.1:9085
gateway|http://127.0.0.1:9081/readyz|$(gateway_env)|$BIN/gateway --http-addr 127.0.0.1:8081 --grpc-addr 127.0.0.1:50050 --ops-addr 127.0.0.1:9081 --writer-kafka static:///127.0.0.1:50051 --writer-rabbitmq static:///127.0.0.1:50052
api|http://127.0.0.1:8080/readyz||$BIN/tweets-api
TABLE
}

build() {
  mkdir -p "$BIN"
  log "building Go binaries (gateway writer consumer tweetsctl loadgen vmprobe)"
  (cd "$ROOT/src" && go build -o "$BIN/" ./cmd/gateway ./cmd/writer ./cmd/consumer ./cmd/tweetsctl ./cmd/loadgen ./cmd/vmprobe)
  local profile=${TWEETS_API_PROFILE:-release} flag=--release
  [[ $profile == debug ]] && flag=
  log "building the Rust api ($profile)"
  (cd "$ROOT/src/api" && cargo build $flag --quiet)
  # copy then rename: a running api keeps its old file instead of failing with "text file busy"
  cp "$ROOT/src/api/target/$profile/tweets-api" "$BIN/.tweets-api.new"
  mv -f "$BIN/.tweets-api.new" "$BIN/tweets-api"
  log "built: $(cd "$BIN" && echo *)"
}

alive() { [[ -n ${1:-} && -d /proc/$1 ]]; }

wait_ready() { # name url pid
  local name=$1 url=$2 pid=$3 i
  for ((i = 0; i < 300; i++)); do
    if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then return 0; fi
    alive "$pid" || { tail -n 30 "$LOGS/$name.log" >&2; die "$name exited during start (log: $LOGS/$name.log)"; }
    sleep 0.1
  done
  tail -n 30 "$LOGS/$name.log" >&2
  die "$name not ready after 30 s ($url)"
}

start() {
  [[ -f $STATE/env ]] || die "no $STATE/env: run deps.sh start first"
  # shellcheck disable=SC1091
  . "$STATE/env"
  export GATEWAY_URL=http://127.0.0.1:8081 GATEWAY_GRPC_ADDR=http://127.0.0.1:50050 FORWARD LISTEN_ADDR=127.0.0.1:8080
  export KAFKA_GROUP=${KAFKA_GROUP:-consumer-kafka}
  # No load balancer to notice a not-ready api here: stop without the in-cluster drain delay.
  export SHUTDOWN_DELAY_MS=${SHUTDOWN_DELAY_MS:-0}
  reserve_service_ports log
  mkdir -p "$RUN" "$LOGS"
  local name url envs cmd pid
  while IFS='|' read -r name url envs cmd; do
    if [[ -f $RUN/$name.pid ]] && alive "$(cat "$RUN/$name.pid")"; then
      log "$name already running (pid $(cat "$RUN/$name.pid"))"
      continue
    fi
    [[ -x ${cmd%% *} ]] || die "${cmd%% *} missing: run services.sh build"
    # shellcheck disable=SC2086 # the command line is split on purpose
    setsid env $envs $cmd >>"$LOGS/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$RUN/$name.pid"
    wait_ready "$name" "$url" "$pid"
    log "$name ready (pid $pid)"
    [[ $name != consumer-* ]] || set_cpu_weight "$name" "$pid" "$OFFPATH_AUTOGROUP_NICE"
  done < <(service_table)
}

stop() { # [name...]: only these (default: all)
  # SIGTERM to every service at once (each drains its own in-flight work), then wait for each.
  local name pid i only=" $* "
  local -A pids=()
  while IFS='|' read -r name _; do
    [[ $# -eq 0 || $only == *" $name "* ]] || continue
    [[ -f $RUN/$name.pid ]] || continue
    pid=$(cat "$RUN/$name.pid")
    if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids[$name]=$pid; fi
    rm -f "$RUN/$name.pid"
  done < <(service_table)
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    i=0
    while alive "$pid" && ((i < 250)); do sleep 0.1; i=$((i + 1)); done
    if alive "$pid"; then log "$name did not stop in 25 s: killing"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "$name stopped (pid $pid)"
  done
}

status() {
  local name pid
  while IFS='|' read -r name _; do
    pid=$(cat "$RUN/$name.pid" 2>/dev/null || true)
    if alive "$pid"; then echo "$name running (pid $pid)"; else echo "$name stopped"; fi
  done < <(service_table)
}

case ${1:-} in
  build) build ;;
  start) start ;;
  stop) shift; stop "$@" ;;
  status) status ;;
  *) echo "usage: $0 build|start|stop|status" >&2; exit 2 ;;
esac
