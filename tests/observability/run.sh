#!/usr/bin/env bash
# Observability checks: Prometheus config + rules + promtool unit tests, Alertmanager config +
# templates + routing (amtool, and a live Alertmanager with webhook receivers), Grafana
# dashboards (offline), runbook/metadata coverage.
#
#   tests/observability/run.sh [--no-live]
#
# Needs promtool and amtool on PATH (Debian packages prometheus / prometheus-alertmanager;
# deploy/local/bootstrap.sh installs them) and Python 3 with PyYAML (.local/venv or system).
# --no-live skips the live Alertmanager test (it starts prometheus-alertmanager on a free
# loopback port for ~6 s). Exit status is non-zero if any check fails. Last line:
#   observability: N passed, M failed
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
live=1
for arg in "$@"; do
  case "$arg" in
    --no-live) live=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done

passed=0
failed=0
tmp="$(mktemp -d "${TMPDIR:-/tmp}/observability.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

ok()   { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [ -n "${2:-}" ] && sed 's/^/     | /' "$2" | head -60; }

# run NAME CMD...: one check = one command, passes on exit status 0.
run() {
  local name="$1"; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else fail "$name" "$tmp/out"; fi
}

# tally CMD...: a checker that prints one "ok   ..." / "FAIL ..." line per check.
tally() {
  "$@" >"$tmp/tally" 2>&1
  local rc=$? n_ok n_fail
  cat "$tmp/tally"
  n_ok=$(grep -c '^ok ' "$tmp/tally")
  n_fail=$(grep -c '^FAIL ' "$tmp/tally")
  passed=$((passed + n_ok))
  failed=$((failed + n_fail))
  if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
    failed=$((failed + 1)); echo "FAIL $* exited $rc without reporting a failed check"
  fi
}

section() { printf '\n== %s\n' "$1"; }

# --- tools -----------------------------------------------------------------------------------
missing=()
for tool in promtool amtool; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
py=""
for cand in "$root/.local/venv/bin/python" python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import yaml' >/dev/null 2>&1; then py="$cand"; break; fi
done
[ -n "$py" ] || missing+=("python3 with PyYAML")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "missing: ${missing[*]} (run deploy/local/bootstrap.sh)"
  echo "observability: 0 passed, 1 failed"
  exit 1
fi

# --- Prometheus --------------------------------------------------------------------------------
section "Prometheus config and rules"
run "promtool check config prometheus/prometheus.yml (production)" promtool check config prometheus/prometheus.yml
if "$py" prometheus/render_local.py "$tmp/prom-default" >"$tmp/out" 2>&1 &&
   "$py" prometheus/render_local.py "$tmp/prom-ports" --prom-port 19095 --am-port 19093 --ingestor-port 19090 \
     --aggregator-port 19091 --inference-port 19092 --redis-exporter-port 19121 >>"$tmp/out" 2>&1; then
  ok "prometheus/render-local.sh renders a local config (default and custom ports)"
  run "promtool check config <rendered local prometheus.yml>" promtool check config "$tmp/prom-ports/prometheus.yml"
  run "local config keeps the job names, targets 127.0.0.1 only" "$py" - "$tmp/prom-ports/prometheus.yml" <<'PY'
import sys, yaml
prod = yaml.safe_load(open('prometheus/prometheus.yml'))
local = yaml.safe_load(open(sys.argv[1]))
want = {j['job_name']: j.get('scrape_interval') for j in prod['scrape_configs'] if j['job_name'] != 'aws-cloudwatch'}
got = {j['job_name']: j.get('scrape_interval') for j in local['scrape_configs']}
assert got == want, (got, want)
targets = [t for j in local['scrape_configs'] for sc in j['static_configs'] for t in sc['targets']]
assert all(t.startswith('127.0.0.1:') for t in targets), targets
assert '127.0.0.1:19092' in targets and '127.0.0.1:19121' in targets, targets
assert local['alerting']['alertmanagers'][0]['static_configs'][0]['targets'] == ['127.0.0.1:19093']
PY
else
  fail "prometheus/render-local.sh renders a local config" "$tmp/out"
fi
run "scrape intervals as specified (inference 5s, aggregator/ingestor 10s, redis-exporter 15s, global 15s/15s)" \
  "$py" - <<'PY'
