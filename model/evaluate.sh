#!/usr/bin/env bash
# make evaluate: build the evaluation datasets (Rust), install pinned requirements, evaluate the committed
# models with onnxruntime → model/reports/evaluation.{json,md} + PNG plots.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0 MPLBACKEND=Agg
PY=$(bash model/venv.sh)
BUILDER=$(bash model/datasets.sh eval | tail -n1)
"$PY" model/evaluate.py --builder "$BUILDER" --data model/data --artifacts model/artifacts --reports model/reports
