#!/usr/bin/env bash
# Render the ECS monitoring config (Prometheus, Alertmanager, Grafana, YACE) from the repository's
# files into OUTDIR, the build context of deploy/docker/monitoring-*.Dockerfile. See render.py.
#   deploy/monitoring/render.sh OUTDIR --runbook-base-url URL [--environment E] [--namespace N] [--region R]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="$root/.local/venv/bin/python"
if ! { [ -x "$py" ] && "$py" -c 'import yaml' 2>/dev/null; }; then py=python3; fi
exec "$py" "$here/render.py" "$@"
