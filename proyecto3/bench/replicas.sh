#!/usr/bin/env bash
# Replica comparisons the statement's rubric (2.1) asks for, measured on the local system
# (everything on 127.0.0.1, one machine):
#
#   a) Go writers with 1 vs 2 replicas. Started here, all from the same build (proyecto3/bin), so
#      both sides differ only in the number of writers: two writers per broker — kafka A 50061
#      (ops 9182), B 50063 (ops 9186); rabbitmq A 50062 (ops 9183), B 50064 (ops 9187) — and two
#      gateways: "writers-1" (http 8092, grpc 50065, ops 9192) → static:///<A> of each broker;
#      "writers-2" (http 8091, grpc 50060, ops 9191) → static:///<A>,<B> (round_robin over both).
#      The base system's own gateway and writers are not used by this part; the consumers,
#      brokers and Valkey are the base system's (shared by both sides).
#   b) Valkey with its replica attached vs detached (REPLICAOF NO ONE on 127.0.0.1:6380), same
#      load through the base gateway; the replica is re-attached afterwards (and on any exit).
#
#   bash proyecto3/bench/replicas.sh
#   RATES="1000 2500" DURATION=20 ROUNDS=3 VALKEY_RATE=2500 PARTS="writers valkey" bash proyecto3/bench/replicas.sh   # the defaults
#   PARTS=valkey ROUNDS=1 bash proyecto3/bench/replicas.sh
#
# Each run: `tweetsctl reset --yes`, `loadgen --rate R --duration D` (open loop, latency from each
# request's due time), `tweetsctl wait --tweets <accepted>` (Valkey holds exactly the accepted
# tweets: nothing lost, nothing twice), and deltas of the services' /metrics (writer_requests_total
# per writer, gateway_writer_call_seconds, the consumers' tweets_store_save_seconds), Valkey INFO
# (commandstats of the store script, replication offsets sampled every second) and CPU seconds
# per process. Rounds are interleaved (the order flips every round) so drift on the shared machine
# hits both sides. Results: $OUT (default /tmp/tweets-replicas): one folder per run, results.json,
# summary.txt. If the local system is not running it is started (TWEETS_LOAD=none up.sh) and
# stopped at the end; if it was running it is left running, as it was (its database 0 emptied by
# the last `tweetsctl reset --yes`, the Valkey replica attached). ~8 min with the defaults.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STATE=${TWEETS_STATE:-/tmp/tweets-local}
BIN=$ROOT/bin
OUT=${OUT:-/tmp/tweets-replicas}
RATES=${RATES:-"1000 2500"}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
VALKEY_RATE=${VALKEY_RATE:-2500}
PARTS=${PARTS:-"writers valkey"}
HOST=127.0.0.1
# The extra writers and gateways run like those of local/services.sh: GOMAXPROCS=1 (here the
# gateways too, so that one and two replicas compare), and QUIET_SYSMON for the ones that wait
# in the network poller, not in librdkafka; the load generator too.
# shellcheck source=SCRIPTDIR/../local/quiet-sysmon.sh
. "$ROOT/local/quiet-sysmon.sh" # QUIET_SYSMON
GO_ENV="GOMAXPROCS=1 $QUIET_SYSMON"

# Processes of part a (ports must be free).
WKA_GRPC=50061 WKA_OPS=9182 WKB_GRPC=50063 WKB_OPS=9186
WRA_GRPC=50062 WRA_OPS=9183 WRB_GRPC=50064 WRB_OPS=9187
GW1_HTTP=8092 GW1_GRPC=50065 GW1_OPS=9192
GW2_HTTP=8091 GW2_GRPC=50060 GW2_OPS=9191

log() { printf '[replicas %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf '[replicas %s] ERROR: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }

((DURATION >= 1 && DURATION <= 30)) || die "DURATION must be 1..30 seconds (each run is bounded)"
((ROUNDS >= 1 && ROUNDS <= 5)) || die "ROUNDS must be 1..5"

mkdir -p "$OUT"
rm -rf "$OUT/runs"
mkdir -p "$OUT/runs" "$OUT/logs"

