#!/usr/bin/env bash
# Local infrastructure for Tweets del Clima: Valkey 8 (primary + replica), RabbitMQ and a
# single-node Apache Kafka (KRaft), all on 127.0.0.1, run as plain processes (no Docker).
#
#   deps.sh install                 install what is missing (apt packages, Kafka jars); quick when present
#   deps.sh start                   start what is not running, wait until ready, write $TWEETS_STATE/env
#   deps.sh stop [--purge] [C...]   stop what start started (C: valkey rabbitmq kafka); --purge deletes data
#   deps.sh status [C...]           print what runs; exit 0 when all (selected) run, 3 otherwise
#
# Environment: TWEETS_STATE (/tmp/tweets-local), TWEETS_CACHE (~/.cache/tweets-del-clima),
# VALKEY_PORT (6379), VALKEY_REPLICA_PORT (6380), RABBITMQ_PORT (5672), KAFKA_PORT (9092),
# KAFKA_CONTROLLER_PORT (9093), EPMD_PORT (4369), TWEETS_START_TIMEOUT (seconds per component, 120),
# KAFKA_VERSION (4.1.1), KAFKA_JVM_OPTS (heap and collector, see below), RABBITMQ_ERL_ARGS (Erlang
# emulator flags for RabbitMQ; default "+S 1:1", see below; "" for Erlang's defaults),
# RABBITMQ_WAL_MAX_BYTES (quorum queues' write-ahead log size, 16000000; see below),
# VALKEY_AOF_REWRITE_MIN (no AOF rewrite before the file reaches it, 1gb; see below),
# KAFKA_AUTOGROUP_NICE (Kafka's CPU weight, -10), RABBITMQ_AUTOGROUP_NICE (RabbitMQ's, -10) and
# OFFPATH_AUTOGROUP_NICE (the Valkey servers', with the consumers', 19; all in
# local/cpu-weight.sh), TWEETS_STARTED_FILE
# (start writes there the components it launched), TWEETS_KEEP_ON_FAIL=1 (a failed start leaves
# what it launched running).
# After start:  . "${TWEETS_STATE:-/tmp/tweets-local}/env"
set -euo pipefail

STATE=${TWEETS_STATE:-/tmp/tweets-local}
CACHE=${TWEETS_CACHE:-$HOME/.cache/tweets-del-clima}
KAFKA_LIBS=$CACHE/kafka-libs
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=2.24.3
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

VALKEY_PORT=${VALKEY_PORT:-6379}
VALKEY_REPLICA_PORT=${VALKEY_REPLICA_PORT:-6380}
RABBITMQ_PORT=${RABBITMQ_PORT:-5672}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
START_TIMEOUT=${TWEETS_START_TIMEOUT:-120}
# Kafka's heap: G1 with a fixed 1 GiB young generation. With the earlier 512 MiB heap and a 20 ms
# pause goal, G1 kept the young generation small and paused every ~4 s at 1000 tweets/s; on this
# 2-core machine, shared by ten servers, each pause stalled every produce request for 30-180 ms,
# a large part of the gateway's p99 (the rest: the disk's fsync stalls under RabbitMQ's quorum
# queue, and the saturated CPU). With 1 GiB of young generation a pause comes every one to
# three minutes (measured 55 s to 3 min; docs/benchmarks.md). Kafka's own guidance is a 6 GiB heap.
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:-"-Xms2g -Xmx2g -Xmn1g -XX:+UseG1GC"}
# The CPU weights of Kafka, RabbitMQ and the Valkey servers, and set_cpu_weight.
# shellcheck source=SCRIPTDIR/cpu-weight.sh
. "$(dirname "$0")/cpu-weight.sh"
# The services' gRPC ports kept out of the kernel's ephemeral range: reserve_service_ports.
# shellcheck source=SCRIPTDIR/reserve-ports.sh
. "$(dirname "$0")/reserve-ports.sh"
# RabbitMQ with one Erlang scheduler. By default Erlang starts one per core, here 2, and on this
# 2-core machine, shared with ten busy processes, the second one mostly adds wake-ups and
# migrations between them: at 3000 tweets/s in 5 interleaved A/B rounds, RabbitMQ used 26 % less
# CPU per message and the whole pipeline achieved 2,733-3,000/s instead of 2,450-2,854/s, with
# p50 at 1000/s unchanged (docs/benchmarks.md). On GKE the RabbitMQ pods get the same from their CPU
# limit of 1: Erlang sizes its online schedulers from the cgroup's CPU quota.
RABBITMQ_ERL_ARGS=${RABBITMQ_ERL_ARGS-+S 1:1}
# Quorum queues hold every entry of the write-ahead log in memory until the WAL file reaches
# raft.wal_max_size_bytes and rolls over. With the default, 512 MiB, RabbitMQ here peaked at
# 1.0-1.4 GiB RSS; with 64 MB, what the GKE manifest sets for its 1 GiB pods, at 237 MiB.
# Each rollover costs a burst of work on RabbitMQ's one scheduler (the segment writer copies the
# log's live entries to segment files, then the in-memory table is deleted), which delays
# confirms while it runs. Measured at 1000/s (docs/benchmarks.md): with 64 MB, a rollover every
# ~140 s and a worst second of 179-374 ms after it; with 16 MB, one every ~35 s and 53-148 ms.
# Local runs use 16 MB; GKE keeps 64 MB (its RabbitMQ pods do not share two cores with ten
# servers, and nothing was measured there).
RABBITMQ_WAL_MAX_BYTES=${RABBITMQ_WAL_MAX_BYTES:-16000000}
# Valkey persists with its AOF alone, as on GKE. Every background save or AOF rewrite forks a
# child that writes the whole dataset: 0.1-7 s of up to a core each (Valkey's log, 2026-11-27).
# On this 2-core machine, shared by ten servers, the longer ones were latency spikes for the
# whole pipeline. Valkey's default snapshot rule ("60 10000") forked once a minute on each node
# under load, and an AOF rewrite came every 75-100 s at 1000 tweets/s with the default 64mb
# floor. In interleaved 2-minute blocks at 1000/s, the gateway answered 95.2 and 97.5 % of
# requests within 50 ms with snapshots, 98.9 and 98.9 % without; then, without snapshots, 97.9
# and 95.6 % with the 64mb floor, 98.8 and 99.1 % with 1gb (docs/benchmarks.md). At ~720 bytes of AOF per tweet
# (14.3 MB for 20,000), 1gb is ~1.5 million tweets: about four runs of bench/pipeline.sh (~330,000
# tweets each), or ~25 min at a steady 1000/s, between two rewrites.
VALKEY_AOF_REWRITE_MIN=${VALKEY_AOF_REWRITE_MIN:-1gb}
TOPIC=weather-tweets
QUEUE=weather-tweets
HOST=127.0.0.1

