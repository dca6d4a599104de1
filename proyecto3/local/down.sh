#!/usr/bin/env bash
# Stops exactly what up.sh started: our services first, then Valkey, RabbitMQ and Kafka.
# down.sh --purge also deletes their data.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/services.sh" stop
bash "$HERE/deps.sh" stop "$@"