alive() { [[ -n ${1:-} && -d /proc/$1 ]]; }
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# ---------------------------------------------------------------- cleanup (always)
EXTRA_PIDS=()
SAMPLER_PID=
STARTED_BASE=0
REPLICA_WAS_ATTACHED=0
cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  if alive "$SAMPLER_PID"; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  for pid in "${EXTRA_PIDS[@]}"; do
    if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${EXTRA_PIDS[@]}"; do
    i=0
    while alive "$pid" && ((i < 250)); do sleep 0.1; i=$((i + 1)); done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  ((${#EXTRA_PIDS[@]} > 0)) && log "stopped the extra gateway and writers (pids ${EXTRA_PIDS[*]})"
  if ((REPLICA_WAS_ATTACHED)) && [[ $(replica_link 2>/dev/null || true) != up ]]; then
    log "re-attaching the Valkey replica ($HOST:$REPLICA_PORT → $PRIMARY_PORT)"
    attach_replica || rc=1
  fi
  if ((STARTED_BASE)); then
    log "stopping the local system this script started (down.sh)"
    bash "$ROOT/local/down.sh" >>"$OUT/logs/down.log" 2>&1 || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- base system
NEEDED="gateway writer-kafka writer-rabbitmq consumer-kafka consumer-rabbitmq" # what this script uses
services_up() {
  local s name
  s=$(bash "$ROOT/local/services.sh" status)
  for name in $NEEDED; do [[ $'\n'$s == *$'\n'"$name running"* ]] || return 1; done
}
services_down() { local s; s=$(bash "$ROOT/local/services.sh" status); [[ $s != *running* ]]; }
deps_up() { bash "$ROOT/local/deps.sh" status >/dev/null 2>&1; }
deps_down() { local s; s=$(bash "$ROOT/local/deps.sh" status 2>&1 || true); [[ $s != *running* ]]; }
if services_up && deps_up; then
  log "the local system is running: using it and leaving it running"
elif services_down && deps_down; then
  log "the local system is not running: starting it (TWEETS_LOAD=none proyecto3/local/up.sh), stopped again at the end"
  STARTED_BASE=1
  TWEETS_LOAD=none bash "$ROOT/local/up.sh" >"$OUT/logs/up.log" 2>&1 || { tail -n 40 "$OUT/logs/up.log" >&2; die "up.sh failed"; }
else
  die "the local system is partly running (local/services.sh status, local/deps.sh status): start it fully with local/up.sh or stop it with local/down.sh first"
fi

[[ -f $STATE/env ]] || die "no $STATE/env"
# shellcheck disable=SC1091
. "$STATE/env"
export VALKEYCLI_AUTH=$VALKEY_PASSWORD REDISCLI_AUTH=$VALKEY_PASSWORD
PRIMARY_PORT=${VALKEY_ADDR##*:}
REPLICA_PORT=${VALKEY_REPLICA_ADDR##*:}
vk() { local port=$1; shift; valkey-cli --no-auth-warning -h "$HOST" -p "$port" "$@"; }
info_field() { tr -d '\r' | sed -n "s/^$1:\(.*\)$/\1/p"; }

replica_link() { vk "$REPLICA_PORT" INFO replication | info_field master_link_status; }
REPLICA_WAS_ATTACHED=0
[[ $(replica_link) == up ]] && REPLICA_WAS_ATTACHED=1

attach_replica() {
  vk "$REPLICA_PORT" REPLICAOF "$HOST" "$PRIMARY_PORT" >/dev/null
  local i
  for ((i = 0; i < 600; i++)); do
    [[ $(replica_link) == up && $(vk "$REPLICA_PORT" INFO replication | info_field master_sync_in_progress) == 0 ]] && return 0
    sleep 0.1
  done
  die "replica not in sync after 60 s"
}
detach_replica() {
  vk "$REPLICA_PORT" REPLICAOF NO ONE >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(vk "$PRIMARY_PORT" INFO replication | info_field connected_slaves) == 0 ]] && return 0
    sleep 0.1
  done
  die "primary still lists a replica after REPLICAOF NO ONE"
}

settle() { # no background save or AOF rewrite on either Valkey (a re-sync triggers both), then 2 s
  local port i busy
  for ((i = 0; i < 600; i++)); do
    busy=0
    for port in "$PRIMARY_PORT" "$REPLICA_PORT"; do
      vk "$port" INFO persistence | grep -Eq '^(rdb_bgsave_in_progress|aof_rewrite_in_progress|aof_rewrite_scheduled):1' && busy=1
    done
    ((busy)) || break
    sleep 0.1
  done
  sleep 2
}

start_extra() { # name ready-url environment command...
  local name=$1 url=$2 envs=$3 pid i
  shift 3
  # shellcheck disable=SC2086 # the environment list is split on purpose
  setsid env $envs "$@" >>"$OUT/logs/$name.log" 2>&1 </dev/null &
  pid=$!
  EXTRA_PIDS+=("$pid")
  echo "$pid" >"$OUT/logs/$name.pid"
  for ((i = 0; i < 300; i++)); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && { log "$name ready (pid $pid)"; return 0; }
    alive "$pid" || { tail -n 20 "$OUT/logs/$name.log" >&2; die "$name exited during start"; }
    sleep 0.1
  done
  die "$name not ready after 30 s"
}

# ---------------------------------------------------------------- one measured run
pid_of() { cat "$STATE/services/$1.pid"; }
cpu_ticks() { # name=ticks for every process we look at
  local name pid
  for name in "$@"; do
    pid=${PROCS[$name]:-}
    alive "$pid" && awk -v n="$name" '{print n "=" $14 + $15}' "/proc/$pid/stat"
  done
}
declare -A PROCS=(
  [gateway]=$(pid_of gateway) [writer-kafka]=$(pid_of writer-kafka) [writer-rabbitmq]=$(pid_of writer-rabbitmq)
  [consumer-kafka]=$(pid_of consumer-kafka) [consumer-rabbitmq]=$(pid_of consumer-rabbitmq)
  [valkey-primary]=$(cat "$STATE/valkey/primary.pid") [valkey-replica]=$(cat "$STATE/valkey/replica.pid")
  [kafka]=$(cat "$STATE/kafka/kafka.pid") [rabbitmq]=$(cat "$STATE/rabbitmq/rabbitmq.pid")
)
METRIC_PORTS="9081 9082 9083 9084 9085"

snapshot() { # dir prefix
  local dir=$1 p=$2 port
  for port in $METRIC_PORTS; do
    curl -fsS --max-time 3 "http://$HOST:$port/metrics" >"$dir/$p-metrics-$port.txt" 2>/dev/null || : >"$dir/$p-metrics-$port.txt"
  done
  vk "$PRIMARY_PORT" INFO all | tr -d '\r' >"$dir/$p-valkey-primary.txt"
  vk "$REPLICA_PORT" INFO replication | tr -d '\r' >"$dir/$p-valkey-replica.txt"
  cpu_ticks "${!PROCS[@]}" >"$dir/$p-cpu.txt"
  date +%s.%N >"$dir/$p-time.txt"
}

sampler() { # dir: every second, primary ops/s, primary offset, replica offset
  # The replica is read first, then the primary, so master_offset - replica_offset is an upper
  # bound of the replication lag (it also counts what the primary wrote between the two reads).
  local dir=$1 prim rep
  while :; do
    rep=$(vk "$REPLICA_PORT" INFO replication | tr -d '\r')
    prim=$(vk "$PRIMARY_PORT" INFO replication stats | tr -d '\r')
    printf '%s ops=%s master_offset=%s replica_offset=%s replica_link=%s\n' "$(date +%s.%N)" \
      "$(info_field instantaneous_ops_per_sec <<<"$prim")" "$(info_field master_repl_offset <<<"$prim")" \
      "$(info_field slave_repl_offset <<<"$rep")" "$(info_field master_link_status <<<"$rep")" >>"$dir/samples.txt"
    sleep 1
  done
}

RUN_NO=0
run_load() { # part config rate round gateway-url
  local part=$1 config=$2 rate=$3 round=$4 url=$5 dir lg accepted
  RUN_NO=$((RUN_NO + 1))
  dir=$OUT/runs/$(printf '%02d' "$RUN_NO")-$part-$config-$rate
  mkdir -p "$dir"
  printf '{"part":"%s","config":"%s","rate":%s,"round":%s,"duration_s":%s,"url":"%s","loadavg_before":"%s"}\n' \
    "$part" "$config" "$rate" "$round" "$DURATION" "$url" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/run.json"
  log "run $RUN_NO: $part / $config / $rate/s × ${DURATION}s (round $round) → $url"
  "$BIN/tweetsctl" reset --yes >/dev/null
  sleep 1
  snapshot "$dir" before
  sampler "$dir" &
  SAMPLER_PID=$!
  set +e
  env "$QUIET_SYSMON" "$BIN/loadgen" --url "$url" --rate "$rate" --duration "${DURATION}s" --json "$dir/loadgen.json" >"$dir/loadgen.txt" 2>"$dir/loadgen.progress"
  lg=$?
  set -e
  accepted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$dir/loadgen.json")
  if ((accepted > 0)); then
    "$BIN/tweetsctl" wait --tweets "$accepted" --timeout 60s >"$dir/wait.txt" 2>&1 || echo "WAIT FAILED" >>"$dir/wait.txt"
  else
    echo "WAIT SKIPPED: nothing accepted" >"$dir/wait.txt"
  fi
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
  snapshot "$dir" after
  for b in kafka rabbitmq; do
    printf '%s ' "$b" "$(vk "$PRIMARY_PORT" HGET "broker:$b" latency_avg_ms)" "$(vk "$PRIMARY_PORT" HGET "broker:$b" latency_max_ms)"
    echo
  done >"$dir/e2e.txt"
  echo "$lg" >"$dir/loadgen.exit"
  sed -n '1p;3p' "$dir/loadgen.txt" | sed 's/^/    /'
  tail -n 1 "$dir/wait.txt" | sed 's/^/    /'
}

# ---------------------------------------------------------------- a) writers 1 vs 2
if [[ " $PARTS " == *" writers "* ]]; then
  for p in "$WKA_GRPC" "$WKA_OPS" "$WKB_GRPC" "$WKB_OPS" "$WRA_GRPC" "$WRA_OPS" "$WRB_GRPC" "$WRB_OPS" \
    "$GW1_HTTP" "$GW1_GRPC" "$GW1_OPS" "$GW2_HTTP" "$GW2_GRPC" "$GW2_OPS"; do
    port_busy "$p" && die "port $p is in use: the writers/gateways of this part need it"
  done
  log "starting two writers per broker and two gateways (writers-1: one writer per broker; writers-2: round_robin over two)"
  start_extra writer-kafka-a "http://$HOST:$WKA_OPS/readyz" GOMAXPROCS=1 "$BIN/writer" --broker kafka --grpc-addr "$HOST:$WKA_GRPC" --ops-addr "$HOST:$WKA_OPS"
  start_extra writer-kafka-b "http://$HOST:$WKB_OPS/readyz" GOMAXPROCS=1 "$BIN/writer" --broker kafka --grpc-addr "$HOST:$WKB_GRPC" --ops-addr "$HOST:$WKB_OPS"
  start_extra writer-rabbitmq-a "http://$HOST:$WRA_OPS/readyz" "$GO_ENV" "$BIN/writer" --broker rabbitmq --grpc-addr "$HOST:$WRA_GRPC" --ops-addr "$HOST:$WRA_OPS"
  start_extra writer-rabbitmq-b "http://$HOST:$WRB_OPS/readyz" "$GO_ENV" "$BIN/writer" --broker rabbitmq --grpc-addr "$HOST:$WRB_GRPC" --ops-addr "$HOST:$WRB_OPS"
  start_extra gateway-1 "http://$HOST:$GW1_OPS/readyz" "$GO_ENV" \
    "$BIN/gateway" --http-addr "$HOST:$GW1_HTTP" --grpc-addr "$HOST:$GW1_GRPC" --ops-addr "$HOST:$GW1_OPS" \
    --writer-kafka "static:///$HOST:$WKA_GRPC" --writer-rabbitmq "static:///$HOST:$WRA_GRPC"
  start_extra gateway-2 "http://$HOST:$GW2_OPS/readyz" "$GO_ENV" \
    "$BIN/gateway" --http-addr "$HOST:$GW2_HTTP" --grpc-addr "$HOST:$GW2_GRPC" --ops-addr "$HOST:$GW2_OPS" \
    --writer-kafka "static:///$HOST:$WKA_GRPC,$HOST:$WKB_GRPC" \
    --writer-rabbitmq "static:///$HOST:$WRA_GRPC,$HOST:$WRB_GRPC"
  for name in writer-kafka-a writer-kafka-b writer-rabbitmq-a writer-rabbitmq-b gateway-1 gateway-2; do
    PROCS[$name]=$(cat "$OUT/logs/$name.pid")
  done
  METRIC_PORTS="$METRIC_PORTS $WKA_OPS $WKB_OPS $WRA_OPS $WRB_OPS $GW1_OPS $GW2_OPS"
  # warm-up: connections, producers, the brokers' JIT (not measured)
  for gw in "$GW1_HTTP" "$GW2_HTTP"; do
    "$BIN/loadgen" --url "http://$HOST:$gw/tweets" --rate 200 --duration 3s >/dev/null 2>&1 || true
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    for rate in $RATES; do
      if ((r % 2)); then order="writers-1 writers-2"; else order="writers-2 writers-1"; fi
      for config in $order; do
        if [[ $config == writers-1 ]]; then gw=$GW1_HTTP; else gw=$GW2_HTTP; fi
        run_load writers "$config" "$rate" "$r" "http://$HOST:$gw/tweets"
      done
    done
  done
fi

# ---------------------------------------------------------------- b) Valkey replica vs none
if [[ " $PARTS " == *" valkey "* ]]; then
  ((REPLICA_WAS_ATTACHED)) || die "the Valkey replica is not attached at the start; this part needs it"
  for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order="with-replica no-replica"; else order="no-replica with-replica"; fi
    for config in $order; do
      if [[ $config == no-replica ]]; then
        log "detaching the replica (REPLICAOF NO ONE on $HOST:$REPLICA_PORT)"
        detach_replica
      else
        [[ $(replica_link) == up ]] || { log "re-attaching the replica"; attach_replica; }
      fi
      settle
      run_load valkey "$config" "$VALKEY_RATE" "$r" "http://$HOST:8081/tweets"
    done
  done
  [[ $(replica_link) == up ]] || { log "re-attaching the replica"; attach_replica; }
  log "replica attached: master_link_status:$(replica_link)"
fi

# ---------------------------------------------------------------- summary
"$BIN/tweetsctl" reset --yes >/dev/null
python3 - "$OUT" "$(getconf CLK_TCK)" <<'PY' | tee "$OUT/summary.txt"
import glob, json, os, re, statistics, sys

out, hz = sys.argv[1], int(sys.argv[2])
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')

def prom(path):
    rows = []
    for line in open(path):
        m = line_re.match(line.strip())
        if m and not line.startswith('#'):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ''))
            rows.append((m.group(1), labels, float(m.group(3))))
    return rows

def msum(rows, name, **want):
    return sum(v for n, l, v in rows if n == name and all(l.get(k) == x for k, x in want.items()))

def delta(d, port, name, **want):
    b, a = os.path.join(d, f'before-metrics-{port}.txt'), os.path.join(d, f'after-metrics-{port}.txt')
    if not (os.path.exists(b) and os.path.getsize(a)):
        return 0.0
    return msum(prom(a), name, **want) - msum(prom(b), name, **want)

def info(path):
    return dict(l.split(':', 1) for l in open(path).read().splitlines() if ':' in l and not l.startswith('#'))

def cmdstat(i, cmd):
    s = i.get('cmdstat_' + cmd, '')
    f = dict(kv.split('=') for kv in s.split(',') if '=' in kv)
    return int(f.get('calls', 0)), int(f.get('usec', 0))

def cpu(path):
    return {k: int(v) for k, v in (l.strip().split('=') for l in open(path) if '=' in l)}

runs = []
for d in sorted(glob.glob(os.path.join(out, 'runs', '*'))):
    r = json.load(open(os.path.join(d, 'run.json')))
    lg = json.load(open(os.path.join(d, 'loadgen.json')))
    r.update({k: lg[k] for k in ('requests', 'accepted', 'dropped', 'achieved_rate', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'status')})
    r['errors'] = lg['requests'] - lg['accepted'] + lg['dropped']
    w = open(os.path.join(d, 'wait.txt')).read().strip().splitlines()
    r['wait'] = w[-1] if w else ''
    r['exact'] = bool(w) and 'tweets stored, both consumers drained' in w[-1] and 'FAILED' not in ''.join(w)
    m = re.search(r'after ([0-9.]+)s', r['wait'])
    r['drain_s'] = float(m.group(1)) if m else None
    # writer calls per replica
    r['writer_calls'] = {name: delta(d, port, 'writer_requests_total')
                         for name, port in (('kafka-a', 9182), ('kafka-b', 9186), ('rabbitmq-a', 9183), ('rabbitmq-b', 9187))}
    r['writer_errors'] = sum(delta(d, port, 'writer_requests_total') - delta(d, port, 'writer_requests_total', code='OK')
                             for port in (9182, 9186, 9183, 9187))
    gwport = {'writers-1': 9192, 'writers-2': 9191}.get(r['config'], 9081)
    r['writer_call_ms'] = {}
    for b in ('kafka', 'rabbitmq'):
        s, c = delta(d, gwport, 'gateway_writer_call_seconds_sum', broker=b), delta(d, gwport, 'gateway_writer_call_seconds_count', broker=b)
        r['writer_call_ms'][b] = 1000 * s / c if c else None
    # consumers' store script
    r['store'] = {}
    for b, port in (('kafka', 9084), ('rabbitmq', 9085)):
        s = delta(d, port, 'tweets_store_save_seconds_sum', broker=b)
        c = delta(d, port, 'tweets_store_save_seconds_count', broker=b)
        n = delta(d, port, 'tweets_broker_batch_size_sum', broker=b)
        r['store'][b] = {'calls': c, 'tweets': n, 'ms_per_call': 1000 * s / c if c else None,
                         'us_per_tweet': 1e6 * s / n if n else None}
    # Valkey
    ib, ia = info(os.path.join(d, 'before-valkey-primary.txt')), info(os.path.join(d, 'after-valkey-primary.txt'))
    cb, ca = cmdstat(ib, 'evalsha'), cmdstat(ia, 'evalsha')
    calls, usec = ca[0] - cb[0], ca[1] - cb[1]
    r['evalsha_calls'], r['evalsha_us_per_call'] = calls, (usec / calls if calls else None)
    r['repl_bytes'] = int(ia['master_repl_offset']) - int(ib['master_repl_offset'])
    r['connected_replicas'] = int(ia.get('connected_slaves', 0))
    ops, lag = [], []
    for l in open(os.path.join(d, 'samples.txt')) if os.path.exists(os.path.join(d, 'samples.txt')) else []:
        f = dict(kv.split('=', 1) for kv in l.split()[1:])
        if f.get('ops'):
            ops.append(int(f['ops']))
        if f.get('replica_link') == 'up' and f.get('master_offset') and f.get('replica_offset'):
            lag.append(int(f['master_offset']) - int(f['replica_offset']))
    busy = [o for o in ops if o > 0]
    r['valkey_ops_max'] = max(ops) if ops else None
    r['valkey_ops_avg_busy'] = statistics.mean(busy) if busy else None
    r['repl_lag_max_bytes'] = max(0, max(lag)) if lag else None
    r['repl_lag_avg_bytes'] = statistics.mean(max(0, x) for x in lag) if lag else None
    r['repl_lag_samples'] = len(lag)
    e2e = {}
    for l in open(os.path.join(d, 'e2e.txt')):
        p = l.split()
        if len(p) >= 3:
            e2e[p[0]] = {'avg_ms': float(p[1]) if p[1] else None, 'max_ms': float(p[2]) if p[2] else None}
    r['e2e'] = e2e
    c0, c1 = cpu(os.path.join(d, 'before-cpu.txt')), cpu(os.path.join(d, 'after-cpu.txt'))
    r['cpu_s'] = {k: round((c1[k] - c0[k]) / hz, 2) for k in c1 if k in c0}
    r['wall_s'] = float(open(os.path.join(d, 'after-time.txt')).read()) - float(open(os.path.join(d, 'before-time.txt')).read())
    r['dir'] = os.path.basename(d)
    runs.append(r)

json.dump(runs, open(os.path.join(out, 'results.json'), 'w'), indent=2)

def f(x, nd=1):
    return '—' if x is None else f'{x:,.{nd}f}'

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

print('\n== every run ==')
hdr = f"{'run':<28} {'sent':>7} {'202':>7} {'err':>4} {'ach/s':>6} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'exact':>5}  extra"
print(hdr)
for r in runs:
    if r['part'] == 'writers':
        wc = r['writer_calls']
        extra = (f"calls kA/kB {wc['kafka-a']:.0f}/{wc['kafka-b']:.0f} rA/rB {wc['rabbitmq-a']:.0f}/{wc['rabbitmq-b']:.0f}; "
                 f"writer call ms k {f(r['writer_call_ms']['kafka'], 2)} r {f(r['writer_call_ms']['rabbitmq'], 2)}")
    else:
        extra = (f"evalsha {f(r['evalsha_us_per_call'])} us/call; store k {f(r['store']['kafka']['us_per_tweet'])} "
                 f"r {f(r['store']['rabbitmq']['us_per_tweet'])} us/tweet; repl {r['repl_bytes']/1e6:.1f} MB, "
                 f"max lag {f(r['repl_lag_max_bytes'], 0)} B; ops/s max {f(r['valkey_ops_max'], 0)}")
    print(f"{r['dir']:<28} {r['requests']:>7} {r['accepted']:>7} {r['errors']:>4} {r['achieved_rate']:>6.0f} "
          f"{r['p50_ms']:>7.1f} {r['p90_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f} {'yes' if r['exact'] else 'NO':>5}  {extra}")

groups = {}
for r in runs:
    groups.setdefault((r['part'], r['rate'], r['config']), []).append(r)
print(f"\n== medians over rounds (latency ms, from each request's due time; {len(runs)} runs) ==")
print(f"{'part':<8} {'rate':>5} {'config':<13} {'n':>2} {'p50':>7} {'p90':>7} {'p99':>7} {'ach/s':>6} {'err':>4} {'exact':>6} "
      f"{'wcall k':>8} {'wcall r':>8} {'e2e k':>7} {'e2e r':>7}")
for (part, rate, config), rs in sorted(groups.items()):
    print(f"{part:<8} {rate:>5} {config:<13} {len(rs):>2} {f(med([r['p50_ms'] for r in rs])):>7} {f(med([r['p90_ms'] for r in rs])):>7} "
          f"{f(med([r['p99_ms'] for r in rs])):>7} {f(med([r['achieved_rate'] for r in rs]), 0):>6} {sum(r['errors'] for r in rs):>4} "
          f"{sum(r['exact'] for r in rs):>3}/{len(rs):<2} {f(med([r['writer_call_ms']['kafka'] for r in rs]), 2):>8} "
          f"{f(med([r['writer_call_ms']['rabbitmq'] for r in rs]), 2):>8} {f(med([r['e2e'].get('kafka', {}).get('avg_ms') for r in rs])):>7} "
          f"{f(med([r['e2e'].get('rabbitmq', {}).get('avg_ms') for r in rs])):>7}")

wr = [r for r in runs if r['part'] == 'writers' and r['config'] == 'writers-2']
if wr:
    print('\n== writers-2: share of calls per replica (writer_requests_total deltas) ==')
    for r in wr:
        wc = r['writer_calls']
        k, q = wc['kafka-a'] + wc['kafka-b'], wc['rabbitmq-a'] + wc['rabbitmq-b']
        print(f"{r['dir']:<28} kafka A {wc['kafka-a']:.0f} + B {wc['kafka-b']:.0f} ({100*wc['kafka-a']/k if k else 0:.1f}% / {100*wc['kafka-b']/k if k else 0:.1f}%)  "
              f"rabbitmq A {wc['rabbitmq-a']:.0f} + B {wc['rabbitmq-b']:.0f} ({100*wc['rabbitmq-a']/q if q else 0:.1f}% / {100*wc['rabbitmq-b']/q if q else 0:.1f}%)  "
              f"errors {r['writer_errors']:.0f}")
    print('\n== CPU seconds per process during each writers run (wall: seconds between the two snapshots; 2 cores = 2 CPU s per s) ==')
    names = [('gateway-1', 'gw1'), ('gateway-2', 'gw2'), ('writer-kafka-a', 'w-kA'), ('writer-kafka-b', 'w-kB'), ('writer-rabbitmq-a', 'w-rA'),
             ('writer-rabbitmq-b', 'w-rB'), ('kafka', 'kafka'), ('rabbitmq', 'rabbit'), ('consumer-kafka', 'c-k'),
             ('consumer-rabbitmq', 'c-r'), ('valkey-primary', 'vk-prim'), ('valkey-replica', 'vk-repl')]
    print('(gw1/gw2: gateway of writers-1/writers-2; w-kA/w-kB, w-rA/w-rB: kafka/rabbitmq writers A and B; c-k/c-r: consumers)')
    print(f"{'run':<28} " + ' '.join(f'{short:>7}' for _, short in names) + f" {'total':>7} {'wall':>5}")
    for r in runs:
        if r['part'] == 'writers':
            print(f"{r['dir']:<28} " + ' '.join(f"{r['cpu_s'].get(n, 0):>7.1f}" for n, _ in names)
                  + f" {sum(r['cpu_s'].values()):>7.1f} {r['wall_s']:>5.1f}")

vr = [r for r in runs if r['part'] == 'valkey']
if vr:
    print('\n== Valkey with vs without replica ==')
    print('(evalsha: server time of the store script per call, INFO commandstats; store: consumer-side time per tweet,')
    print(' tweets_store_save_seconds / tweets; repl MB: growth of master_repl_offset; lag: max of master offset - replica')
    print(' offset over the 1 s samples (replica read first: an upper bound); ops/s: instantaneous_ops_per_sec of the primary, script-inner commands included)')
    print(f"{'run':<28} {'replicas':>8} {'evalsha us/call':>15} {'tweets/call':>11} {'store k us/tw':>13} {'store r us/tw':>13} "
          f"{'repl MB':>8} {'B/tweet':>8} {'lag avg B':>9} {'lag max B':>9} {'ops/s max':>9} {'cpu prim s':>10} {'cpu repl s':>10}")
    for r in vr:
        tw = r['store']['kafka']['tweets'] + r['store']['rabbitmq']['tweets']
        print(f"{r['dir']:<28} {r['connected_replicas']:>8} {f(r['evalsha_us_per_call']):>15} "
              f"{f(tw / r['evalsha_calls'] if r['evalsha_calls'] else None):>11} {f(r['store']['kafka']['us_per_tweet']):>13} "
              f"{f(r['store']['rabbitmq']['us_per_tweet']):>13} {r['repl_bytes']/1e6:>8.1f} "
              f"{f(r['repl_bytes']/r['accepted'] if r['accepted'] else None, 0):>8} {f(r['repl_lag_avg_bytes'], 0):>9} "
              f"{f(r['repl_lag_max_bytes'], 0):>9} {f(r['valkey_ops_max'], 0):>9} {r['cpu_s'].get('valkey-primary', 0):>10.1f} {r['cpu_s'].get('valkey-replica', 0):>10.1f}")
print(f"\nresults: {out}/results.json, {out}/summary.txt, one folder per run in {out}/runs")
PY
log "done"
