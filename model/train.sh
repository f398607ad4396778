#!/usr/bin/env bash
# make train: build the real-data tables (Rust), install pinned requirements, run the walk-forward protocol
# over every candidate, export the pick as model/artifacts/model.onnx, the calibrated imbalance model as
# baseline.onnx, golden.json, and model/reports/selection.json. Deterministic (seeded, 1 BLAS thread).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
PY=$(bash model/venv.sh)
BUILDER=$(bash model/datasets.sh | tail -n1)
"$PY" model/train.py --builder "$BUILDER" --data model/data --artifacts model/artifacts --reports model/reports
