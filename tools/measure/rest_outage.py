"""Measure what a Binance REST outage produces in ingestor_rest_api_calls_total and the breaker
gauge: exchange-sim (synthetic) for the WebSocket, kinesalite, the ingestor with its REST URL
pointing at (a) a port that accepts and never answers (timeouts) or (b) a closed port (transport).
Samples /metrics every 15 s for DURATION s, like a Prometheus scrape.

    python3 tools/measure/rest_outage.py timeout|transport [seconds]   (after make bootstrap and a
    debug build; prints one (seconds, calls by status, breaker state) row per scrape, then JSON)
Its output is quoted in prometheus/tests/real_failures_test.yml (RestApiErrors)."""
import json, os, socket, subprocess, sys, threading, time, urllib.request
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests/e2e'))
from clients import Kinesis

mode = sys.argv[1]          # 'timeout' or 'transport'
DURATION = int(sys.argv[2]) if len(sys.argv) > 2 else 300

def free():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p

kp, sp, ip, rp = free(), free(), free(), free()
procs = []
mod = os.path.join(ROOT, '.local/node/node_modules/kinesalite')
procs.append(subprocess.Popen(['node', '-e', f'require({json.dumps(mod)})({{createStreamMs:50}}).listen({kp},"127.0.0.1")'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
procs.append(subprocess.Popen([f'{ROOT}/target/debug/exchange-sim', '--listen', f'127.0.0.1:{sp}', '--api-key-required',
                               'false', '--synthetic', '--seed', '7', '--speed', '1'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
held = []
if mode == 'timeout':
    srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', rp)); srv.listen(64)
    def accept():
        while True:
            c, _ = srv.accept(); held.append(c)   # accept, read nothing, answer nothing
    threading.Thread(target=accept, daemon=True).start()
time.sleep(2)
k = Kinesis(kp, 'market-events'); k.ensure_stream()
while not k.active(): time.sleep(0.2)
env = dict(os.environ, AWS_ENDPOINT_URL_KINESIS=f'http://127.0.0.1:{kp}', AWS_REGION='us-east-1', AWS_ACCESS_KEY_ID='t',
           AWS_SECRET_ACCESS_KEY='t', AWS_EC2_METADATA_DISABLED='true', INGESTOR__HTTP__LISTEN=f'127.0.0.1:{ip}',
           INGESTOR__EXCHANGE__WS_URL=f'ws://127.0.0.1:{sp}', INGESTOR__EXCHANGE__REST_URL=f'http://127.0.0.1:{rp}',
           INGESTOR__KINESIS__ENDPOINT_URL=f'http://127.0.0.1:{kp}', INGESTOR__KINESIS__STREAM_NAME='market-events')
procs.append(subprocess.Popen([f'{ROOT}/target/debug/ingestor'], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
t0 = time.time()
rows = []
try:
    while time.time() - t0 < DURATION:
        time.sleep(15 - ((time.time() - t0) % 15))
        try:
            body = urllib.request.urlopen(f'http://127.0.0.1:{ip}/metrics', timeout=5).read().decode()
        except OSError as e:
            print('scrape failed', e); continue
        calls = {}
        breaker = None
        for line in body.splitlines():
            if line.startswith('ingestor_rest_api_calls_total{'):
                lab, v = line.rsplit(' ', 1)
                st = lab.split('status="')[1].split('"')[0]
                calls[st] = calls.get(st, 0) + float(v)
            if line.startswith('ingestor_rest_circuit_breaker_state '):
                breaker = float(line.split()[1])
        row = (round(time.time() - t0), {s: v for s, v in calls.items() if v}, breaker)
        rows.append(row); print(row, flush=True)
finally:
    for p in procs: p.terminate()
print(json.dumps(rows))
