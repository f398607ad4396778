"""Process launcher of the end-to-end suite: every server on 127.0.0.1, free ports chosen at run
time, logs and PID files under the run directory, stop / kill -9 / restart by recorded PID."""
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from clients import Kinesis, Redis, http_get

SYMBOL = 'BTCUSDT'
STREAM = 'market-events'


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def log(msg):
    print(f'[e2e {time.strftime("%H:%M:%S")}] {msg}', flush=True)


class Proc:
    def __init__(self, stack, name, argv, env=None):
        self.stack, self.name, self.argv = stack, name, argv
        self.env = dict(os.environ, **(env or {}))
        self.popen = None
        self.starts = 0
        self.log_path = os.path.join(stack.run_dir, 'logs', f'{name}.log')
        self.pid_path = os.path.join(stack.run_dir, 'pids', f'{name}.pid')

    def start(self):
        self.starts += 1
        fh = open(self.log_path, 'ab')
        fh.write(f'\n===== e2e: start #{self.starts} at {time.strftime("%H:%M:%S")}: {" ".join(self.argv)}\n'.encode())
        fh.flush()
        self.popen = subprocess.Popen(self.argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=self.env, cwd=self.stack.root, start_new_session=True)
        fh.close()
        with open(self.pid_path, 'w') as f:
            f.write(str(self.popen.pid))
        return self

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def signal(self, sig):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def stop(self, timeout=15.0):
        if not self.alive():
            self._forget()
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
        self._forget()

    def kill9(self):
        if self.alive():
            self.popen.kill()
            self.popen.wait(5)
        self._forget()

    def _forget(self):
        try:
            os.remove(self.pid_path)
        except FileNotFoundError:
            pass

    def tail(self, n=30):
        try:
            with open(self.log_path, 'rb') as fh:
                lines = fh.read().decode(errors='replace').splitlines()
            return '\n'.join(lines[-n:])
        except FileNotFoundError:
            return '(no log)'


class Webhook:
    """Alertmanager webhook receiver: records every POST (path + JSON body) in memory and in
    run_dir/webhook.jsonl. Paths are /<receiver>/<integration> (alertmanager/render_local.py)."""

    def __init__(self, port, path):
        self.port, self.path = port, path
        self.posts = []
        self.lock = threading.Lock()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {'raw': body.decode(errors='replace')}
                rec = {'t': time.time(), 'path': self.path, 'body': doc}
                with hook.lock:
                    hook.posts.append(rec)
                    with open(hook.path, 'a') as fh:
                        fh.write(json.dumps(rec) + '\n')
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, since=0.0):
        """[(t, path, status, alertname)] of every alert in every POST since `since`."""
        out = []
        with self.lock:
            posts = list(self.posts)
        for p in posts:
            if p['t'] < since:
                continue
            for a in p['body'].get('alerts', []):
                out.append((p['t'], p['path'], a.get('status'), a.get('labels', {}).get('alertname')))
        return out

    def close(self):
        self.server.shutdown()


def wait_until(what, fn, timeout, interval=0.25, procs=()):
    """Poll fn() until truthy; returns (value, seconds waited). Raises TimeoutError."""
    start = time.time()
    while True:
        try:
            v = fn()
        except Exception:  # noqa: BLE001 (a server that is not up yet raises anything)
            v = None
        if v:
            return v, time.time() - start
        for p in procs:
            if not p.alive():
                raise RuntimeError(f'{p.name} exited while waiting for {what}:\n{p.tail(15)}')
        if time.time() - start > timeout:
            raise TimeoutError(f'{what}: not within {timeout:.0f} s')
        time.sleep(interval)


HARNESS_USER = 'e2e-harness'  # local-only full-access Redis user (deploy/local/redis-secure.sh)


