# shellcheck shell=bash
# Sourced by local/services.sh, bench/pipeline.sh and bench/replicas.sh: the one definition of
# QUIET_SYSMON, the environment of the Go processes that wait in the network poller (gateway,
# writer-rabbitmq, consumer-rabbitmq, the load generator).
#
# Go's sysmon thread sleeps deeply while every P is idle, and the first system call after that
# wakes it, after which it polls every 20 us for a while. A process that goes idle and busy
# again a thousand times a second (every Go service here at 1000 tweets/s) pays that on every
# burst: the gateway's sysmon thread made 3,900 context switches/s and used 5 % of a core
# (golang/go#18236: the sysmon tick is hardcoded). A schedtrace period set (here to its maximum,
# 24.8 days, so that no trace is ever printed in practice) keeps sysmon out of that deep sleep:
# it backs off to one wake-up every 10 ms instead. At 1000/s (3 interleaved rounds): gateway,
# writer-rabbitmq, consumer-rabbitmq and the load generator -19 to -23 % CPU each, and p50 8-9
# instead of 15-19 ms. Not for the Kafka writer and consumer: their librdkafka calls block in
# cgo, which sysmon then polls at 20 us; consumer-kafka used +90 % CPU with it
# (docs/benchmarks.md, "Less CPU per tweet"). The manifests set the same (kustomize/base).
# QUIET_SYSMON= (empty) runs without it, to compare.
QUIET_SYSMON=${QUIET_SYSMON-GODEBUG=schedtrace=2147483647}
