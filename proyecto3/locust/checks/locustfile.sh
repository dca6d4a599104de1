#!/usr/bin/env bash
# Checks of the Locust side: the locustfile and the sampler compile, the input file follows its
# schema and every municipality/weather is drawn (unit tests), and a real Locust run against a
# stub api sends EXACTLY the capped number of requests, 0 failures, all 4x4 combinations —
# once in local mode and once distributed (master + 2 workers), where the cap must stay global.
# Locust is installed by run.sh into its cached venv when missing (needs PyPI the first time).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

python3 -m py_compile locustfile.py tweetgen.py accepted.py checks/stub_api.py checks/test_tweetgen.py
python3 -m unittest discover -s checks -p 'test_*.py' -q

tmp="$(mktemp -d)"
stub_pid=""
cleanup() { [[ -n "$stub_pid" ]] && kill "$stub_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

run_against_stub() { # $1 = label, $2 = total, rest = run.sh args (must put reports in $tmp/$label)
  local label="$1" total="$2"; shift 2
  python3 checks/stub_api.py > "$tmp/port" &
  stub_pid=$!
  for _ in $(seq 50); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
  local port; port="$(cat "$tmp/port")"
  ./run.sh --host "http://127.0.0.1:$port" --headless --total "$total" --run-time 2m \
    "$@" > "$tmp/$label.out" 2>&1 || { cat "$tmp/$label.out"; echo "FAIL $label: run.sh exited non-zero" >&2; exit 1; }
  local counts; counts="$(curl -fsS "http://127.0.0.1:$port/counts")"
  kill "$stub_pid"; wait "$stub_pid" 2>/dev/null || true; stub_pid=""
  local stats; stats="$(ls "$tmp/$label"/*_stats.csv)"
  python3 - "$label" "$total" "$tmp/$label/summary.json" "$counts" "$(python3 accepted.py "$stats")" <<'PY'
import json, sys
label, total, summary, counts = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3])), json.loads(sys.argv[4])
problems = []
if int(sys.argv[5]) != total: problems.append(f"accepted.py says {sys.argv[5]}, want {total}")
if summary["requests"] != total: problems.append(f"locust sent {summary['requests']}, want {total}")
if summary["failures"] != 0: problems.append(f"{summary['failures']} failures")
if counts.get("total") != total: problems.append(f"stub accepted {counts.get('total')}, want {total}")
for k in ("m:mixco", "m:guatemala", "m:amatitlan", "m:chinautla", "w:sunny", "w:cloudy", "w:rainy", "w:foggy"):
    if not counts.get(k): problems.append(f"nothing for {k}")
if problems:
    sys.exit(f"FAIL {label}: " + "; ".join(problems))
print(f"ok   {label}: {total} requests, 0 failures, {summary['rps']} req/s, p95 {summary['p95_ms']} ms")
PY
  grep -q "== Locust summary" "$tmp/$label.out" || { echo "FAIL $label: no summary printed" >&2; exit 1; }
}

# As proyecto3/local/up.sh calls it (--csv PREFIX, reports beside it), then distributed.
run_against_stub local 300 --users 10 --csv "$tmp/local/locust"
LOCUST_MASTER_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')" \
  run_against_stub distributed 257 --users 10 --workers 2 --out "$tmp/distributed"
echo "locust checks passed"
