#!/usr/bin/env bash
# Fails when the committed generated code differs from what scripts/gen.sh produces now.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cp -r gen "$tmp/before"
scripts/gen.sh
if ! diff -ru "$tmp/before" gen; then
  echo "generated code is stale: run proyecto3/src/scripts/gen.sh and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"
