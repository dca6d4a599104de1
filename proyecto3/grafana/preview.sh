#!/usr/bin/env bash
# Renders proyecto3/docs/img/dashboard-preview.png: every panel's query run against Valkey the way
# the redis-datasource plugin sends it (go run ./cmd/dashgen -preview), drawn as HTML and
# photographed with headless Chromium (Grafana itself does not run here).
#
#   proyecto3/grafana/preview.sh                       read a running local system (VALKEY_ADDR,
#                                                      default 127.0.0.1:6379, db 0; read-only)
#   SEED=3000 VALKEY_DB=9 proyecto3/grafana/preview.sh first write 3000 random tweets into db 9
#                                                      through internal/store (flushes db 9 only)
#
# Needs: Go, chromium (apt-get install chromium). VALKEY_PASSWORD is read from the environment.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$ROOT/docs/img/dashboard-preview.png}
ADDR=${VALKEY_ADDR:-127.0.0.1:6379}
DB=${VALKEY_DB:-0}
SEED=${SEED:-0}
SEED_OVER=${SEED_OVER:-20s}
WINDOW=${WINDOW:-30m}
CARNET=${CARNET:-201900000}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(-preview "$tmp/preview.html" -valkey-addr "$ADDR" -valkey-db "$DB" -window "$WINDOW" -carnet "$CARNET")
if ((SEED > 0)); then args+=(-seed "$SEED" -seed-over "$SEED_OVER"); fi
(cd "$ROOT/src" && go run ./cmd/dashgen "${args[@]}")
mkdir -p "$(dirname "$OUT")"
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --hide-scrollbars --user-data-dir="$tmp/chromium" \
  --window-size=1400,2000 --screenshot="$OUT" "file://$tmp/preview.html" 2>"$tmp/chromium.log" ||
  { cat "$tmp/chromium.log" >&2; exit 1; }
echo "wrote $OUT"
