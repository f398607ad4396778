#!/usr/bin/env bash
# Local stack: start/stop/status of Redis, kinesalite, Prometheus, Alertmanager, redis-exporter and
# the pipeline services, all on 127.0.0.1. PIDs and logs live in .run/ (git-ignored); everything
# is stopped by recorded PID. Readiness is polled, never slept for.
#
#   deploy/local/stack.sh up [infra|all]     infra = servers only; all = servers + services (default)
#   deploy/local/stack.sh down
#   deploy/local/stack.sh status
#
# Ports (override via env): REDIS_PORT=6379 KINESIS_PORT=4567 PROM_PORT=9095 AM_PORT=9093
# REDIS_EXPORTER_PORT=9121 INGESTOR_PORT=9090 AGGREGATOR_PORT=9091 INFERENCE_PORT=9092 SIM_PORT=9443
# SINK_PORT=9099 (tools/notify_sink.py: the local Alertmanager's webhook target; every delivered
# notification is one JSON line in $RUN_DIR/notifications.jsonl; AM_WEBHOOK_URL overrides the
# target). AM_FAST=1 renders Alertmanager with 1 s group_wait / 5 s group_interval (tests).
# The exchange simulator runs a seeded synthetic market by default; SIM_REPLAY="file1.gz file2.gz"
# replays recordings instead (looped).
# PROFILE=local|release|debug picks target/<profile>/ binaries (default: local, as make run builds).
# ARCHIVE_DIR=<dir> also starts archive-writer: every Kinesis record into <dir> in the Firehose archive format
# (gzip files, one a minute), for `dataset-builder --archive <dir>` (docs/model.md, "Retrain on your own history").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run_dir="${RUN_DIR:-$root/.run}"
: "${REDIS_PORT:=6379}" "${KINESIS_PORT:=4567}" "${PROM_PORT:=9095}" "${AM_PORT:=9093}"
: "${REDIS_EXPORTER_PORT:=9121}" "${INGESTOR_PORT:=9090}" "${AGGREGATOR_PORT:=9091}" "${INFERENCE_PORT:=9092}"
: "${PROFILE:=local}" "${STREAM_NAME:=market-events}" "${SIM_PORT:=9443}" "${SIM_SEED:=1}"
: "${SINK_PORT:=9099}"
bin_dir="${CARGO_TARGET_DIR:-$root/target}/$PROFILE"
mkdir -p "$run_dir/logs" "$run_dir/pids" "$run_dir/data"

log() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

