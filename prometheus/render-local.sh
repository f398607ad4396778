#!/usr/bin/env bash
# Render a local prometheus.yml (127.0.0.1 targets, same job names) + copy the rules.
#   prometheus/render-local.sh OUTDIR [--prom-port P] [--am-port P] [--ingestor-port P]
#       [--aggregator-port P] [--inference-port P] [--redis-exporter-port P] [--yace-port P]
# Then: prometheus --config.file=OUTDIR/prometheus.yml --web.listen-address=127.0.0.1:P ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
py="$root/.local/venv/bin/python"
if ! { [ -x "$py" ] && "$py" -c 'import yaml' 2>/dev/null; }; then py=python3; fi
exec "$py" "$here/render_local.py" "$@"
