#!/bin/sh
# Entrypoint of the ECS Alertmanager image (deploy/docker/monitoring-alertmanager.Dockerfile).
# ECS injects the receiver secrets from Secrets Manager as environment variables; Alertmanager
# reads secrets only from files (*_file in alertmanager/alertmanager.yml). Write each one to
# /etc/alertmanager/secrets (a task-scoped volume, mode 0600, owned by the container user),
# drop the variables and exec Alertmanager with the remaining arguments. (AM_SECRETS_DIR and
# AM_BINARY exist for tests/deploy/test_monitoring.py only.)
set -eu
dir="${AM_SECRETS_DIR:-/etc/alertmanager/secrets}"
umask 077
mkdir -p "$dir"
write() {
  # $1 variable name, $2 file name; a missing secret is an error (the receiver would fail at send time)
  eval "val=\${$1:-}"
  if [ -z "$val" ]; then
    echo "alertmanager-entrypoint: $1 is not set (Secrets Manager key missing?)" >&2
    exit 64
  fi
  printf '%s' "$val" > "$dir/$2"
  unset "$1"
}
write AM_SLACK_WEBHOOK_URL slack_webhook_url
write AM_SMTP_PASSWORD smtp_password
write AM_PAGERDUTY_ROUTING_KEY pagerduty_routing_key
write AM_SMS_GATEWAY_TOKEN sms_gateway_token
unset val
exec "${AM_BINARY:-/bin/alertmanager}" "$@"
