#!/usr/bin/env bash
# Builds the CSV tables model/train.py and model/evaluate.py read, with the Rust dataset-builder (the same
# market + features code the aggregator runs). Usage: model/datasets.sh train|eval
# Env: SHARED_DIR (default ../shared next to the repo), CARGO_TARGET_DIR (default target), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT=${1:?usage: model/datasets.sh train|eval}
SHARED=${SHARED_DIR:-$ROOT/../shared}
SPOT=$SHARED/data/market/hftbacktest/examples/spot
TARDIS=$SHARED/data/market/nautilus_trader/tests/test_data/tardis/trades.csv
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DATA=$ROOT/model/data

if [[ ! -f $SPOT/btcusdt_20240808.gz || ! -f $SPOT/btcusdt_20240809.gz ]]; then
  echo "model/datasets.sh: the real spot recording is not under $SPOT (set SHARED_DIR); cannot build the real-data tables" >&2
  exit 1
fi

cargo build -q --release -p dataset --bin dataset-builder -j"${JOBS:-2}"
BUILDER=$CARGO_TARGET_DIR/release/dataset-builder
mkdir -p "$DATA"

build() { # name args...
  local name=$1; shift
  echo "dataset $name: dataset-builder $*" >&2
  "$BUILDER" "$@" --out "$DATA/$name.csv.tmp"
  mv "$DATA/$name.csv.tmp" "$DATA/$name.csv"
}

REAL=(--recording "$SPOT/btcusdt_20240808.gz" --recording "$SPOT/btcusdt_20240809.gz")
# Evaluation tables (every 2 s, as the inference service ticks) are needed by both steps.
build synth_test_2s --synthetic --seed 101 --hours 2 --every-ms 2000 &
pid=$!
build real_spot_2s "${REAL[@]}" --every-ms 2000
wait "$pid"
if [[ -f $TARDIS ]]; then
  build tardis_trades_2s --tardis-trades "$TARDIS" --every-ms 2000
else
  echo "model/datasets.sh: SKIP Tardis trades table: $TARDIS not found" >&2
  rm -f "$DATA/tardis_trades_2s.csv"
fi
if [[ $WHAT == train ]]; then
  build synth_train_250ms --synthetic --seed 1 --hours 8 --every-ms 250 &
  pid=$!
  build real_spot_250ms "${REAL[@]}" --every-ms 250
  wait "$pid"
fi
echo "$BUILDER"
