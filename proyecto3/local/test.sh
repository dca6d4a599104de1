#!/usr/bin/env bash
# The project's test command: bash proyecto3/local/test.sh
#
# Installs and starts the local dependencies (proyecto3/local/deps.sh), exports their addresses
# and TWEETS_INTEGRATION=1 (tests that need a broker then FAIL instead of skipping), and runs
# every suite it discovers under proyecto3/:
#   - go test -count=1 ./...            in every directory holding a go.mod
#   - cargo test, cargo clippy -D warnings  in every Cargo project (workspace root or standalone)
#   - every executable proyecto3/**/checks/*.sh (generated code, dashboard, Locust, ...)
# (shellcheck of the scripts is a test of proyecto3/validate.)
# It ends with a table (suite, result, seconds) and the line `N passed, N failed`; the exit
# status is non-zero when a suite failed.
#
# Environment: TWEETS_GO_RACE=0 drops -race (default: -race for the services' module
# proyecto3/src, where the concurrency is; not for static checks like proyecto3/validate, whose
# race build costs minutes); TWEETS_GO_RACE=all uses it everywhere; TWEETS_KEEP_DEPS=1 leaves the
# dependencies running; TWEETS_TEST_FILTER=REGEX runs only the suites whose name matches.
# Dependencies that were already running before are left running.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P3=$ROOT/proyecto3
DEPS=$P3/local/deps.sh
# The tests check behaviour, not speed: the consumers and the Valkey servers they start keep the
# default CPU weight (the local run's low one, local/cpu-weight.sh, would put them behind the test
# binaries and compilers that share the machine).
export OFFPATH_AUTOGROUP_NICE=''
STATE=${TWEETS_STATE:-/tmp/tweets-local}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/tweets-test.XXXXXX")
FILTER=${TWEETS_TEST_FILTER:-}

NAMES=()
RESULTS=()
TIMES=()

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }
banner() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

record() { # record NAME RESULT MILLISECONDS
  NAMES+=("$1")
  RESULTS+=("$2")
  TIMES+=("$(secs "$3")")
  printf '<== %s: %s (%ss)\n' "$1" "$2" "$(secs "$3")"
}

# ---------------------------------------------------------------------------------------------
# dependencies

