#!/usr/bin/env bash
# Lint the deployment artefacts offline:
#   hadolint  on every Dockerfile under deploy/docker/
#   cfn-lint  on every CloudFormation template under deploy/ecs/
# Tools come from .local/venv/bin (installed by deploy/local/bootstrap.sh), else from PATH.
# Exits non-zero if a tool is missing or any file fails; prints each file it checked.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv_bin="$root/.local/venv/bin"

find_tool() {
  if [ -x "$venv_bin/$1" ]; then printf '%s\n' "$venv_bin/$1"
  elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
  else return 1
  fi
}

failed=0
checked=0

hadolint_bin="$(find_tool hadolint)" || { echo "deploy/lint: hadolint not found (run deploy/local/bootstrap.sh)" >&2; exit 2; }
cfnlint_bin="$(find_tool cfn-lint)" || { echo "deploy/lint: cfn-lint not found (run deploy/local/bootstrap.sh)" >&2; exit 2; }
echo "deploy/lint: $("$hadolint_bin" --version 2>/dev/null | head -n1) ($hadolint_bin)"
echo "deploy/lint: $("$cfnlint_bin" --version 2>/dev/null | head -n1) ($cfnlint_bin)"

shopt -s nullglob
dockerfiles=("$root"/deploy/docker/*Dockerfile*)
templates=("$root"/deploy/ecs/*.yaml "$root"/deploy/ecs/*.yml)
shopt -u nullglob
if [ "${#dockerfiles[@]}" -eq 0 ] || [ "${#templates[@]}" -eq 0 ]; then
  echo "deploy/lint: nothing to check (dockerfiles=${#dockerfiles[@]}, templates=${#templates[@]})" >&2
  exit 2
fi

for f in "${dockerfiles[@]}"; do
  rel="${f#"$root"/}"
  checked=$((checked + 1))
  if out="$("$hadolint_bin" --no-color "$f" 2>&1)"; then
    echo "  ok    hadolint  $rel"
  else
    echo "  FAIL  hadolint  $rel"; printf '%s\n' "$out" | sed 's/^/        /'
    failed=$((failed + 1))
  fi
done

for f in "${templates[@]}"; do
  rel="${f#"$root"/}"
  checked=$((checked + 1))
  if out="$("$cfnlint_bin" -- "$f" 2>&1)"; then
    echo "  ok    cfn-lint  $rel"
  else
    echo "  FAIL  cfn-lint  $rel"; printf '%s\n' "$out" | sed 's/^/        /'
    failed=$((failed + 1))
  fi
done

echo "deploy/lint: $checked checked, $failed failed"
[ "$failed" -eq 0 ]