alive() { local f="$run_dir/pids/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

# start NAME CMD...: run in the background, record the PID.
start() {
  local name=$1; shift
  if alive "$name"; then log "$name already running (pid $(cat "$run_dir/pids/$name.pid"))"; return; fi
  "$@" >"$run_dir/logs/$name.log" 2>&1 &
  echo $! >"$run_dir/pids/$name.pid"
}

# wait_for NAME SECONDS CHECK...: poll CHECK until it succeeds or the process dies.
wait_for() {
  local name=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || die "$name exited; see $run_dir/logs/$name.log: $(tail -n 5 "$run_dir/logs/$name.log" 2>/dev/null)"
    [ $SECONDS -lt $deadline ] || die "$name not ready after ${limit}s; see $run_dir/logs/$name.log"
    sleep 0.2
  done
  log "$name ready"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

redis_dir="$run_dir/redis-secure"  # TLS CA/cert, ACL file and per-user passwords (deploy/local/redis-secure.sh)
# redis_cli USER ARGS...: redis-cli over TLS, logged in as USER.
redis_cli() {
  local user=$1; shift
  redis-cli --tls --cacert "$redis_dir/tls/ca.pem" -p "$REDIS_PORT" --user "$user" \
    --pass "$(cat "$redis_dir/pw/$user")" --no-auth-warning "$@"
}

kinesis_call() { # TARGET JSON
  curl -fsS --max-time 5 -X POST "http://127.0.0.1:$KINESIS_PORT/" \
    -H 'Content-Type: application/x-amz-json-1.1' -H "X-Amz-Target: Kinesis_20131202.$1" \
    -H 'X-Amz-Date: 20260101T000000Z' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00' \
    -d "$2"
}

up_infra() {
  command -v redis-server >/dev/null && [ -x "$root/.local/node/node_modules/.bin/kinesalite" ] \
    || bash "$root/deploy/local/bootstrap.sh"
  # Redis as ElastiCache in ECS: TLS only, ACL users of deploy/redis/acl.yaml (each service logs in
  # as its own user); `local-admin` is a full-access user of the local stack only.
  local redis_args=()
  mapfile -t redis_args < <(bash "$root/deploy/local/redis-secure.sh" "$redis_dir" --harness-user local-admin)
  start redis redis-server --port 0 --tls-port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$run_dir/data" "${redis_args[@]}"
  wait_for redis 20 redis_cli local-admin ping
  start kinesalite node -e "require('$root/.local/node/node_modules/kinesalite')({createStreamMs:50,deleteStreamMs:50,updateStreamMs:50}).listen($KINESIS_PORT,'127.0.0.1')"
  wait_for kinesalite 20 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$KINESIS_PORT/"
  if ! kinesis_call DescribeStreamSummary "{\"StreamName\":\"$STREAM_NAME\"}" >/dev/null 2>&1; then
    kinesis_call CreateStream "{\"StreamName\":\"$STREAM_NAME\",\"ShardCount\":1}" >/dev/null
    log "created Kinesis stream $STREAM_NAME"
  fi
  start redis-exporter env REDIS_PASSWORD="$(cat "$redis_dir/pw/redis-exporter")" \
    prometheus-redis-exporter -redis.addr "rediss://127.0.0.1:$REDIS_PORT" -redis.user redis-exporter \
    -tls-ca-cert-file "$redis_dir/tls/ca.pem" -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT"
  wait_for redis-exporter 20 http_ok "http://127.0.0.1:$REDIS_EXPORTER_PORT/metrics"
  local cfg="$run_dir/config"
  mkdir -p "$cfg"
  if [ -x "$root/prometheus/render-local.sh" ]; then
    "$root/prometheus/render-local.sh" "$cfg/prometheus" --prom-port "$PROM_PORT" --am-port "$AM_PORT" \
      --ingestor-port "$INGESTOR_PORT" --aggregator-port "$AGGREGATOR_PORT" --inference-port "$INFERENCE_PORT" \
      --redis-exporter-port "$REDIS_EXPORTER_PORT" >/dev/null
  else
    die "prometheus/render-local.sh missing"
  fi
  # The webhook target of every local receiver: without it Alertmanager's own delivery failures
  # would fire AlertmanagerNotificationsFailing, an alert the local stack causes itself.
  start notify-sink python3 "$root/tools/notify_sink.py" --listen "127.0.0.1:$SINK_PORT" \
    --out "$run_dir/notifications.jsonl"
  wait_for notify-sink 20 http_ok "http://127.0.0.1:$SINK_PORT/health"
  if [ -x "$root/alertmanager/render-local.sh" ]; then
    "$root/alertmanager/render-local.sh" "$cfg/alertmanager" --webhook-url "${AM_WEBHOOK_URL:-http://127.0.0.1:$SINK_PORT/}" \
      ${AM_FAST:+--fast} >/dev/null
  else
    die "alertmanager/render-local.sh missing"
  fi
  start prometheus prometheus --config.file="$cfg/prometheus/prometheus.yml" --storage.tsdb.path="$run_dir/data/prometheus" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle
  wait_for prometheus 30 http_ok "http://127.0.0.1:$PROM_PORT/-/ready"
  start alertmanager prometheus-alertmanager --config.file="$cfg/alertmanager/alertmanager.yml" \
    --storage.path="$run_dir/data/alertmanager" --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
  wait_for alertmanager 30 http_ok "http://127.0.0.1:$AM_PORT/-/ready"
}

up_simulator() {
  [ -x "$bin_dir/exchange-sim" ] || die "$bin_dir/exchange-sim not built (cargo build --profile $PROFILE -p exchange-sim)"
  local source=(--synthetic --seed "$SIM_SEED")
  if [ -n "${SIM_REPLAY:-}" ]; then
    source=(--loop)
    for f in $SIM_REPLAY; do source+=(--replay "$f"); done
  fi
  start exchange-sim "$bin_dir/exchange-sim" --listen "127.0.0.1:$SIM_PORT" --speed 1 --api-key-required false "${source[@]}"
  wait_for exchange-sim 30 http_ok "http://127.0.0.1:$SIM_PORT/api/v3/ping"
}

up_services() {
  for svc in ingestor aggregator inference; do
    [ -x "$bin_dir/$svc" ] || die "$bin_dir/$svc not built (cargo build --profile $PROFILE)"
  done
  export AWS_ENDPOINT_URL_KINESIS="http://127.0.0.1:$KINESIS_PORT" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
  start ingestor env INGESTOR__HTTP__LISTEN="127.0.0.1:$INGESTOR_PORT" INGESTOR__LOG__FORMAT=text \
    INGESTOR__EXCHANGE__WS_URL="ws://127.0.0.1:$SIM_PORT" INGESTOR__EXCHANGE__REST_URL="http://127.0.0.1:$SIM_PORT" \
    INGESTOR__KINESIS__ENDPOINT_URL="http://127.0.0.1:$KINESIS_PORT" INGESTOR__KINESIS__STREAM_NAME="$STREAM_NAME" \
    INGESTOR__CONTROL__REDIS_URL="rediss://127.0.0.1:$REDIS_PORT" INGESTOR__CONTROL__REDIS_USERNAME=ingestor \
    INGESTOR__CONTROL__REDIS_PASSWORD_FILE="$redis_dir/pw/ingestor" INGESTOR__CONTROL__REDIS_CA_FILE="$redis_dir/tls/ca.pem" \
    "$bin_dir/ingestor"
  start aggregator env AGGREGATOR__HTTP__LISTEN="127.0.0.1:$AGGREGATOR_PORT" AGGREGATOR__LOG__FORMAT=text \
    AGGREGATOR__KINESIS__ENDPOINT_URL="http://127.0.0.1:$KINESIS_PORT" AGGREGATOR__KINESIS__STREAM_NAME="$STREAM_NAME" \
    AGGREGATOR__REDIS__URL="rediss://127.0.0.1:$REDIS_PORT" AGGREGATOR__REDIS__USERNAME=aggregator \
    AGGREGATOR__REDIS__PASSWORD_FILE="$redis_dir/pw/aggregator" AGGREGATOR__REDIS__CA_FILE="$redis_dir/tls/ca.pem" \
    "$bin_dir/aggregator"
  # A replayed recording carries its recorded (old) event times: no market-time check then.
  local market_age=5000
  if [ -n "${SIM_REPLAY:-}" ]; then market_age=0; fi
  start inference env INFERENCE__HTTP__LISTEN="127.0.0.1:$INFERENCE_PORT" INFERENCE__LOG__FORMAT=text \
    INFERENCE__TICK__MAX_MARKET_AGE_MS="$market_age" \
    INFERENCE__REDIS__URL="rediss://127.0.0.1:$REDIS_PORT" INFERENCE__REDIS__USERNAME=inference \
    INFERENCE__REDIS__PASSWORD_FILE="$redis_dir/pw/inference" INFERENCE__REDIS__CA_FILE="$redis_dir/tls/ca.pem" \
    "$bin_dir/inference"
  wait_for ingestor 30 http_ok "http://127.0.0.1:$INGESTOR_PORT/metrics"
  wait_for aggregator 30 http_ok "http://127.0.0.1:$AGGREGATOR_PORT/metrics"
  wait_for inference 30 http_ok "http://127.0.0.1:$INFERENCE_PORT/metrics"
  if [ -n "${ARCHIVE_DIR:-}" ]; then up_archive; fi
}

up_archive() {
  [ -x "$bin_dir/archive-writer" ] || die "$bin_dir/archive-writer not built (cargo build --profile $PROFILE -p dataset --bin archive-writer)"
  mkdir -p "$ARCHIVE_DIR" && ARCHIVE_DIR=$(cd "$ARCHIVE_DIR" && pwd)
  start archive-writer "$bin_dir/archive-writer" --dir "$ARCHIVE_DIR" --stream "$STREAM_NAME" \
    --endpoint "http://127.0.0.1:$KINESIS_PORT"
  wait_for archive-writer 30 grep -q "archiving stream" "$run_dir/logs/archive-writer.log"
}

down() {
  local order=(inference archive-writer aggregator ingestor exchange-sim alertmanager notify-sink prometheus redis-exporter kinesalite redis)
  for name in "${order[@]}"; do
    local f="$run_dir/pids/$name.pid"
    [ -f "$f" ] || continue
    local pid; pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
  done
}

status() {
  for f in "$run_dir"/pids/*.pid; do
    [ -e "$f" ] || { log "nothing running"; return; }
    local name; name=$(basename "$f" .pid)
    if alive "$name"; then echo "up    $name (pid $(cat "$f"))"; else echo "down  $name"; fi
  done
}

summary() {
  cat <<TXT

  Local stack is up (logs: $run_dir/logs, stop: make stop)
    ingestor     http://127.0.0.1:$INGESTOR_PORT/metrics   /health
    aggregator   http://127.0.0.1:$AGGREGATOR_PORT/metrics   /health
    inference    http://127.0.0.1:$INFERENCE_PORT/metrics   /health
    Prometheus   http://127.0.0.1:$PROM_PORT/targets
    Alertmanager http://127.0.0.1:$AM_PORT/
    exchange-sim ws://127.0.0.1:$SIM_PORT  (admin: http://127.0.0.1:$SIM_PORT/admin/stats)
    Redis        127.0.0.1:$REDIS_PORT     kinesalite http://127.0.0.1:$KINESIS_PORT (stream $STREAM_NAME)
    notify sink  http://127.0.0.1:$SINK_PORT/health  (every Alertmanager notification: $run_dir/notifications.jsonl)
TXT
  [ "${1:-all}" = infra ] && return
  [ -z "${ARCHIVE_DIR:-}" ] || printf '    archive      %s  (dataset-builder --archive %s; files close every minute)\n' "$ARCHIVE_DIR" "$ARCHIVE_DIR"
  # Non-default ports or run directory: the make commands need to be told (they read these variables).
  local watch_env="" alerts_env="" stop_env=""
  [ "$run_dir" = "$root/.run" ] || stop_env="RUN_DIR=$run_dir "
  [ "$INFERENCE_PORT $AGGREGATOR_PORT $INGESTOR_PORT $AM_PORT" = "9092 9091 9090 9093" ] ||
    watch_env="INFERENCE_PORT=$INFERENCE_PORT AGGREGATOR_PORT=$AGGREGATOR_PORT INGESTOR_PORT=$INGESTOR_PORT AM_PORT=$AM_PORT "
  [ "$AM_PORT $PROM_PORT $run_dir" = "9093 9095 $root/.run" ] ||
    alerts_env="AM_PORT=$AM_PORT PROM_PORT=$PROM_PORT RUN_DIR=$run_dir "
  cat <<TXT

  Predictions (inference: one every 2 s, about the mid 10 s ahead):
    curl -s http://127.0.0.1:$INFERENCE_PORT/v1/predictions/latest
    curl -sN http://127.0.0.1:$INFERENCE_PORT/v1/predictions/stream
    redis-cli --tls --cacert $redis_dir/tls/ca.pem -p $REDIS_PORT --user inference --pass "\$(cat $redis_dir/pw/inference)" --no-auth-warning XREVRANGE '{BTCUSDT}:predictions' + - COUNT 1
  (Redis: TLS + ACL users as in ECS; throwaway local passwords in $redis_dir/pw/)
  Live view:   ${watch_env}make watch    (prediction, its outcome 10 s later, accuracy, health, alerts; q quits)
  Alerts:      ${alerts_env}make alerts   (what was delivered and what is firing now)
  Logs:        $run_dir/logs/<name>.log   (tail -f $run_dir/logs/inference.log)
  First hour:  README.md#first-hour     Stop: ${stop_env}make stop
TXT
}

case "${1:-}" in
  up)
    trap 'rc=$?; if [ $rc -ne 0 ]; then log "start-up failed; stopping what started"; down; fi' EXIT
    up_infra
    if [ "${2:-all}" != infra ]; then up_simulator; up_services; fi
    summary "${2:-all}" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up [infra|all] | down | status" >&2; exit 2 ;;
esac
