#!/usr/bin/env bash
# Fails when the committed Grafana dashboard (proyecto3/grafana/dashboards/tweets.json) differs
# from what internal/dashboard builds now (regenerate: `go run ./cmd/dashgen` in proyecto3/src).
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/dashgen -check -out ../grafana/dashboards/tweets.json
