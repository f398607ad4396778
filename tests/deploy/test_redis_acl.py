"""Redis ACL users (deploy/redis/acl.yaml) enforced by a real redis-server, and the ElastiCache rendering in sync.

Starts redis-server (Debian package, >= 7 for %R~ key permissions) on a free loopback port with the ACL file
rendered by deploy/redis/render_acl.py and throwaway passwords, then checks each user can do its job and
nothing else (issue 15 item 2: inference must not be able to write checkpoints or leases).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_iam import ROOT, load_template  # noqa: E402

RENDER = ROOT / "deploy" / "redis" / "render_acl.py"
USERS = ("aggregator", "inference", "ingestor", "redis-exporter")
S = "{BTCUSDT}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisAclTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("redis-server", "redis-cli"):
            if not shutil.which(tool):
                raise AssertionError(f"{tool} not found (apt-get install redis-server)")
        cls.tmp = Path(tempfile.mkdtemp(prefix="redis-acl-"))
        pw_dir = cls.tmp / "pw"
        pw_dir.mkdir()
        cls.pw = {u: secrets.token_urlsafe(24) for u in USERS}
        for u, p in cls.pw.items():
            (pw_dir / u).write_text(p)
        acl = cls.tmp / "users.acl"
        r = subprocess.run([sys.executable, str(RENDER), "aclfile", str(acl), "--password-dir", str(pw_dir)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(r.stdout + r.stderr)
        cls.acl_text = acl.read_text()
        cls.port = free_port()
        cls.log = (cls.tmp / "redis.log").open("w")
        cls.proc = subprocess.Popen(["redis-server", "--port", str(cls.port), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--aclfile", str(acl), "--dir", str(cls.tmp)],
                                    stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            if "PONG" in cls.cli("redis-exporter", "PING"):
                break
            time.sleep(0.1)
        else:
            cls.proc.kill()
            cls.log.close()
            raise AssertionError("redis-server with the rendered ACL file did not answer PING: "
                                 + (cls.tmp / "redis.log").read_text()[-1500:])

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=10)
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def cli(cls, user: str | None, *args: str) -> str:
        cmd = ["redis-cli", "-p", str(cls.port), "--no-auth-warning"]
        if user:
            cmd += ["--user", user, "--pass", cls.pw[user]]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()

    def allowed(self, user, *args):
        out = self.cli(user, *args)
        self.assertNotIn("NOPERM", out, f"{user} {args}: {out}")
        self.assertNotIn("ERR", out, f"{user} {args}: {out}")
        return out

    def denied(self, user, *args):
        out = self.cli(user, *args)
        self.assertIn("NOPERM", out, f"{user} {args} should be refused: {out}")

    def test_passwords_are_hashed_in_the_acl_file(self):
        for p in self.pw.values():
            self.assertNotIn(p, self.acl_text)

    def test_default_user_is_disabled(self):
        out = self.cli(None, "GET", f"{S}:features")
        self.assertTrue("NOAUTH" in out or "NOPERM" in out, out)

    def test_aggregator_writes_its_keys_through_a_script_and_publishes_control(self):
        self.allowed("aggregator", "EVAL", "redis.call('HSET', KEYS[1], 'seq', ARGV[1]) "
                     "redis.call('HSET', KEYS[2], 'epoch', ARGV[1]) return redis.call('INCR', KEYS[3])",
                     "3", f"{S}:ckpt:shard-0", f"{S}:features", f"{S}:lease_fence:shard-0", "7")
        self.allowed("aggregator", "SET", f"{S}:lease:shard-0", "me:1", "PX", "10000")
        self.allowed("aggregator", "XADD", f"{S}:control", "MAXLEN", "~", "1000", "*", "type", "snapshot_request")
        self.denied("aggregator", "XADD", f"{S}:predictions", "*", "p", "1")
        self.denied("aggregator", "FLUSHALL")
        self.denied("aggregator", "CONFIG", "SET", "maxmemory", "1")

    def test_inference_reads_features_writes_predictions_and_cannot_touch_aggregator_state(self):
        self.allowed("aggregator", "HSET", f"{S}:features", "epoch", "1")
        self.assertIn("epoch", self.allowed("inference", "HGETALL", f"{S}:features"))
        self.allowed("inference", "XADD", f"{S}:predictions", "MAXLEN", "~", "1000", "*", "p", "1")
        self.allowed("inference", "SET", f"{S}:predictions:latest", "{}")
        self.denied("inference", "HSET", f"{S}:ckpt:shard-0", "seq", "0")
        self.denied("inference", "HSET", f"{S}:features", "epoch", "2")
        self.denied("inference", "SET", f"{S}:lease:shard-0", "thief:9")
        self.denied("inference", "EVAL", "return 1", "0")
        self.denied("inference", "DEL", f"{S}:anchor")

    def test_inference_publishes_through_its_idempotent_script_and_scripts_cannot_escalate(self):
        # services/inference/src/store.rs PUBLISH_LUA: SCRIPT LOAD once, then EVALSHA per tick,
        # writing the stream, the latest key and {S}:predictions:last_slot (docs/redis-contract.md).
        publish = ("local last = redis.call('GET', KEYS[3]) "
                   "if last and tonumber(last) and tonumber(ARGV[1]) <= tonumber(last) then return 0 end "
                   "redis.call('SET', KEYS[3], ARGV[1]) redis.call('SET', KEYS[2], ARGV[2]) "
                   "redis.call('XADD', KEYS[1], 'MAXLEN', '~', 1000, '*', 'json', ARGV[2]) return 1")
        sha = self.allowed("inference", "SCRIPT", "LOAD", publish)
        keys = ["3", f"{S}:predictions", f"{S}:predictions:latest", f"{S}:predictions:last_slot"]
        self.assertEqual(self.allowed("inference", "EVALSHA", sha, *keys, "1000", "{}"), "1")
        self.assertEqual(self.allowed("inference", "EVALSHA", sha, *keys, "1000", "{}"), "0")
        self.assertEqual(self.allowed("inference", "GET", f"{S}:predictions:last_slot"), "1000")
        # A script inference loads runs with inference's permissions: no checkpoint or lease writes.
        evil = self.allowed("inference", "SCRIPT", "LOAD", "return redis.call('HSET', KEYS[1], 'seq', '0')")
        self.denied("inference", "EVALSHA", evil, "1", f"{S}:ckpt:shard-0")
        self.denied("inference", "EVALSHA", evil, "1", f"{S}:features")
        self.denied("inference", "SCRIPT", "FLUSH")

    def test_only_the_aggregator_publishes_pushed_features(self):
        # services/aggregator/src/store.rs FLUSH_LUA publishes the features fields on
        # {S}:features:push in the flush script (issue 18); inference subscribes to it.
        push = f"{S}:features:push"
        self.assertEqual(self.allowed("aggregator", "EVAL", "redis.call('HSET', KEYS[1], 'fmt', '1') "
                                      "return redis.call('PUBLISH', ARGV[1], '3:fmt1:1')",
                                      "1", f"{S}:features", push), "0")
        self.denied("aggregator", "PUBLISH", f"{S}:predictions", "x")
        self.denied("inference", "PUBLISH", push, "forged")
        self.denied("ingestor", "PUBLISH", push, "forged")
        self.denied("ingestor", "SUBSCRIBE", push)
        self.denied("inference", "SUBSCRIBE", f"{S}:other")
        self.assertIn(b"subscribe", self.subscribe_reply("inference", push))

    def subscribe_reply(self, user: str, channel: str) -> bytes:
        """AUTH + SUBSCRIBE on a raw socket (redis-cli would block on a granted subscription)."""
        def bulk(*args: str) -> bytes:
            return f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(bulk("AUTH", user, self.pw[user]) + bulk("SUBSCRIBE", channel))
            out = b""
            while out.count(b"\r\n") < 7 and b"NOPERM" not in out:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        self.assertNotIn(b"NOPERM", out, out)
        return out

    def test_ingestor_only_reads_the_control_stream(self):
        self.allowed("aggregator", "XADD", f"{S}:control", "*", "type", "snapshot_request")
        self.assertIn("snapshot_request", self.allowed("ingestor", "XREAD", "COUNT", "10", "STREAMS", f"{S}:control", "0"))
        self.denied("ingestor", "XADD", f"{S}:control", "*", "type", "x")
        self.denied("ingestor", "HGETALL", f"{S}:features")

    def test_redis_exporter_reads_server_statistics_only(self):
        self.assertIn("redis_version", self.allowed("redis-exporter", "INFO", "server"))
        self.allowed("redis-exporter", "SLOWLOG", "GET", "1")
        self.denied("redis-exporter", "GET", f"{S}:predictions:latest")

    def test_elasticache_users_carry_the_same_access_strings(self):
        sys.path.insert(0, str(RENDER.parent))
        import render_acl  # noqa: PLC0415
        cfg = render_acl.load()
        tpl = load_template(ROOT / "deploy" / "ecs" / "redis-users.yaml")
        users = {r["Properties"]["UserName"]: r["Properties"]["AccessString"]
                 for r in tpl["Resources"].values() if r["Type"] == "AWS::ElastiCache::User"}
        self.assertEqual(users.pop("default"), "off resetkeys resetchannels -@all")
        self.assertEqual(users, {u: render_acl.access_string(cfg, u) for u in USERS})
        for line in self.acl_text.splitlines()[1:]:
            name = line.split()[1]
            self.assertEqual(line.split(" ", 4)[4], users[name].split(" ", 1)[1], name)  # after "user <n> on #<sha>"
        r = subprocess.run([sys.executable, str(RENDER), "check"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
