#!/usr/bin/env bash
# make evaluate: build the real-data tables (Rust), install pinned requirements, re-run the walk-forward
# protocol for the served model's family and the baselines → model/reports/evaluation.{json,md} + PNG plots.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0 MPLBACKEND=Agg
PY=$(bash model/venv.sh)
BUILDER=$(bash model/datasets.sh | tail -n1)
"$PY" model/evaluate.py --builder "$BUILDER" --data model/data --artifacts model/artifacts --reports model/reports
