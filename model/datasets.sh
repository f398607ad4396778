#!/usr/bin/env bash
# Builds the labelled CSV tables model/train.py and model/evaluate.py read, with the Rust dataset-builder (the
# same market + features code the aggregator runs), one 250 ms table per real dataset. Usage: model/datasets.sh
# Env: SHARED_DIR (default ../shared next to the repo), CARGO_TARGET_DIR (default target), JOBS (default 2),
#      DATASET_PROFILE (default dev: reuses the debug build; `release` for a faster builder).
# The synthetic market is not built here: it is never used for model selection (docs/model.md).
# ARCHIVE_DIR=<dir|file> adds the pipeline's own history (a downloaded Firehose archive or the local archive of
# `make run ARCHIVE_DIR=...`) as the table archive_250ms, pooled with the others; unset, that table is removed so
# a stale one is never trained on.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SHARED_DIR:-$ROOT/../shared}
MARKET=$SHARED/data/market
SPOT=$MARKET/hftbacktest/examples/spot
USDM=$MARKET/hftbacktest/examples/usdm/btcusdt_20240808.gz
DEPTH10=$MARKET/rlmm/data/converted/binance/BTCUSDT_depth10_20230109.jsonl.gz
TARDIS=$MARKET/nautilus_trader/tests/test_data/tardis/trades.csv
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DATA=$ROOT/model/data
PROFILE=${DATASET_PROFILE:-dev}

for f in "$SPOT/btcusdt_20240808.gz" "$SPOT/btcusdt_20240809.gz" "$USDM" "$DEPTH10"; do
  if [[ ! -f $f ]]; then
    echo "model/datasets.sh: real data file $f is missing (set SHARED_DIR); cannot build the real-data tables" >&2
    exit 1
  fi
done

cargo build -q --profile "$PROFILE" -p dataset --bin dataset-builder -j"${JOBS:-2}"
[[ $PROFILE == dev ]] && DIR=debug || DIR=$PROFILE
BUILDER=$CARGO_TARGET_DIR/$DIR/dataset-builder
mkdir -p "$DATA"

build() { # name args...
  local name=$1; shift
  echo "dataset $name: dataset-builder $*" >&2
  "$BUILDER" "$@" --every-ms 250 --out "$DATA/$name.csv.tmp"
  mv "$DATA/$name.csv.tmp" "$DATA/$name.csv"
}

build real_depth10_250ms --book-snapshots "$DEPTH10" &
pid=$!
build real_spot_250ms --recording "$SPOT/btcusdt_20240808.gz" --recording "$SPOT/btcusdt_20240809.gz"
build real_usdm_250ms --usdm-recording "$USDM"
wait "$pid"
if [[ -f $TARDIS ]]; then
  build tardis_trades_250ms --tardis-trades "$TARDIS"
else
  echo "model/datasets.sh: SKIP Tardis trades table: $TARDIS not found" >&2
  rm -f "$DATA/tardis_trades_250ms.csv"
fi
if [[ -n ${ARCHIVE_DIR:-} ]]; then
  build archive_250ms --archive "$ARCHIVE_DIR"
else
  rm -f "$DATA/archive_250ms.csv"
fi
echo "$BUILDER"