class Stack:
    NAMES = ('redis', 'kinesis', 'prom', 'am', 'redis_exporter', 'ingestor', 'aggregator', 'inference',
             'sim', 'webhook')

    def __init__(self, root, run_dir, profile, replay_files, speed, seed):
        self.root, self.run_dir, self.profile = root, run_dir, profile
        self.bin_dir = os.path.join(os.environ.get('CARGO_TARGET_DIR', os.path.join(root, 'target')), profile)
        self.replay_files, self.speed, self.seed = replay_files, speed, seed
        for d in ('logs', 'pids', 'data', 'config'):
            os.makedirs(os.path.join(run_dir, d), exist_ok=True)
        self.port = dict(zip(self.NAMES, free_ports(len(self.NAMES))))
        with open(os.path.join(run_dir, 'ports.json'), 'w') as fh:
            json.dump(self.port, fh, indent=1)
        self.procs = {}
        # Redis as ElastiCache runs it in ECS: TLS only + the ACL users of deploy/redis/acl.yaml; each
        # service logs in as its own user, the harness as the local-only full-access user.
        self.redis_dir = os.path.join(run_dir, 'config', 'redis')
        out = subprocess.run(['bash', os.path.join(root, 'deploy/local/redis-secure.sh'), self.redis_dir,
                              '--harness-user', HARNESS_USER], check=True, capture_output=True, text=True)
        self.redis_tls_args = out.stdout.split()
        self.redis_ca = os.path.join(self.redis_dir, 'tls', 'ca.pem')
        self.redis = self.redis_as(HARNESS_USER)
        self.kinesis = Kinesis(self.port['kinesis'], STREAM)
        self.webhook = None
        self.sim_url = f'http://127.0.0.1:{self.port["sim"]}'

    def url(self, svc, path=''):
        return f'http://127.0.0.1:{self.port[svc]}{path}'

    def bin(self, name):
        return os.path.join(self.bin_dir, name)

    def add(self, name, argv, env=None):
        p = Proc(self, name, argv, env)
        self.procs[name] = p
        return p

    # --- servers -----------------------------------------------------------------------------
    def start_redis(self):
        d = os.path.join(self.run_dir, 'data', 'redis')
        os.makedirs(d, exist_ok=True)
        p = self.procs.get('redis') or self.add('redis', [
            'redis-server', '--port', '0', '--tls-port', str(self.port['redis']), '--bind', '127.0.0.1',
            '--save', '', '--appendonly', 'no', '--dir', d, '--maxmemory', '256mb', '--maxmemory-policy',
            'noeviction', *self.redis_tls_args])
        p.start()
        self.redis.close()
        wait_until('redis ping', lambda: self.redis.cmd('PING') == 'PONG', 20, procs=[p])

    def start_kinesalite(self):
        d = os.path.join(self.run_dir, 'data', 'kinesis')
        mod = os.path.join(self.root, '.local/node/node_modules/kinesalite')
        js = (f'require({json.dumps(mod)})({{path:{json.dumps(d)},createStreamMs:50,deleteStreamMs:50,'
              f'updateStreamMs:50}}).listen({self.port["kinesis"]},"127.0.0.1")')
        p = self.procs.get('kinesalite') or self.add('kinesalite', ['node', '-e', js])
        p.start()
        wait_until('kinesalite', lambda: http_get(self.url('kinesis'), 1)[0] is not None, 20, procs=[p])
        if self.kinesis.ensure_stream():
            log(f'created Kinesis stream {STREAM}')
        wait_until('stream ACTIVE', self.kinesis.active, 20, procs=[p])

    def start_observability(self, eval_interval):
        self.webhook = Webhook(self.port['webhook'], os.path.join(self.run_dir, 'webhook.jsonl'))
        cfg = os.path.join(self.run_dir, 'config')
        subprocess.run([os.path.join(self.root, 'prometheus/render-local.sh'), os.path.join(cfg, 'prometheus'),
                        '--prom-port', str(self.port['prom']), '--am-port', str(self.port['am']),
                        '--ingestor-port', str(self.port['ingestor']),
                        '--aggregator-port', str(self.port['aggregator']),
                        '--inference-port', str(self.port['inference']),
                        '--redis-exporter-port', str(self.port['redis_exporter'])],
                       check=True, stdout=subprocess.DEVNULL)
        prom_yml = os.path.join(cfg, 'prometheus', 'prometheus.yml')
        text = open(prom_yml).read()
        # Test-only: evaluate rules every `eval_interval` (production 15 s) so alerts with short
        # `for:` are seen sooner. Scrape intervals, rule expressions and `for:` stay the project's.
        text, n = re.subn(r'(?m)^(\s*evaluation_interval:\s*)\S+', rf'\g<1>{eval_interval}', text, count=1)
        if n != 1:
            raise RuntimeError('rendered prometheus.yml has no global evaluation_interval')
        with open(prom_yml, 'w') as fh:
            fh.write(text)
        subprocess.run([os.path.join(self.root, 'alertmanager/render-local.sh'), os.path.join(cfg, 'alertmanager'),
                        '--webhook-url', self.url('webhook'), '--fast'], check=True, stdout=subprocess.DEVNULL)
        exp = self.add('redis-exporter', ['prometheus-redis-exporter', '-redis.addr', f'rediss://127.0.0.1:{self.port["redis"]}',
                                          '-redis.user', 'redis-exporter', '-tls-ca-cert-file', self.redis_ca,
                                          '-web.listen-address', f'127.0.0.1:{self.port["redis_exporter"]}'],
                       {'REDIS_PASSWORD': self.redis_password('redis-exporter')}).start()
        prom = self.add('prometheus', [
            'prometheus', f'--config.file={prom_yml}',
            f'--storage.tsdb.path={os.path.join(self.run_dir, "data", "prometheus")}',
            f'--web.listen-address=127.0.0.1:{self.port["prom"]}', '--web.enable-lifecycle']).start()
        am = self.add('alertmanager', [
            'prometheus-alertmanager', f'--config.file={os.path.join(cfg, "alertmanager", "alertmanager.yml")}',
            f'--storage.path={os.path.join(self.run_dir, "data", "alertmanager")}',
            f'--web.listen-address=127.0.0.1:{self.port["am"]}', '--cluster.listen-address=']).start()
        for name, p, url in (('redis-exporter', exp, self.url('redis_exporter', '/metrics')),
                             ('prometheus', prom, self.url('prom', '/-/ready')),
                             ('alertmanager', am, self.url('am', '/-/ready'))):
            wait_until(name, lambda u=url: http_get(u, 2)[0] == 200, 40, procs=[p])

    def sim_argv(self, source):
        argv = [self.bin('exchange-sim'), '--listen', f'127.0.0.1:{self.port["sim"]}', '--api-key-required', 'false']
        if source == 'replay':
            for f in self.replay_files:
                argv += ['--replay', f]
            argv += ['--speed', str(self.speed), '--wait-for-subscriber']
        else:
            argv += ['--synthetic', '--seed', str(self.seed), '--speed', '1']
        return argv

    def start_sim(self, source):
        old = self.procs.get('exchange-sim')
        if old and old.alive():
            old.stop()
        p = self.add('exchange-sim', self.sim_argv(source))
        p.log_path = os.path.join(self.run_dir, 'logs', f'exchange-sim-{source}.log')
        p.start()
        wait_until('exchange-sim', lambda: http_get(self.sim_url + '/api/v3/ping', 2)[0] == 200, 30, procs=[p])
        return p

    def service_env(self):
        k = f'http://127.0.0.1:{self.port["kinesis"]}'
        r = f'rediss://127.0.0.1:{self.port["redis"]}'
        common = {'AWS_ENDPOINT_URL_KINESIS': k, 'AWS_REGION': 'us-east-1', 'AWS_ACCESS_KEY_ID': 'test',
                  'AWS_SECRET_ACCESS_KEY': 'test', 'AWS_EC2_METADATA_DISABLED': 'true', 'RUST_BACKTRACE': '1'}
        return {
            'ingestor': dict(common, INGESTOR__HTTP__LISTEN=f'127.0.0.1:{self.port["ingestor"]}',
                             INGESTOR__LOG__FORMAT='text', INGESTOR__EXCHANGE__WS_URL=f'ws://127.0.0.1:{self.port["sim"]}',
                             INGESTOR__EXCHANGE__REST_URL=self.sim_url, INGESTOR__KINESIS__ENDPOINT_URL=k,
                             INGESTOR__KINESIS__STREAM_NAME=STREAM, INGESTOR__CONTROL__REDIS_URL=r,
                             INGESTOR__CONTROL__REDIS_USERNAME='ingestor',
                             INGESTOR__CONTROL__REDIS_PASSWORD_FILE=self.redis_password_file('ingestor'),
                             INGESTOR__CONTROL__REDIS_CA_FILE=self.redis_ca),
            'aggregator': dict(common, AGGREGATOR__HTTP__LISTEN=f'127.0.0.1:{self.port["aggregator"]}',
                               AGGREGATOR__LOG__FORMAT='text', AGGREGATOR__KINESIS__ENDPOINT_URL=k,
                               AGGREGATOR__KINESIS__STREAM_NAME=STREAM, AGGREGATOR__REDIS__URL=r,
                               **self.redis_user_env('AGGREGATOR', 'aggregator')),
            # A replayed recording carries its recorded (2024) event times: no market-time check
            # then (docs/e2e.md); the synthetic market's event times are current.
            'inference': dict(common, INFERENCE__HTTP__LISTEN=f'127.0.0.1:{self.port["inference"]}',
                              INFERENCE__LOG__FORMAT='text', INFERENCE__REDIS__URL=r,
                              **self.redis_user_env('INFERENCE', 'inference'),
                              INFERENCE__TICK__MAX_MARKET_AGE_MS='0' if self.replay_files else '5000'),
        }

    def redis_password_file(self, user):
        return os.path.join(self.redis_dir, 'pw', user)

    def redis_password(self, user):
        with open(self.redis_password_file(user)) as fh:
            return fh.read().strip()

    def redis_user_env(self, prefix, user):
        return {f'{prefix}__REDIS__USERNAME': user, f'{prefix}__REDIS__PASSWORD_FILE': self.redis_password_file(user),
                f'{prefix}__REDIS__CA_FILE': self.redis_ca}

    def redis_as(self, user):
        """A harness Redis client logged in as `user` over TLS."""
        return Redis(self.port['redis'], ca_file=self.redis_ca, user=user, password_file=self.redis_password_file(user))

    def acl_check(self):
        """(ok, detail): inference's ACL user cannot write a shard checkpoint or a lease, can publish."""
        r = self.redis_as('inference')
        try:
            outcomes = {}
            for what, args in (('checkpoint', ('HSET', '{BTCUSDT}:ckpt:shard-acl-probe', 'seq', '0')),
                               ('lease', ('SET', '{BTCUSDT}:lease:shard-acl-probe', 'thief:1')),
                               ('features', ('HSET', '{BTCUSDT}:features', 'epoch', '0'))):
                try:
                    r.cmd(*args)
                    outcomes[what] = 'WRITTEN'
                except RuntimeError as e:
                    outcomes[what] = 'NOPERM' if 'NOPERM' in str(e) else str(e)
            try:
                r.cmd('GET', '{BTCUSDT}:predictions:latest')
                read = 'allowed'
            except RuntimeError as e:
                read = str(e)
        finally:
            r.close()
        ok = all(v == 'NOPERM' for v in outcomes.values()) and read == 'allowed'
        return ok, f'inference writes: {outcomes}; GET predictions:latest: {read}'

    def start_service(self, name):
        p = self.procs.get(name) or self.add(name, [self.bin(name)], self.service_env()[name])
        p.start()
        port = self.port[name]
        wait_until(f'{name} /metrics', lambda: http_get(f'http://127.0.0.1:{port}/metrics', 2)[0] == 200, 60,
                   procs=[p])
        return p

    def stop_all(self):
        order = ('inference', 'aggregator', 'ingestor', 'exchange-sim', 'alertmanager', 'prometheus',
                 'redis-exporter', 'kinesalite', 'redis')
        for name in order:
            p = self.procs.get(name)
            if p:
                try:
                    p.stop(timeout=10)
                except Exception as e:  # noqa: BLE001
                    log(f'stopping {name}: {e}')
        if self.webhook:
            self.webhook.close()
