# shellcheck shell=bash
# Sourced by local/deps.sh and local/services.sh: the CPU weight of the local servers.
#
# The kernel shares a busy CPU between session groups (autogroup, on by default in Debian), and
# every server here starts in a session of its own (setsid), so each gets an equal share whatever
# its threads' nice values: nice orders threads only inside one server. A server's weight is its
# group's, written to /proc/<pid>/autogroup. At 1000 tweets/s the local system keeps ~1.6 of the
# 2 cores busy and its threads wait ~2 s on the run queue for every second they run
# (bench/cpu-wait.py), so every hop of a request waits its turn behind every other server.
# On GKE each pod gets its CPU from its requests and limits instead; none of this applies there.
# Needs root (or CAP_SYS_NICE) and autogroup; without them a server runs at the default weight,
# with a log line. "" leaves a weight alone. docs/benchmarks.md, "CPU weight per server".
#
# KAFKA_AUTOGROUP_NICE (-10): a G1 pause stops every Kafka thread but its two GC threads, which
# then waited for a core two thirds of the time: pauses of 121-224 ms of which the GC threads ran
# 26-62 ms. With Kafka's group at -10 the pauses took 51-53 ms against 121-173 ms in interleaved
# blocks at 1000/s, with the same p50. Kafka uses ~8 % of the machine between pauses, so the
# weight takes little from the others.
KAFKA_AUTOGROUP_NICE=${KAFKA_AUTOGROUP_NICE--10}
# RABBITMQ_AUTOGROUP_NICE (-10): RabbitMQ runs on one Erlang scheduler thread, and every publish
# waits for several turns of it (read, route, append to the quorum queue's log, fsync, confirm);
# at the default weight that thread waited ~2.3 s for a core per second it ran. With its group at
# -10, in 16 interleaved rounds of 30 s at 1000/s (2026-11-28 20:00-20:58 UTC): p99 <= 50 ms in
# 10 of 16 runs against 2 of 16 (median p99 46.0 against 66.8 ms), the gateway's calls to
# writer-rabbitmq within 50 ms 99.40-99.85 % against 95.89-99.65 %, p50 the same; at 3000/s no
# difference (docs/benchmarks.md, "RabbitMQ's session group at -10").
RABBITMQ_AUTOGROUP_NICE=${RABBITMQ_AUTOGROUP_NICE--10}
# OFFPATH_AUTOGROUP_NICE (19): both consumers and both Valkey servers, which no client waits
# for: a tweet is accepted once both brokers hold it, and the consumers store it afterwards. At
# the lowest weight they run on what the acceptance path (load generator, gateway, writers,
# brokers) leaves, and the brokers hold the difference meanwhile. In interleaved 30 s blocks at
# 1000/s: p99 84.6-87.3 ms against 102.7-127.0 ms, p50 7.5-8.5 against 8.8-9.6 ms (4 of 4
# rounds), at +6 ms average end-to-end latency through Kafka and +1-2 ms through RabbitMQ; at
# 3000/s all 90,000 accepted with at most 832 and 1,497 in flight and the gateway at 119-122 MiB,
# against 88,118 and 89,961 with 2,000 (the client's cap) and 140-157 MiB, the consumers
# drained within 0.26 s of the load's end. local/test.sh sets it to "" (the tests check
# behaviour; the test binaries and compilers share the machine).
OFFPATH_AUTOGROUP_NICE=${OFFPATH_AUTOGROUP_NICE-19}

# set_cpu_weight NAME PID NICE: the CPU weight of PID's session group; logs with the caller's log.
set_cpu_weight() {
  local name=$1 pid=$2 nice=$3
  [[ -n $nice ]] || return 0
  if [[ $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) == 1 ]] &&
    { echo "$nice" >"/proc/$pid/autogroup"; } 2>/dev/null; then
    log "$name: CPU weight of its session group set to nice $nice"
  else
    log "$name: CPU weight left at the default (autogroup off, or no permission to set nice $nice)"
  fi
}
