#!/usr/bin/env bash
# Static analysis of every Go module under proyecto3/: gofmt, go vet and staticcheck (pinned, so
# that a new release cannot fail a commit that passed). Prints each finding; fails on any.
set -euo pipefail
P3=$(cd "$(dirname "$0")/../.." && pwd)
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
fail=0
for mod in "$P3"/src "$P3"/validate; do
  cd "$mod"
  name=${mod#"$P3"/}
  before=$fail
  fail=0
  unformatted=$(gofmt -l .)
  if [[ -n $unformatted ]]; then
    printf '%s: not gofmt-formatted:\n%s\n' "$name" "$unformatted" >&2
    fail=1
  fi
  go vet ./... || { echo "$name: go vet found problems" >&2; fail=1; }
  go run "$STATICCHECK" ./... || { echo "$name: staticcheck found problems" >&2; fail=1; }
  if [[ $fail == 0 ]]; then echo "$name: gofmt, go vet, staticcheck clean"; fi
  fail=$((fail | before))
done
exit $fail
