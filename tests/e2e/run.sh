#!/usr/bin/env bash
# End-to-end suite (issue 11): Redis, kinesalite, exchange-sim (real spot recording replay, or the
# synthetic market when ../shared/data/market is absent), ingestor, aggregator, inference,
# Prometheus (project rules) and Alertmanager (routing to a webhook receiver run by the test), all
# on 127.0.0.1 with free ports; steady-state assertions, then chaos scenarios. See docs/e2e.md.
#
#   tests/e2e/run.sh [--short] [--profile debug|release] [--speed N] [--scenarios a,b,...]
#                    [--keep-run-dir]
#
#   --short      replay at speed 6 + steady checks + 3 chaos scenarios (gap, kill_aggregator,
#                kill_inference); what `make test` runs. Default: speed 3 and all 7 scenarios.
#   --profile    target/<profile> binaries (default debug = what `cargo build --workspace` makes;
#                also from $PROFILE).
# Logs, configs, Prometheus data and report.json live in target/e2e/<timestamp>/ (E2E_RUN_DIR
# overrides). Every process is stopped on exit (by recorded PID). Exit status 0 = every check passed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
profile="${PROFILE:-debug}"
limit="${E2E_TIMEOUT_SECS:-}"
args=()
short=0
while [ $# -gt 0 ]; do
  case "$1" in
    --short) short=1; args+=("$1") ;;
    --profile) profile="$2"; shift ;;
    --speed|--scenarios|--seed|--data) args+=("$1" "$2"); shift ;;
    --keep-run-dir) ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
  shift
done
if [ -z "$limit" ]; then
  if [ "$short" -eq 1 ]; then limit=600; else limit=1500; fi
fi

run_dir="${E2E_RUN_DIR:-$root/target/e2e/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$run_dir/pids"
bin_dir="${CARGO_TARGET_DIR:-$root/target}/$profile"

missing=()
for tool in redis-server node prometheus prometheus-alertmanager prometheus-redis-exporter python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -d "$root/.local/node/node_modules/kinesalite" ] || missing+=("kinesalite (.local/node)")
for bin in exchange-sim ingestor aggregator inference metrics-schema; do
  [ -x "$bin_dir/$bin" ] || missing+=("$bin_dir/$bin (cargo build --workspace$([ "$profile" = debug ] || echo " --profile $profile"))")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'e2e: missing: %s\n' "${missing[@]}" >&2
  echo "e2e: run 'make bootstrap' and build the binaries first" >&2
  exit 2
fi

# Safety net: whatever happens to the python driver, stop every process it recorded (by PID).
cleanup() {
  local f pid
  for f in "$run_dir"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      echo "e2e: stopping leftover $(basename "$f" .pid) (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      sleep 1
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}
trap cleanup EXIT

if [ "$short" -eq 1 ]; then
  echo "e2e: SHORT variant (make test): replay (speed 6) + steady-state checks + chaos gap, kill_aggregator, kill_inference;"
  echo "e2e: 'make e2e' runs the full suite (all 7 chaos scenarios)."
fi
echo "e2e: profile $profile, run dir $run_dir, time limit ${limit}s"
rc=0
timeout --signal=TERM --kill-after=30 "$limit" \
  python3 "$root/tests/e2e/e2e.py" --run-dir "$run_dir" --profile "$profile" "${args[@]}" || rc=$?
if [ "$rc" -eq 124 ]; then echo "e2e: FAIL: time limit of ${limit}s reached"; fi
exit "$rc"
