#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each, one after another, on the stable toolchain.
#   fuzz/run.sh SECONDS            (SANITIZER=address to build with ASan; default none: the
#                                   decoders are safe Rust, so speed matters more than ASan)
# Installs cargo-fuzz when missing. Logs and crash artifacts go to fuzz/artifacts/<target>/;
# the corpus persists in fuzz/corpus/<target>/ (seeded from fuzz/seeds/<target>/). Prints the exec count of each target at the end.
set -euo pipefail
secs="${1:?usage: fuzz/run.sh SECONDS}"
cd "$(dirname "$0")"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# cargo-fuzz passes nightly -Z flags; a stable rustc accepts them with RUSTC_BOOTSTRAP=1.
export RUSTC_BOOTSTRAP=1
sanitizer="${SANITIZER:-none}"
targets=$(cargo fuzz list)
status=0
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  # valid frames to start from (hand-assembled from the published layouts)
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  echo "== $t: ${secs}s"
  if cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=8192 -print_final_stats=1 >"artifacts/$t/run.log" 2>&1; then
    echo "   ok"
  else
    echo "   FAILED (see fuzz/artifacts/$t/run.log)"; status=1
  fi
done
echo "== exec counts"
for t in $targets; do
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "artifacts/$t/run.log" | grep -Eo '[0-9]+$' || echo "?")
  echo "$t: $runs execs in ${secs}s"
done
exit $status