import yaml
cfg = yaml.safe_load(open('prometheus/prometheus.yml'))
assert cfg['global']['scrape_interval'] == '15s' and cfg['global']['evaluation_interval'] == '15s'
jobs = {j['job_name']: j for j in cfg['scrape_configs']}
for name, interval, port in [('inference-service', '5s', 9092), ('aggregator-service', '10s', 9091),
                             ('ingestor-sbe-service', '10s', 9090), ('redis-exporter', '15s', 9121)]:
    assert jobs[name]['scrape_interval'] == interval, name
    assert jobs[name]['static_configs'][0]['targets'][0].endswith(f':{port}'), name
assert 'prometheus' in jobs and 'aws-cloudwatch' in jobs
assert cfg['rule_files'] and cfg['alerting']['alertmanagers']
PY
run "promtool check rules prometheus/rules/*.yml" promtool check rules prometheus/rules/*.yml

section "promtool unit tests"
for t in prometheus/tests/*_test.yml; do
  run "promtool test rules $t" promtool test rules "$t"
done

section "rule metadata, runbooks, spec coverage"
tally "$py" tests/observability/check_rules_meta.py

# --- Alertmanager --------------------------------------------------------------------------------
section "Alertmanager config, templates, routing"
run "amtool check-config alertmanager/alertmanager.yml (production)" amtool check-config alertmanager/alertmanager.yml
run "no literal secrets in alertmanager.yml (only *_file / credentials_file)" "$py" - <<'PY'
import re
text = open('alertmanager/alertmanager.yml').read()
bad = re.findall(r'^\s*(?:slack_api_url|api_url|routing_key|service_key|auth_password|smtp_auth_password|'
                 r'api_key|credentials|password|bearer_token)\s*:', text, re.M)
assert not bad, bad
assert 'hooks.slack.com' not in text
PY
if "$py" alertmanager/render_local.py "$tmp/am" --webhook-url http://127.0.0.1:18080/hook >"$tmp/out" 2>&1; then
  ok "alertmanager/render-local.sh renders a local config"
  run "amtool check-config <rendered local alertmanager.yml>" amtool check-config "$tmp/am/alertmanager.yml"
  run "local config: every receiver is a webhook to the local receiver URL" "$py" - "$tmp/am/alertmanager.yml" <<'PY'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
for r in cfg['receivers']:
    assert set(r) == {'name', 'webhook_configs'} and r['webhook_configs'], r
    for w in r['webhook_configs']:
        assert w['url'].startswith('http://127.0.0.1:18080/hook/' + r['name'] + '/'), w
paths = {w['url'].rsplit('/', 2)[-2] + '/' + w['url'].rsplit('/', 1)[-1] for r in cfg['receivers'] for w in r['webhook_configs']}
assert {'critical/pager', 'critical/chat', 'critical/sms', 'warning/chat', 'warning/email', 'info/chat'} <= paths, paths
PY
else
  fail "alertmanager/render-local.sh renders a local config" "$tmp/out"
fi
for tmpl in btc.title btc.slack.text btc.pagerduty.description btc.pagerduty.details btc.email.subject btc.email.html; do
  if amtool template render --template.glob='alertmanager/templates/*.tmpl' \
       --template.data=alertmanager/tests/template-data.json \
       --template.text="{{ template \"$tmpl\" . }}" >"$tmp/out" 2>&1 &&
     grep -q 'InferenceLatencyP99High\|inference' "$tmp/out" && ! grep -q '<no value>' "$tmp/out"; then
    ok "amtool template render $tmpl"
  else
    fail "amtool template render $tmpl" "$tmp/out"
  fi
done
tally "$py" tests/observability/check_am_routes.py alertmanager/alertmanager.yml --label production
[ -f "$tmp/am/alertmanager.yml" ] && tally "$py" tests/observability/check_am_routes.py "$tmp/am/alertmanager.yml" --label local

section "local notification sink (tools/notify_sink.py, the local Alertmanager's webhook target)"
tally "$py" tests/first_hour/sink_test.py

if [ "$live" -eq 1 ]; then
  section "live Alertmanager (webhook receivers)"
  tally "$py" tests/observability/am_live_test.py
fi

# --- Grafana ---------------------------------------------------------------------------------------
section "Grafana dashboards (offline)"
tally "$py" tests/observability/check_dashboards.py
run "prometheus/exporters/yace.yml parses and covers Kinesis, ECS, Lambda, Billing" "$py" - <<'PY'
import yaml
cfg = yaml.safe_load(open('prometheus/exporters/yace.yml'))
ns = {j['type'] for j in cfg['discovery']['jobs']} | {s['namespace'] for s in cfg['static']}
assert {'AWS/Kinesis', 'AWS/ECS', 'AWS/Lambda', 'ECS/ContainerInsights', 'AWS/Billing'} <= ns, ns
PY

echo
echo "observability: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
