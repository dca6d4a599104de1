#!/usr/bin/env bash
# Check of bench/vm-attribution.py on a made-up run: 10 s at 100/s, one VM slow window
# (2.00-2.10 s), the requests due in 2.00-2.20 s slow (the window and the backlog after it) plus
# one slow request elsewhere (at 7 s). Expected: 20 of 21 slow requests in the window, which
# with 150 ms after it covers 2.5 % of the run; outside it 975 requests, 1 slow: p99 8 ms.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
t0 = 1_800_000_000_000.0
with open(f"{d}/trace.csv", "w") as f:
    f.write("due_unix_ms,late_ms,latency_ms,status\n")
    for i in range(1000):
        due = t0 + 10 * i
        slow = 2000 <= 10 * i < 2200 or 10 * i == 7000
        f.write(f"{due:.3f},0.100,{90.0 if slow else 8.0:.3f},202\n")
with open(f"{d}/windows.csv", "w") as f:
    f.write("start_unix_ms,end_unix_ms\n")
    f.write(f"{t0 + 2000:.3f},{t0 + 2100:.3f}\n")
PY
got=$(python3 "$HERE/vm-attribution.py" --trace "$dir/trace.csv" --windows "$dir/windows.csv")
want="VM slow windows: 1, covering 2.5 % of the run with 150 ms after each; they hold 20 of the 21 requests over 50 ms (95.2 %); p99 of the 975 requests due outside them: 8.0 ms"
if [[ $got != "$want" ]]; then
  printf 'vm-attribution.py printed:\n  %s\nwant:\n  %s\n' "$got" "$want" >&2
  exit 1
fi
echo "vm-attribution.py: $got"
