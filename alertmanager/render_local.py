#!/usr/bin/env python3
"""Render a local/e2e Alertmanager config from alertmanager/alertmanager.yml.

Same routing tree, grouping and inhibition as production; every receiver integration is
replaced by a webhook to WEBHOOK_URL/<receiver>/<integration>, e.g.
    critical -> URL/critical/pager, URL/critical/chat, URL/critical/sms
    warning  -> URL/warning/chat,   URL/warning/email
    info     -> URL/info/chat       default -> URL/default/chat
so an end-to-end test can tell from the request path (and the payload's `receiver` field)
which route an alert took. Secrets and SMTP settings are dropped (nothing to read locally).
Templates are copied next to the rendered config.

Usage: render_local.py OUTDIR --webhook-url URL [--fast]
  --fast   group_wait 1s and group_interval 5s everywhere (repeat_interval unchanged), so a
           test sees notifications within seconds; grouping keys stay as in production.
"""
import argparse
import copy
import glob
import os
import shutil
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION_NAMES = {
    'pagerduty_configs': 'pager',
    'slack_configs': 'chat',
    'email_configs': 'email',
    'webhook_configs': 'sms',
    'opsgenie_configs': 'pager',
    'sns_configs': 'sms',
}
SECRET_GLOBALS = ('slack_api_url', 'slack_api_url_file', 'smtp_smarthost', 'smtp_from', 'smtp_auth_username',
                  'smtp_auth_password', 'smtp_auth_password_file', 'smtp_require_tls', 'pagerduty_url',
                  'opsgenie_api_key', 'opsgenie_api_key_file')


def localize(cfg, webhook_url, fast):
    out = copy.deepcopy(cfg)
    for key in SECRET_GLOBALS:
        out.get('global', {}).pop(key, None)
    base = webhook_url.rstrip('/')
    receivers = []
    for rcv in cfg['receivers']:
        hooks = []
        for key, integration in INTEGRATION_NAMES.items():
            for _ in rcv.get(key, []):
                hooks.append({'url': f'{base}/{rcv["name"]}/{integration}', 'send_resolved': True})
        receivers.append({'name': rcv['name'], 'webhook_configs': hooks})
    out['receivers'] = receivers
    out['templates'] = ['templates/*.tmpl']
    if fast:
        def walk(route):
            for key, val in (('group_wait', '1s'), ('group_interval', '5s')):
                if key in route or route is out['route']:
                    route[key] = val
            for child in route.get('routes', []):
                walk(child)
        walk(out['route'])
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('--webhook-url', required=True)
    ap.add_argument('--fast', action='store_true')
    ap.add_argument('--config', default=os.path.join(HERE, 'alertmanager.yml'))
    args = ap.parse_args(argv)
    with open(args.config) as fh:
        cfg = yaml.safe_load(fh)
    os.makedirs(os.path.join(args.outdir, 'templates'), exist_ok=True)
    for tmpl in glob.glob(os.path.join(os.path.dirname(args.config), 'templates', '*.tmpl')):
        shutil.copy(tmpl, os.path.join(args.outdir, 'templates'))
    path = os.path.join(args.outdir, 'alertmanager.yml')
    with open(path, 'w') as fh:
        fh.write('# Rendered by alertmanager/render-local.sh from alertmanager/alertmanager.yml; do not edit.\n')
        yaml.safe_dump(localize(cfg, args.webhook_url, args.fast), fh, sort_keys=False, width=200)
    print(path)


if __name__ == '__main__':
    main(sys.argv[1:])