STOP_LIST=()
stop_deps() {
  if ((${#STOP_LIST[@]})) && [[ ${TWEETS_KEEP_DEPS:-0} != 1 ]]; then
    banner "stopping the dependencies this run started: ${STOP_LIST[*]}"
    bash "$DEPS" stop "${STOP_LIST[@]}" || true
  elif [[ ${TWEETS_KEEP_DEPS:-0} == 1 ]]; then
    note "TWEETS_KEEP_DEPS=1: the dependencies keep running (stop: bash $DEPS stop)"
  fi
  STOP_LIST=()
  rm -rf "$LOGS"
}
trap stop_deps EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

deps() {
  local t0 rc
  banner "deps install"
  t0=$(now_ms)
  bash "$DEPS" install
  rc=$?
  record "deps install" "$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)" $(($(now_ms) - t0))
  ((rc == 0)) || return 1

  banner "deps start"
  t0=$(now_ms)
  # deps.sh writes (under its lock) which components this start launched: only those are stopped
  # at the end; whatever ran before, for another run or a developer, keeps running. A failed
  # start stops what it launched by itself.
  TWEETS_STARTED_FILE=$LOGS/started bash "$DEPS" start
  rc=$?
  if [[ -s $LOGS/started ]]; then mapfile -t STOP_LIST <"$LOGS/started"; fi
  record "deps start" "$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)" $(($(now_ms) - t0))
  ((rc == 0)) || return 1
  # shellcheck source=/dev/null
  . "$STATE/env"
}

# ---------------------------------------------------------------------------------------------
# suite runners; each returns 0 pass, 1 fail, 2 empty (nothing to run)

# go test -json, shown like plain `go test` (streaming: one line per package as it finishes; the
# full output of failed tests only) followed by a count of tests.
read -r -d '' GO_FILTER <<'PY'
import json, sys
from collections import defaultdict
buf = defaultdict(list)
n = defaultdict(int)
def out(s):
    sys.stdout.write(s); sys.stdout.flush()
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        out(line); continue
    if not isinstance(ev, dict) or "Action" not in ev:
        out(line); continue
    a, pkg, test = ev["Action"], ev.get("Package", ev.get("ImportPath", "")), ev.get("Test")
    if a == "build-output":
        out(ev.get("Output", "")); continue
    if test:
        key = (pkg, test)
        if a == "output":
            buf[key].append(ev["Output"])
        elif a in ("pass", "fail", "skip"):
            n["test " + a] += 1
            lines = buf.pop(key, [])
            if a == "fail":
                out("".join(lines))
            elif a == "skip" and "/" not in test:
                reason = [l.strip() for l in lines if l.strip() and not l.lstrip().startswith(("=== ", "--- "))]
                out("    --- SKIP: %s %s%s\n" % (pkg, test, (": " + reason[-1]) if reason else ""))
        continue
    if a == "output":
        o = ev["Output"]
        if o.strip() not in ("PASS", "FAIL") and not o.startswith(("=== RUN", "=== PAUSE", "=== CONT")):
            out(o)
    elif a in ("pass", "fail", "skip"):
        n["pkg " + a] += 1
for key, lines in buf.items():  # tests that never finished (a panic or a timeout)
    out("".join(lines))
print("go tests: %d passed, %d failed, %d skipped; packages: %d ok, %d failed, %d without tests"
      % (n["test pass"], n["test fail"], n["test skip"], n["pkg pass"], n["pkg fail"], n["pkg skip"]))
PY

go_suite() {
  local dir=$1 pkgs race=()
  cd "$dir" || return 1
  if ! pkgs=$(go list ./... 2>&1); then
    printf '%s\n' "$pkgs"
    return 1
  fi
  if ! grep -vq -e 'matched no packages' -e '^$' <<<"$pkgs"; then
    note "module $(go list -m 2>/dev/null) has no packages yet: nothing to test"
    return 2
  fi
  local want=${TWEETS_GO_RACE:-1}
  if [[ $want == all || ($want == 1 && $dir == "$P3/src") ]]; then
    if [[ $(go env CGO_ENABLED) == 1 ]] && command -v "$(go env CC)" >/dev/null; then
      race=(-race)
    else
      note "no cgo / C compiler: running without -race"
    fi
  fi
  note "go test -count=1 ${race[*]}${race[*]:+ }./...  ($(wc -l <<<"$pkgs") packages)"
  go test -count=1 "${race[@]}" -json ./... 2>&1 | python3 -u -c "$GO_FILTER"
  return "${PIPESTATUS[0]}"
}

cargo_test_suite() {
  local dir=$1 log=$LOGS/cargo-test.log rc
  cd "$dir" || return 1
  cargo test --color never 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  awk '/^test result:/ {p += $4; f += $6; i += $8} END {printf "cargo tests: %d passed, %d failed, %d ignored\n", p, f, i}' "$log"
  return "$rc"
}

cargo_clippy_suite() {
  cd "$1" || return 1
  cargo clippy --color never --all-targets -- -D warnings
}

check_suite() {
  cd "$ROOT" || return 1
  "$1"
}

# run_suite NAME FUNCTION ARGS...: header, timing, result (in a subshell: a suite's cd stays there)
run_suite() {
  local name=$1 t0 rc
  shift
  if [[ -n $FILTER && ! $name =~ $FILTER ]]; then return 0; fi
  banner "$name"
  t0=$(now_ms)
  ("$@")
  rc=$?
  case $rc in
    0) record "$name" PASS $(($(now_ms) - t0)) ;;
    2) record "$name" EMPTY $(($(now_ms) - t0)) ;;
    *) record "$name" FAIL $(($(now_ms) - t0)) ;;
  esac
}

