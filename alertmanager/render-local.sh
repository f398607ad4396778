#!/usr/bin/env bash
# Render a local/e2e Alertmanager config (every receiver = webhook to a local receiver).
#   alertmanager/render-local.sh OUTDIR --webhook-url http://127.0.0.1:PORT [--fast]
# Writes OUTDIR/alertmanager.yml and OUTDIR/templates/. See render_local.py for details.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py="$root/.local/venv/bin/python"
if ! { [ -x "$py" ] && "$py" -c 'import yaml' 2>/dev/null; }; then py=python3; fi
exec "$py" "$here/render_local.py" "$@"
