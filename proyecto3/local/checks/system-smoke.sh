#!/usr/bin/env bash
# Smoke test of the whole local system, for real: Locust (a few hundred requests, 10 users)
# → api → gateway → both writers → Kafka and RabbitMQ → both consumers → Valkey. up.sh fails
# unless Locust saw 0 failures, every request was accepted, and Valkey holds exactly that many
# tweets with both consumers drained. Our services are stopped afterwards; the dependencies are
# the test runner's.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
trap 'bash "$ROOT/local/services.sh" stop' EXIT
TWEETS_API_PROFILE=${TWEETS_API_PROFILE:-debug} TWEETS_TOTAL=${SMOKE_TOTAL:-300} TWEETS_USERS=10 \
  bash "$ROOT/local/up.sh"
