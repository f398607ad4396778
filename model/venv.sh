#!/usr/bin/env bash
# Creates .local/venv if needed and installs the pinned model/requirements.txt into it. Prints the python path.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$PWD/.local/venv
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r model/requirements.txt >&2
echo "$VENV/bin/python"
