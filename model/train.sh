#!/usr/bin/env bash
# make train: build datasets (Rust), install pinned requirements, train and export
# model/artifacts/{model,baseline,synthetic_only}.onnx + golden.json. Deterministic (seeded, 1 BLAS thread).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0
PY=$(bash model/venv.sh)
BUILDER=$(bash model/datasets.sh train | tail -n1)
"$PY" model/train.py --builder "$BUILDER" --data model/data --artifacts model/artifacts
