# shellcheck shell=bash
# Sourced by local/deps.sh and local/services.sh. The services' gRPC ports here (gateway 50050,
# writer-kafka 50051, writer-rabbitmq 50052; docs/contracts.md) lie inside the kernel's range of
# ephemeral ports (32768-60999 by default), so any process's outgoing connection may get one of
# them as its local port, and the service that starts next then fails with "bind: address
# already in use" (seen once, 2026-11-28 03:05 UTC, writer-rabbitmq). Reserving them keeps the
# kernel from handing them out. deps.sh reserves them before Valkey, RabbitMQ and Kafka open any
# connection; services.sh again, for dependencies started before this existed. Needs root
# (writes /proc/sys); without it, a warning and the old odds.
SERVICE_PORTS_RESERVED=50050-50052

reserve_service_ports() { # <log function>
  local say=$1 f=/proc/sys/net/ipv4/ip_local_reserved_ports cur
  cur=$(cat "$f" 2>/dev/null) || return 0
  [[ ",$cur," == *",$SERVICE_PORTS_RESERVED,"* ]] && return 0
  if { printf '%s\n' "${cur:+$cur,}$SERVICE_PORTS_RESERVED" >"$f"; } 2>/dev/null; then
    "$say" "reserved ports $SERVICE_PORTS_RESERVED: the kernel no longer gives them to outgoing connections"
  else
    "$say" "WARNING: cannot reserve ports $SERVICE_PORTS_RESERVED ($f not writable): an outgoing connection may take one"
  fi
}