rel() { local p=${1#"$ROOT"/}; echo "${p:-.}"; }

prune() { # find arguments that skip build output and vendored trees
  printf '%s\n' -type d '(' -name node_modules -o -name target -o -name .venv -o -name vendor -o -name .git -o -name __pycache__ ')' -prune -o
}

# ---------------------------------------------------------------------------------------------

main() {
  local t_all
  t_all=$(now_ms)
  printf 'Tweets del Clima tests  (repo %s, %s)\n' "$ROOT" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"

  if deps; then
    export TWEETS_INTEGRATION=1
    note "TWEETS_INTEGRATION=1; brokers: valkey $VALKEY_ADDR (replica $VALKEY_REPLICA_ADDR), rabbitmq $RABBITMQ_URL, kafka $KAFKA_BROKERS"
  else
    export TWEETS_INTEGRATION=1
    note "the dependencies are not ready: integration tests will fail"
  fi

  local d prunes=()
  mapfile -t prunes < <(prune)

  # Go modules: proyecto3/src first, then every other go.mod
  local gomods=()
  mapfile -t gomods < <(find "$P3" "${prunes[@]}" -type f -name go.mod -printf '%h\n' | sort)
  if command -v go >/dev/null; then
    [[ -f $P3/src/go.mod ]] && run_suite "go test $(rel "$P3/src")" go_suite "$P3/src"
    for d in "${gomods[@]}"; do
      [[ $d == "$P3/src" ]] && continue
      run_suite "go test $(rel "$d")" go_suite "$d"
    done
  elif ((${#gomods[@]})); then
    record "go" FAIL 0
    note "go is not installed"
  fi

  # Cargo projects: the outermost Cargo.toml of each tree (a workspace root tests its members)
  local cargos=() seen=() c s nested
  mapfile -t cargos < <(find "$P3" "${prunes[@]}" -type f -name Cargo.toml -printf '%h\n' | sort)
  for d in "${cargos[@]}"; do
    nested=0
    for s in "${seen[@]}"; do [[ $d == "$s"/* ]] && nested=1; done
    ((nested)) && continue
    seen+=("$d")
    run_suite "cargo test $(rel "$d")" cargo_test_suite "$d"
    if cargo clippy --version >/dev/null 2>&1; then
      run_suite "cargo clippy $(rel "$d")" cargo_clippy_suite "$d"
    else
      note "cargo clippy is not installed: skipped for $(rel "$d")"
    fi
  done

  # checks: every executable proyecto3/**/checks/*.sh
  local checks=()
  mapfile -t checks < <(find "$P3" "${prunes[@]}" -type f -path '*/checks/*.sh' -perm -u+x -print | sort)
  for c in "${checks[@]}"; do
    run_suite "check $(rel "$c")" check_suite "$c"
  done

  # the dependencies stop before the summary, so that the summary's last line ends the output
  stop_deps
  trap - EXIT

  # summary
  local i passed=0 failed=0 skipped=0
  printf '\n%-46s %-7s %8s\n' suite result seconds
  printf '%.0s-' {1..63}
  printf '\n'
  for i in "${!NAMES[@]}"; do
    printf '%-46s %-7s %8s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
    case ${RESULTS[$i]} in
      PASS) passed=$((passed + 1)) ;;
      FAIL) failed=$((failed + 1)) ;;
      *) skipped=$((skipped + 1)) ;;
    esac
  done
  printf '%.0s-' {1..63}
  printf '\n%-46s %-7s %8s\n' "total" "" "$(secs $(($(now_ms) - t_all)))"
  ((skipped)) && note "EMPTY: a suite with nothing to run yet (not counted as passed)"
  if ((skipped)); then
    printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  else
    printf '%d passed, %d failed\n' "$passed" "$failed"
  fi
  ((failed == 0))
}

main "$@"
