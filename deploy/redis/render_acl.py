#!/usr/bin/env python3
"""Render the Redis ACL users of deploy/redis/acl.yaml for a local redis-server and for ElastiCache.

    render_acl.py aclfile OUT --password-dir DIR   # redis-server --aclfile OUT; DIR/<user> holds each password
    render_acl.py cfn [OUT]                        # CloudFormation: ElastiCache Users + UserGroup (stdout or OUT)
    render_acl.py check                            # exit 1 if deploy/ecs/redis-users.yaml is not the rendering
    render_acl.py users                            # the user names, one per line

The access string of a user is the same in both renderings (`access_string`), so local runs and tests
exercise exactly what ElastiCache enforces. Passwords never appear in the output: the ACL file holds
their SHA-256 (`#<hex>`), the template resolves them from Secrets Manager at deploy time.
"""
import hashlib
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
SOURCE = os.path.join(HERE, 'acl.yaml')
CFN_OUT = os.path.join(ROOT, 'deploy', 'ecs', 'redis-users.yaml')
USER_RE = re.compile(r'^[a-z][a-z0-9-]{1,30}$')
RULE_RE = re.compile(r'^(%R~|%W~|~)\S+$')
CHANNEL_RE = re.compile(r'^&\S+$')
CMD_RE = re.compile(r'^\+[a-z]+(\|[a-z]+)?$')


def load(path=SOURCE):
    with open(path) as fh:
        cfg = yaml.safe_load(fh)
    for name, u in cfg['users'].items():
        if not USER_RE.match(name) or name == 'default':
            raise SystemExit(f'render_acl: bad user name {name!r}')
        for k in u.get('keys') or []:
            if not RULE_RE.match(k):
                raise SystemExit(f'render_acl: {name}: bad key rule {k!r}')
        for ch in u.get('channels') or []:
            if not CHANNEL_RE.match(ch):
                raise SystemExit(f'render_acl: {name}: bad channel rule {ch!r} (only &pattern)')
        for c in list(cfg['connection']) + list(u.get('commands') or []):
            if not CMD_RE.match(c):
                raise SystemExit(f'render_acl: {name}: bad command rule {c!r} (only +command or +command|sub)')
    return cfg


def access_string(cfg, name):
    """`on resetkeys resetchannels <keys> <channels> -@all <commands>`: everything not listed is denied."""
    u = cfg['users'][name]
    parts = ['on', 'resetkeys', 'resetchannels', *(u.get('keys') or []), *(u.get('channels') or []), '-@all',
             *cfg['connection'],
             *(u.get('commands') or [])]
    return ' '.join(parts)


def render_aclfile(cfg, password_dir):
    lines = ['user default off resetkeys resetchannels -@all']
    for name in cfg['users']:
        path = os.path.join(password_dir, name)
        with open(path) as fh:
            pw = fh.read().strip()
        if len(pw) < 16:
            raise SystemExit(f'render_acl: password of {name} ({path}) is shorter than 16 characters')
        digest = hashlib.sha256(pw.encode()).hexdigest()
        lines.append(f'user {name} {access_string(cfg, name).replace("on ", f"on #{digest} ", 1)}')
    return '\n'.join(lines) + '\n'


def logical(name):
    return ''.join(p.capitalize() for p in name.split('-'))


def render_cfn(cfg):
    res = {}
    for name in cfg['users']:
        lid = logical(name)
        res[f'{lid}RedisPassword'] = {
            'Type': 'AWS::SecretsManager::Secret',
            'Properties': {
                'Name': {'Fn::Sub': f'${{EnvironmentName}}/redis/{name}'},
                'Description': f'Redis ACL user {name}: {cfg["users"][name]["purpose"]}',
                'GenerateSecretString': {'SecretStringTemplate': f'{{"user":"{name}"}}',
                                         'GenerateStringKey': 'password', 'PasswordLength': 40,
                                         'ExcludePunctuation': True},
            },
        }
        res[f'{lid}RedisUser'] = {
            'Type': 'AWS::ElastiCache::User',
            'Properties': {
                'UserId': {'Fn::Sub': f'${{EnvironmentName}}-{name}'},
                'UserName': name,
                'Engine': 'redis',
                'AccessString': access_string(cfg, name),
                'AuthenticationMode': {
                    'Type': 'password',
                    'Passwords': [{'Fn::Sub': f'{{{{resolve:secretsmanager:${{{lid}RedisPassword}}:SecretString:password}}}}'}],
                },
            },
        }
    res['DisabledDefaultUser'] = {
        'Type': 'AWS::ElastiCache::User',
        'Properties': {
            'UserId': {'Fn::Sub': '${EnvironmentName}-default-off'},
            'UserName': 'default',
            'Engine': 'redis',
            'AccessString': 'off resetkeys resetchannels -@all',
            'AuthenticationMode': {'Type': 'no-password-required'},
        },
    }
    res['UserGroup'] = {
        'Type': 'AWS::ElastiCache::UserGroup',
        'Properties': {
            'UserGroupId': {'Fn::Sub': '${EnvironmentName}-pipeline'},
            'Engine': 'redis',
            'UserIds': [{'Ref': 'DisabledDefaultUser'}] + [{'Ref': f'{logical(n)}RedisUser'} for n in cfg['users']],
        },
    }
    outputs = {'UserGroupId': {'Value': {'Ref': 'UserGroup'},
                               'Export': {'Name': {'Fn::Sub': '${AWS::StackName}-UserGroupId'}}}}
    for name in cfg['users']:
        lid = logical(name)
        outputs[f'{lid}RedisPasswordArn'] = {'Value': {'Ref': f'{lid}RedisPassword'},
                                              'Export': {'Name': {'Fn::Sub': f'${{AWS::StackName}}-{lid}RedisPasswordArn'}}}
    tpl = {
        'AWSTemplateFormatVersion': '2010-09-09',
        'Description': ('BTC prediction pipeline - Redis ACL users for ElastiCache, rendered from deploy/redis/acl.yaml '
                        'by deploy/redis/render_acl.py (do not edit). Deployed before data.yaml, whose replication '
                        'group uses the exported UserGroupId; services.yaml injects each password secret.'),
        'Parameters': {'EnvironmentName': {'Type': 'String', 'Default': 'btc-pipeline',
                                           'AllowedPattern': '^[a-z][a-z0-9-]{1,27}$'}},
        'Resources': res,
        'Outputs': outputs,
    }
    head = '# Rendered by deploy/redis/render_acl.py from deploy/redis/acl.yaml; do not edit.\n'
    return head + yaml.safe_dump(tpl, sort_keys=False, width=200)


def main(argv):
    if not argv or argv[0] not in ('aclfile', 'cfn', 'check', 'users'):
        raise SystemExit(__doc__)
    cfg = load()
    if argv[0] == 'users':
        sys.stdout.write(''.join(f'{name}\n' for name in cfg['users']))
    elif argv[0] == 'aclfile':
        if len(argv) != 4 or argv[2] != '--password-dir':
            raise SystemExit('usage: render_acl.py aclfile OUT --password-dir DIR')
        text = render_aclfile(cfg, argv[3])
        fd = os.open(argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as fh:
            fh.write(text)
    elif argv[0] == 'cfn':
        text = render_cfn(cfg)
        if len(argv) > 1:
            with open(argv[1], 'w') as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
    else:
        with open(CFN_OUT) as fh:
            if fh.read() != render_cfn(cfg):
                raise SystemExit(f'{CFN_OUT} is out of date: run deploy/redis/render_acl.py cfn {CFN_OUT}')


if __name__ == '__main__':
    main(sys.argv[1:])
