#!/usr/bin/env bash
# The whole system on this machine, for real: installs what is missing, starts Valkey (primary +
# replica, AOF), RabbitMQ and Kafka (KRaft), builds and starts the api, the gateway, both writers
# and both consumers on 127.0.0.1, empties the database, publishes Locust's input file as an OCI
# artifact to a local registry and has Locust pull it, sends the load through the api, waits
# until both consumers have drained, and prints what the dashboard would show.
#
#   proyecto3/local/up.sh                 10,000 tweets from Locust, 10 users (the statement's test)
#   TWEETS_TOTAL=500 proyecto3/local/up.sh
#   TWEETS_LOAD=loadgen TWEETS_RATE=1000 proyecto3/local/up.sh   open-loop Go load generator instead
#   TWEETS_LOAD=none proyecto3/local/up.sh                        start everything, send nothing
#
# Everything keeps running afterwards (send more with Locust, read with `proyecto3/bin/tweetsctl
# summary`); proyecto3/local/down.sh stops exactly what this started.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STATE=${TWEETS_STATE:-/tmp/tweets-local}
TOTAL=${TWEETS_TOTAL:-10000}
USERS=${TWEETS_USERS:-10}
LOAD=${TWEETS_LOAD:-locust}
RATE=${TWEETS_RATE:-1000}
API=http://127.0.0.1:8080
INPUT_REF=127.0.0.1:5000/tweets/locust-input:v1

log() { printf '\n[up %s] == %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[up %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

log "dependencies: install what is missing"
bash "$HERE/deps.sh" install
log "dependencies: start Valkey, RabbitMQ, Kafka"
bash "$HERE/deps.sh" start
# shellcheck disable=SC1091
. "$STATE/env"
log "build our services"
bash "$HERE/services.sh" build
log "start api, gateway, writers, consumers"
bash "$HERE/services.sh" start
log "empty the database (Grafana would show \"No data\")"
"$ROOT/bin/tweetsctl" reset --yes

accepted=0
case $LOAD in
  none)
    log "no load requested (TWEETS_LOAD=none)" ;;
  locust)
    log "publish Locust's input file as an OCI artifact to the local registry (Zot's stand-in)"
    "$ROOT/bin/tweetsctl" artifact push --plain-http --ref "$INPUT_REF" --file "$ROOT/locust/input/weather-distribution.json"
    log "load: Locust, $TOTAL requests, $USERS users, against the api at $API (input pulled from $INPUT_REF)"
    out=$(mktemp -d)
    LOCUST_INPUT_REF=$INPUT_REF LOCUST_INPUT_PLAIN_HTTP=1 TWEETSCTL=$ROOT/bin/tweetsctl bash "$ROOT/locust/run.sh" --host "$API" --headless --total "$TOTAL" --users "$USERS" --csv "$out/locust" |
      tee "$out/locust.log" || die "Locust reported failures (see above)"
    accepted=$(python3 "$ROOT/locust/accepted.py" "$out/locust_stats.csv")
    ((accepted == TOTAL)) || die "Locust sent $TOTAL requests but only $accepted were accepted" ;;
  loadgen)
    log "load: open-loop loadgen, $TOTAL requests at $RATE/s, against the api at $API"
    out=$(mktemp -d)
    "$ROOT/bin/loadgen" --url "$API/tweets" --total "$TOTAL" --rate "$RATE" --json "$out/loadgen.json" ||
      die "the load generator saw failures (see above)"
    accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$out/loadgen.json") ;;
  *) die "TWEETS_LOAD must be locust, loadgen or none" ;;
esac

if ((accepted > 0)); then
  log "wait until Valkey holds exactly the $accepted accepted tweets"
  "$ROOT/bin/tweetsctl" wait --tweets "$accepted" --timeout 60s
fi
log "summary (what the dashboard shows)"
"$ROOT/bin/tweetsctl" summary
printf '\nThe system keeps running: api %s/tweets, gateway 127.0.0.1:8081, Valkey %s.\n' "$API" "$VALKEY_ADDR"
printf 'Stop everything with: %s/down.sh\n' "$HERE"