# RabbitMQ node and its Erlang distribution, all under the state dir.
RMQ_DIR=$STATE/rabbitmq
EPMD_PORT=${EPMD_PORT:-4369}
RMQ_NODE=tweets@localhost
[[ $RABBITMQ_PORT == 5672 ]] || RMQ_NODE=tweets-$RABBITMQ_PORT@localhost
RMQ_DIST_PORT=${RABBITMQ_DIST_PORT:-$((RABBITMQ_PORT + 20000))}
RMQ_LIB=/usr/lib/rabbitmq/bin

log() { printf '[deps %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[deps %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[deps %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------------------------------------
# small helpers

# alive PID [COMM]: the process exists (and, if given, its command name starts with COMM).
alive() {
  local pid=$1 comm=${2:-}
  [[ -n $pid && -d /proc/$pid ]] || return 1
  # a zombie (exited, not yet reaped) is not alive
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
  [[ -z $comm ]] && return 0
  local actual
  actual=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $actual == "$comm"* ]]
}

# pid_from FILE: the PID recorded in FILE, or nothing.
pid_from() {
  if [[ -s $1 ]]; then tr -dc '0-9' <"$1"; fi
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# gen_secret FILE: a random 32-hex-character secret, created once and kept in FILE (mode 600).
gen_secret() {
  local file=$1
  if [[ ! -s $file ]]; then
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

# wait_pid_exit PID SECONDS: wait until PID is gone; 1 if it is still there after SECONDS.
wait_pid_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while [[ -d /proc/$pid ]]; do
    # a zombie child of ours counts as gone
    [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# terminate NAME PID COMM SECONDS: SIGTERM, wait, SIGKILL as a last resort.
terminate() {
  local name=$1 pid=$2 comm=$3 secs=$4
  if ! alive "$pid" "$comm"; then
    log "$name: not running (stale pid $pid)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_exit "$pid" "$secs"; then
    warn "$name (pid $pid) did not exit within ${secs}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 10 || die "$name (pid $pid) survived SIGKILL"
  fi
  log "$name: stopped (pid $pid)"
}

tail_log() {
  local name=$1 file=$2
  printf '%s\n' "----- last lines of $file ($name) -----" >&2
  tail -n 40 "$file" >&2 2>/dev/null || printf '(no log)\n' >&2
  printf '%s\n' "-----" >&2
}

fail_start() {
  local name=$1 file=$2 msg=$3
  tail_log "$name" "$file"
  die "$name failed to start: $msg"
}

# launch PIDFILE LOGFILE CMD...: run CMD detached in its own session, record its PID.
launch() {
  local pidfile=$1 logfile=$2
  shift 2
  # `setsid` execs in place here (the async child is not a group leader), so $! is the server.
  # fd 9 (the state lock) must not be inherited: a server would hold the lock for its lifetime.
  # The working directory is the state dir (crash dumps, hs_err files land there).
  (cd "$STATE" && exec setsid "$@") </dev/null >>"$logfile" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$pidfile"
  disown "$pid" 2>/dev/null || true
  echo "$pid"
}

ensure_port_free() {
  local name=$1 port=$2 var=$3
  if port_open "$port"; then
    die "$name: port $HOST:$port is already in use by a process deps.sh did not start (set $var to use another port)"
  fi
}

# ---------------------------------------------------------------------------------------------
# install

APT_UPDATED=0
apt_update_once() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
}

pkg_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

ensure_backports_source() {
  if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
    return 0
  fi
  log "adding the bookworm-backports apt source"
  as_root tee /etc/apt/sources.list.d/tweets-bookworm-backports.sources >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  APT_UPDATED=0
}

# The services' postinst scripts start them (valkey on 6379, rabbitmq + epmd). A policy-rc.d
# that exits 101 forbids that; any server that still appears during the install is ours to end.
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=/usr/sbin/policy-rc.d.tweets-backup
policy_block() {
  if [[ -e $POLICY ]]; then as_root mv "$POLICY" "$POLICY_BACKUP"; fi
  printf '#!/bin/sh\n# temporary, from tweets-del-clima deps.sh install\nexit 101\n' | as_root tee "$POLICY" >/dev/null
  as_root chmod 755 "$POLICY"
}
policy_restore() {
  as_root rm -f "$POLICY"
  if [[ -e $POLICY_BACKUP ]]; then as_root mv "$POLICY_BACKUP" "$POLICY"; fi
}

service_pids() { pgrep -x 'valkey-server|redis-server|beam.smp|epmd|erl_child_setup' 2>/dev/null | sort || true; }

apt_install() {
  # apt_install [-t RELEASE] PKG...
  local before after new pid
  before=$(service_pids)
  policy_block
  trap 'policy_restore' EXIT
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" >/dev/null
  policy_restore
  trap - EXIT
  after=$(service_pids)
  new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d' || true)
  for pid in $new; do
    warn "the package install started $(cat "/proc/$pid/comm" 2>/dev/null || echo '?') (pid $pid); stopping it"
    as_root kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $new; do
    wait_pid_exit "$pid" 20 || as_root kill -KILL "$pid" 2>/dev/null || true
  done
  # Under systemd the postinst also enabled the units: they would start at the next boot and
  # take our ports. Disable the ones of the packages installed just now.
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    local unit units=()
    [[ " $* " == *" rabbitmq-server "* ]] && units+=(rabbitmq-server.service epmd.socket epmd.service)
    [[ " $* " == *" valkey-server "* ]] && units+=(valkey-server.service)
    for unit in "${units[@]}"; do
      if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
        log "systemd: disabling $unit (deps.sh runs its own instances)"
        as_root systemctl disable --now "$unit" >/dev/null 2>&1 || warn "could not disable $unit"
      fi
    done
  fi
}

install_apt() {
  local missing=()
  pkg_installed rabbitmq-server || missing+=(rabbitmq-server)
  pkg_installed shellcheck || missing+=(shellcheck)
  command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if ((${#missing[@]})); then
    apt_update_once
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
  else
    log "rabbitmq-server, shellcheck, java, maven: present"
  fi

  local vver=""
  if command -v valkey-server >/dev/null; then
    vver=$(valkey-server --version | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')
  fi
  if [[ -z $vver || ${vver%%.*} -lt 8 ]] || ! command -v valkey-cli >/dev/null; then
    ensure_backports_source
    apt_update_once
    log "installing valkey-server from bookworm-backports"
    apt_install -t bookworm-backports valkey-server valkey-tools
    vver=$(valkey-server --version | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')
    [[ ${vver%%.*} -ge 8 ]] || die "valkey-server $vver installed, need 8.x"
  fi
  log "valkey-server $vver: present"
}

install_rust_clippy() {
  if command -v cargo >/dev/null && ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null; then
      log "rustup component add clippy"
      rustup component add clippy
    fi
  fi
}

install_kafka() {
  if [[ -f $KAFKA_LIBS/.complete && $(cat "$KAFKA_LIBS/.complete") == "kafka_2.13-$KAFKA_VERSION log4j-$LOG4J_VERSION" ]]; then
    log "Kafka $KAFKA_VERSION jars: present in $KAFKA_LIBS"
    return 0
  fi
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  mkdir -p "$CACHE"
  local work
  work=$(mktemp -d "$CACHE/kafka-libs.tmp.XXXXXX")
  local dep deps=""
  for dep in org.apache.kafka:kafka_2.13:$KAFKA_VERSION org.apache.kafka:kafka-tools:$KAFKA_VERSION \
    org.apache.logging.log4j:log4j-api:$LOG4J_VERSION org.apache.logging.log4j:log4j-core:$LOG4J_VERSION \
    org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION; do
    IFS=: read -r g a v <<<"$dep"
    deps+="<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tweetsdelclima</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>$deps</dependencies>
</project>
EOF
  if ! mvn -B -q -Dstyle.color=never -f "$work/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$work/libs"; then
    rm -rf "$work"
    die "mvn could not fetch the Kafka jars"
  fi
  # Kafka's own slf4j binding would clash with log4j's: keep exactly one.
  rm -f "$work"/libs/slf4j-reload4j-*.jar "$work"/libs/slf4j-log4j12-*.jar
  echo "kafka_2.13-$KAFKA_VERSION log4j-$LOG4J_VERSION" >"$work/libs/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$work/libs" "$KAFKA_LIBS"
  rm -rf "$work"
  log "Kafka jars: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1)"
}

cmd_install() {
  local t0=$SECONDS
  install_apt
  install_rust_clippy
  install_kafka
  log "install done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# Valkey

VK_DIR=$STATE/valkey
vk_cli() {
  # vk_cli PORT ARGS...: the password goes through the environment, not argv.
  local port=$1
  shift
  REDISCLI_AUTH=$VALKEY_PASSWORD VALKEYCLI_AUTH=$VALKEY_PASSWORD \
    valkey-cli --no-auth-warning -h "$HOST" -p "$port" "$@"
}

valkey_conf() {
  local role=$1 port=$2 dir=$VK_DIR/$1
  mkdir -p "$dir"
  (
    umask 077
    cat >"$VK_DIR/$role.conf" <<EOF
# generated by deps.sh start
bind $HOST
port $port
protected-mode yes
daemonize no
dir $dir
logfile ""
pidfile $VK_DIR/$role.server.pid
appendonly yes
appendfsync everysec
# No RDB snapshots, and no AOF rewrite before VALKEY_AOF_REWRITE_MIN (see there).
save ""
auto-aof-rewrite-min-size $VALKEY_AOF_REWRITE_MIN
repl-diskless-sync yes
repl-diskless-sync-delay 0
requirepass $VALKEY_PASSWORD
masterauth $VALKEY_PASSWORD
EOF
    if [[ $role == replica ]]; then
      printf 'replicaof %s %s\nreplica-read-only yes\n' "$HOST" "$VALKEY_PORT" >>"$VK_DIR/$role.conf"
    fi
  )
}

start_valkey_one() {
  local role=$1 port=$2 var=$3 pid
  pid=$(pid_from "$VK_DIR/$role.pid")
  if alive "$pid" valkey-server; then
    log "valkey $role: already running (pid $pid, $HOST:$port)"
    return 0
  fi
  ensure_port_free "valkey $role" "$port" "$var"
  valkey_conf "$role" "$port"
  LAUNCHED+=(valkey)
  pid=$(launch "$VK_DIR/$role.pid" "$VK_DIR/$role.log" valkey-server "$VK_DIR/$role.conf")
  log "valkey $role: started (pid $pid, $HOST:$port)"
  set_cpu_weight "valkey $role" "$pid" "$OFFPATH_AUTOGROUP_NICE"
}

start_valkey() {
  mkdir -p "$VK_DIR"
  VALKEY_PASSWORD=$(gen_secret "$STATE/secrets/valkey-password")
  local before=${#LAUNCHED[@]}
  start_valkey_one primary "$VALKEY_PORT" VALKEY_PORT
  start_valkey_one replica "$VALKEY_REPLICA_PORT" VALKEY_REPLICA_PORT
  ((${#LAUNCHED[@]} > before)) || return 0
  local deadline=$((SECONDS + START_TIMEOUT)) role pid out
  for role in primary replica; do
    while :; do
      pid=$(pid_from "$VK_DIR/$role.pid")
      alive "$pid" valkey-server || fail_start "valkey $role" "$VK_DIR/$role.log" "process exited"
      if [[ $role == primary ]]; then
        [[ $(vk_cli "$VALKEY_PORT" PING 2>/dev/null || true) == PONG ]] && break
      else
        out=$(vk_cli "$VALKEY_REPLICA_PORT" INFO replication 2>/dev/null || true)
        [[ $out == *master_link_status:up* ]] && break
      fi
      ((SECONDS < deadline)) || fail_start "valkey $role" "$VK_DIR/$role.log" "not ready after ${START_TIMEOUT}s"
      sleep 0.2
    done
  done
  log "valkey: ready (replica in sync: master_link_status:up)"
}

stop_valkey() {
  local role pid
  for role in replica primary; do
    pid=$(pid_from "$VK_DIR/$role.pid")
    if [[ -n $pid ]]; then
      # SIGTERM: Valkey fsyncs the AOF and exits cleanly.
      terminate "valkey $role" "$pid" valkey-server 30
    fi
    rm -f "$VK_DIR/$role.pid" "$VK_DIR/$role.server.pid"
  done
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ

rmq_env() {
  # Everything RabbitMQ reads or writes lives under $RMQ_DIR (the HOME there holds the cookie).
  export HOME=$RMQ_DIR/home
  export RABBITMQ_NODENAME=$RMQ_NODE
  export RABBITMQ_NODE_IP_ADDRESS=$HOST
  export RABBITMQ_NODE_PORT=$RABBITMQ_PORT
  export RABBITMQ_DIST_PORT=$RMQ_DIST_PORT
  export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RMQ_DIR/log
  export RABBITMQ_PID_FILE=$RMQ_DIR/rabbitmq.pid
  export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config
  export RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
  export RABBITMQ_LOGS=$RMQ_DIR/log/rabbit.log
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} $RABBITMQ_ERL_ARGS"
  export ERL_EPMD_ADDRESS=$HOST
  export ERL_EPMD_PORT=$EPMD_PORT
  export ERL_CRASH_DUMP=$RMQ_DIR/erl_crash.dump
}

rmqctl() { (rmq_env && "$RMQ_LIB/rabbitmqctl" -q "$@"); }

rmq_files() {
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  chmod 700 "$RMQ_DIR/home"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  echo '[].' >"$RMQ_DIR/advanced.config"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# generated by deps.sh start
listeners.tcp.1 = $HOST:$RABBITMQ_PORT
loopback_users.guest = true
log.console = false
log.file.level = info
vm_memory_high_watermark.relative = 0.3
disk_free_limit.absolute = 200MB
raft.wal_max_size_bytes = $RABBITMQ_WAL_MAX_BYTES
EOF
}

start_epmd() {
  local pid
  pid=$(pid_from "$RMQ_DIR/epmd.pid")
  if alive "$pid" epmd; then return 0; fi
  rm -f "$RMQ_DIR/epmd.pid"
  if port_open "$EPMD_PORT"; then
    log "epmd: one is already listening on $EPMD_PORT (not ours); using it"
    return 0
  fi
  local epmd
  epmd=$(command -v epmd || true)
  [[ -n $epmd ]] || epmd=$(find /usr/lib/erlang -name epmd -type f -path '*/bin/*' | head -n 1)
  [[ -n $epmd ]] || die "epmd not found (is erlang-base installed?)"
  pid=$(launch "$RMQ_DIR/epmd.pid" "$RMQ_DIR/epmd.log" "$epmd" -address "$HOST" -port "$EPMD_PORT")
  local i
  for i in $(seq 50); do
    port_open "$EPMD_PORT" && break
    alive "$pid" epmd || fail_start epmd "$RMQ_DIR/epmd.log" "process exited"
    [[ $i -lt 50 ]] || fail_start epmd "$RMQ_DIR/epmd.log" "not listening on $EPMD_PORT"
    sleep 0.1
  done
  log "epmd: started (pid $pid, $HOST:$EPMD_PORT)"
}

start_rabbitmq() {
  local pid
  pid=$(pid_from "$RMQ_DIR/rabbitmq.pid")
  if alive "$pid" beam; then
    log "rabbitmq: already running (pid $pid, $HOST:$RABBITMQ_PORT)"
    return 0
  fi
  ensure_port_free rabbitmq "$RABBITMQ_PORT" RABBITMQ_PORT
  ensure_port_free "rabbitmq distribution" "$RMQ_DIST_PORT" RABBITMQ_PORT
  rm -f "$RMQ_DIR/rabbitmq.pid"
  rmq_files
  LAUNCHED+=(rabbitmq)
  start_epmd
  local wrapper waiter rc=0
  wrapper=$(rmq_env && launch "$RMQ_DIR/server-wrapper.pid" "$RMQ_DIR/server.out" "$RMQ_LIB/rabbitmq-server")
  # `rabbitmqctl wait` waits for the pid file, then for the node to boot (await_startup is only
  # meaningful once the node is known to exist). Meanwhile: give up at once if the server dies.
  rmqctl wait --timeout "$START_TIMEOUT" "$RMQ_DIR/rabbitmq.pid" >>"$RMQ_DIR/wait.out" 2>&1 &
  waiter=$!
  while kill -0 "$waiter" 2>/dev/null; do
    if ! alive "$wrapper"; then
      kill "$waiter" 2>/dev/null || true
      wait "$waiter" 2>/dev/null || true
      tail_log rabbitmq "$RMQ_DIR/log/rabbit.log"
      fail_start rabbitmq "$RMQ_DIR/server.out" "the server exited during boot"
    fi
    sleep 0.5
  done
  wait "$waiter" || rc=$?
  if ((rc != 0)); then
    tail_log "rabbitmqctl wait" "$RMQ_DIR/wait.out"
    tail_log rabbitmq "$RMQ_DIR/log/rabbit.log"
    fail_start rabbitmq "$RMQ_DIR/server.out" "not ready after ${START_TIMEOUT}s"
  fi
  pid=$(pid_from "$RMQ_DIR/rabbitmq.pid")
  log "rabbitmq: started (pid $pid, $HOST:$RABBITMQ_PORT, node $RMQ_NODE)"
  set_cpu_weight rabbitmq "$pid" "$RABBITMQ_AUTOGROUP_NICE"

  # the user: created on first start; its password is re-set in case the secret file changed
  local pw users
  pw=$(gen_secret "$STATE/secrets/rabbitmq-password")
  users=$(rmqctl list_users | awk '{print $1}')
  if grep -qx tweets <<<"$users"; then
    rmqctl change_password tweets "$pw" >/dev/null
  else
    rmqctl add_user tweets "$pw" >/dev/null
    rmqctl set_permissions -p / tweets '.*' '.*' '.*' >/dev/null
  fi
  if grep -qx guest <<<"$users"; then
    rmqctl delete_user guest >/dev/null
  fi
  log "rabbitmq: ready (user tweets with full permissions on /, no guest)"
}

stop_rabbitmq() {
  local pid wrapper epmd
  pid=$(pid_from "$RMQ_DIR/rabbitmq.pid")
  wrapper=$(pid_from "$RMQ_DIR/server-wrapper.pid")
  if alive "$pid" beam; then
    # `rabbitmqctl stop <pidfile>` halts the node and waits for its process to exit
    if rmqctl stop "$RMQ_DIR/rabbitmq.pid" >/dev/null 2>&1 && wait_pid_exit "$pid" 30; then
      log "rabbitmq: stopped (pid $pid)"
    else
      warn "rabbitmqctl stop did not stop the node; sending SIGTERM"
      terminate rabbitmq "$pid" beam 60
    fi
  elif [[ -n $pid ]]; then
    log "rabbitmq: not running (stale pid $pid)"
  fi
  if [[ -n $wrapper ]] && alive "$wrapper" && ! wait_pid_exit "$wrapper" 10; then
    # the node never wrote its pid file (a hung boot): end the wrapper's process group
    warn "rabbitmq-server (pid $wrapper) still runs; sending SIGTERM to its process group"
    kill -TERM -- "-$wrapper" 2>/dev/null || true
    wait_pid_exit "$wrapper" 30 || kill -KILL -- "-$wrapper" 2>/dev/null || true
  fi
  epmd=$(pid_from "$RMQ_DIR/epmd.pid")
  if [[ -n $epmd ]]; then
    terminate epmd "$epmd" epmd 10
  fi
  rm -f "$RMQ_DIR/rabbitmq.pid" "$RMQ_DIR/server-wrapper.pid" "$RMQ_DIR/epmd.pid"
}

# ---------------------------------------------------------------------------------------------
# Kafka

KF_DIR=$STATE/kafka
kafka_java() {
  # a short-lived Kafka tool (StorageTool, TopicCommand)
  java -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KF_DIR/log4j2-tools.properties" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_files() {
  mkdir -p "$KF_DIR/data" "$KF_DIR/logs"
  cat >"$KF_DIR/server.properties" <<EOF
# generated by deps.sh start: single-node KRaft (broker + controller) on loopback
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KF_DIR/data
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF
  cat >"$KF_DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
EOF
  cat >"$KF_DIR/log4j2-tools.properties" <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
  printf 'default.api.timeout.ms=20000\nrequest.timeout.ms=10000\n' >"$KF_DIR/admin.properties"
}

# launch_kafka: format on first start and launch the broker (adds kafka to LAUNCHED).
launch_kafka() {
  local pid
  pid=$(pid_from "$KF_DIR/kafka.pid")
  if alive "$pid" java; then
    log "kafka: already running (pid $pid, $HOST:$KAFKA_PORT)"
    return 0
  fi
  [[ -f $KAFKA_LIBS/.complete ]] || die "Kafka jars missing in $KAFKA_LIBS: run deps.sh install"
  ensure_port_free kafka "$KAFKA_PORT" KAFKA_PORT
  ensure_port_free "kafka controller" "$KAFKA_CONTROLLER_PORT" KAFKA_CONTROLLER_PORT
  kafka_files
  if [[ ! -f $KF_DIR/data/meta.properties ]]; then
    local id
    id=$(kafka_java kafka.tools.StorageTool random-uuid)
    echo "$id" >"$KF_DIR/cluster-id"
    log "kafka: formatting storage (cluster id $id)"
    kafka_java kafka.tools.StorageTool format -t "$id" -c "$KF_DIR/server.properties" --ignore-formatted \
      >>"$KF_DIR/kafka.out" 2>&1 || fail_start kafka "$KF_DIR/kafka.out" "StorageTool format failed"
  fi
  LAUNCHED+=(kafka)
  local jvm_opts
  read -r -a jvm_opts <<<"$KAFKA_JVM_OPTS"
  pid=$(launch "$KF_DIR/kafka.pid" "$KF_DIR/kafka.out" java "${jvm_opts[@]}" \
    -Xlog:gc:file="$KF_DIR/logs/gc.log":time,uptime:filecount=2,filesize=10m \
    -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$KF_DIR/log4j2.properties" -Dkafka.logs.dir="$KF_DIR/logs" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KF_DIR/server.properties")
  log "kafka: started (pid $pid, $HOST:$KAFKA_PORT, controller $HOST:$KAFKA_CONTROLLER_PORT)"
  set_cpu_weight kafka "$pid" "$KAFKA_AUTOGROUP_NICE"
}

# wait_kafka: until a client fetches metadata and the topic exists with 6 partitions.
wait_kafka() {
  local pid deadline=$((SECONDS + START_TIMEOUT))
  pid=$(pid_from "$KF_DIR/kafka.pid")
  until port_open "$KAFKA_PORT"; do
    alive "$pid" java || fail_start kafka "$KF_DIR/kafka.out" "process exited"
    ((SECONDS < deadline)) || fail_start kafka "$KF_DIR/kafka.out" "port $KAFKA_PORT not open after ${START_TIMEOUT}s"
    sleep 0.3
  done
  # metadata fetch + topic: create it (no-op when it exists), then check its partitions
  local out
  until out=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$KF_DIR/admin.properties" --create --if-not-exists --topic "$TOPIC" \
    --partitions 6 --replication-factor 1 2>&1); do
    alive "$pid" java || fail_start kafka "$KF_DIR/kafka.out" "process exited"
    ((SECONDS < deadline)) || { printf '%s\n' "$out" >&2; fail_start kafka "$KF_DIR/kafka.out" "topic $TOPIC could not be created"; }
    sleep 1
  done
  out=$(kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" \
    --command-config "$KF_DIR/admin.properties" --describe --topic "$TOPIC" 2>&1) ||
    { printf '%s\n' "$out" >&2; fail_start kafka "$KF_DIR/kafka.out" "cannot describe topic $TOPIC"; }
  [[ $out == *"PartitionCount: 6"* ]] || warn "topic $TOPIC exists with other than 6 partitions: $(head -n 1 <<<"$out")"
  log "kafka: ready (metadata fetched, topic $TOPIC with 6 partitions)"
}

stop_kafka() {
  local pid
  pid=$(pid_from "$KF_DIR/kafka.pid")
  if [[ -n $pid ]]; then
    terminate kafka "$pid" java 60
  fi
  rm -f "$KF_DIR/kafka.pid"
}

# ---------------------------------------------------------------------------------------------
# commands

write_env() {
  local vpw rpw
  vpw=$(cat "$STATE/secrets/valkey-password")
  rpw=$(cat "$STATE/secrets/rabbitmq-password")
  (
    umask 077
    cat >"$STATE/env.tmp" <<EOF
# Tweets del Clima local dependencies, written by proyecto3/local/deps.sh start.
# Use: . $STATE/env
export VALKEY_ADDR=$HOST:$VALKEY_PORT
export VALKEY_REPLICA_ADDR=$HOST:$VALKEY_REPLICA_PORT
export VALKEY_PASSWORD=$vpw
export RABBITMQ_URL=amqp://$HOST:$RABBITMQ_PORT/
export RABBITMQ_USERNAME=tweets
export RABBITMQ_PASSWORD=$rpw
export RABBITMQ_QUEUE=$QUEUE
export KAFKA_BROKERS=$HOST:$KAFKA_PORT
export KAFKA_TOPIC=$TOPIC
EOF
  )
  mv "$STATE/env.tmp" "$STATE/env"
}

lock_state() {
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another deps.sh holds $STATE/.lock"
}

components() {
  # components [C...] -> validated list (default: all)
  local c
  if (($# == 0)); then set -- valkey rabbitmq kafka; fi
  for c in "$@"; do
    case $c in valkey | rabbitmq | kafka) echo "$c" ;; *) die "unknown component '$c' (valkey, rabbitmq, kafka)" ;; esac
  done
}

# On a failed start, stop what this start launched (its logs stay), unless TWEETS_KEEP_ON_FAIL=1.
LAUNCHED=()
cleanup_failed_start() {
  local rc=$? c
  trap - EXIT
  if ((rc != 0)) && ((${#LAUNCHED[@]})) && [[ ${TWEETS_KEEP_ON_FAIL:-0} != 1 ]]; then
    warn "start failed: stopping what it launched ($(printf '%s\n' "${LAUNCHED[@]}" | sort -u | tr '\n' ' ')); logs stay in $STATE"
    for c in kafka rabbitmq valkey; do
      if printf '%s\n' "${LAUNCHED[@]}" | grep -qx "$c"; then "stop_$c" || true; fi
    done
  fi
  exit "$rc"
}

cmd_start() {
  if ! command -v valkey-server >/dev/null || [[ ! -x $RMQ_LIB/rabbitmq-server || ! -f $KAFKA_LIBS/.complete ]]; then
    die "dependencies are not installed: run deps.sh install"
  fi
  lock_state
  reserve_service_ports log
  mkdir -p "$STATE/secrets"
  chmod 700 "$STATE/secrets"
  if cmd_status >/dev/null 2>&1; then
    write_env
    if [[ -n ${TWEETS_STARTED_FILE:-} ]]; then : >"$TWEETS_STARTED_FILE"; fi
    log "all dependencies are already running (deps.sh status); env: $STATE/env"
    return 0
  fi
  trap cleanup_failed_start EXIT
  local t0=$SECONDS
  # Kafka boots in the background while Valkey and RabbitMQ start and are checked.
  launch_kafka
  start_valkey
  start_rabbitmq
  if printf '%s\n' "${LAUNCHED[@]}" | grep -qx kafka; then wait_kafka; fi
  write_env
  trap - EXIT
  # For a caller that stops exactly what this start launched (test.sh): decided under the lock.
  if [[ -n ${TWEETS_STARTED_FILE:-} ]]; then
    if ((${#LAUNCHED[@]})); then printf '%s\n' "${LAUNCHED[@]}" | sort -u; fi >"$TWEETS_STARTED_FILE"
  fi
  log "all dependencies ready in $((SECONDS - t0))s; env: $STATE/env"
}

cmd_stop() {
  local purge=0 args=() c
  for c in "$@"; do
    if [[ $c == --purge ]]; then purge=1; else args+=("$c"); fi
  done
  [[ -d $STATE ]] || { log "nothing to stop ($STATE does not exist)"; return 0; }
  lock_state
  local list
  list=$(components "${args[@]}")
  # stop in reverse order of start
  for c in kafka rabbitmq valkey; do
    grep -qx "$c" <<<"$list" || continue
    "stop_$c"
    if ((purge)); then
      case $c in
        valkey) rm -rf "$VK_DIR" "$STATE/secrets/valkey-password" ;;
        rabbitmq) rm -rf "$RMQ_DIR" "$STATE/secrets/rabbitmq-password" ;;
        kafka) rm -rf "$KF_DIR" ;;
      esac
      log "$c: data purged"
    fi
  done
  if ((purge)) && [[ $(wc -l <<<"$list") -eq 3 ]]; then
    rm -rf "$STATE"
    log "state dir $STATE removed"
  fi
}

cmd_status() {
  local list c rc=0 pid
  list=$(components "$@")
  status_line() { printf '%-16s %-8s %s\n' "$1" "$2" "$3"; }
  for c in $list; do
    case $c in
      valkey)
        for role in primary replica; do
          local port=$VALKEY_PORT
          [[ $role == replica ]] && port=$VALKEY_REPLICA_PORT
          pid=$(pid_from "$VK_DIR/$role.pid")
          if alive "$pid" valkey-server; then status_line "valkey-$role" running "pid $pid, $HOST:$port"
          else status_line "valkey-$role" stopped ""; rc=3; fi
        done
        ;;
      rabbitmq)
        pid=$(pid_from "$RMQ_DIR/rabbitmq.pid")
        if alive "$pid" beam; then status_line rabbitmq running "pid $pid, $HOST:$RABBITMQ_PORT, node $RMQ_NODE"
        else status_line rabbitmq stopped ""; rc=3; fi
        pid=$(pid_from "$RMQ_DIR/epmd.pid")
        if alive "$pid" epmd; then status_line epmd running "pid $pid, $HOST:$EPMD_PORT"; fi
        ;;
      kafka)
        pid=$(pid_from "$KF_DIR/kafka.pid")
        if alive "$pid" java; then status_line kafka running "pid $pid, $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
        else status_line kafka stopped ""; rc=3; fi
        ;;
    esac
  done
  return "$rc"
}

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      [[ -z $cmd ]] || printf '\nunknown command: %s\n' "$cmd" >&2
      exit 2
      ;;
  esac
}

main "$@"
