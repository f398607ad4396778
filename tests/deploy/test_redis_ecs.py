"""ElastiCache in ECS uses the ACL users of deploy/redis/acl.yaml (issue 15 item 2).

- data.yaml: the replication group authenticates through the user group that deploy/ecs/redis-users.yaml
  (rendered from acl.yaml) exports, with no shared AUTH token left.
- services.yaml: each service logs in as its own user, with its own secret (JSON key `password`) and
  only the execution role may read those secrets; the ingestor gets the control URL (rediss://), its user
  and secret.
- network.yaml: the ingestor's security group may reach Redis (egress) and Redis admits it (ingress).
- monitoring.yaml: redis-exporter logs in as `redis-exporter`.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_iam import ROOT, load_all, resources  # noqa: E402

sys.path.insert(0, str(ROOT / "deploy" / "redis"))
import render_acl  # noqa: E402

SERVICE_USERS = {"ingestor": "ingestor", "aggregator": "aggregator", "inference": "inference"}


def containers(templates, fname):
    out = {}
    for _, _, td in resources({fname: templates[fname]}, "AWS::ECS::TaskDefinition"):
        for c in td["Properties"]["ContainerDefinitions"]:
            out[c["Name"]] = c
    return out


def env(c):
    return {e["Name"]: e.get("Value") for e in c.get("Environment") or []}


def secret_import(c, name):
    """The export name (Fn::Sub string) and JSON key of secret `name` of container `c`."""
    for s in c.get("Secrets") or []:
        if isinstance(s, dict) and s.get("Name") == name:
            sub = s["ValueFrom"]["Fn::Sub"]
            fmt, binding = sub[0], sub[1]
            arn = binding["SecretArn"]["Fn::ImportValue"]["Fn::Sub"]
            return arn, fmt.split(":")[-3]
    return None, None


class RedisInEcsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = load_all()
        cls.cfg = render_acl.load()

    def test_replication_group_uses_the_rendered_user_group_and_no_shared_token(self):
        rg = self.t["data.yaml"]["Resources"]["Redis"]["Properties"]
        self.assertNotIn("AuthToken", rg)
        self.assertEqual(rg.get("UserGroupIds"),
                         [{"Fn::ImportValue": {"Fn::Sub": "${RedisUsersStackName}-UserGroupId"}}])
        self.assertNotIn("RedisAuthSecret", self.t["data.yaml"]["Resources"])
        exported = self.t["redis-users.yaml"]["Outputs"]["UserGroupId"]["Export"]["Name"]["Fn::Sub"]
        self.assertEqual(exported, "${AWS::StackName}-UserGroupId")

    def test_each_service_logs_in_as_its_own_user_with_its_own_secret(self):
        cs = containers(self.t, "services.yaml")
        outputs = self.t["redis-users.yaml"]["Outputs"]
        for svc, user in SERVICE_USERS.items():
            c = cs[svc]
            e = env(c)
            prefix = "INGESTOR__CONTROL__REDIS_" if svc == "ingestor" else f"{svc.upper()}__REDIS__"
            self.assertEqual(e.get(f"{prefix}USERNAME"), user, svc)
            url = e.get(f"{prefix}URL")
            self.assertIsNotNone(url, f"{svc}: no Redis URL")
            self.assertTrue(url["Fn::Sub"][0].startswith("rediss://"), f"{svc}: {url}")
            arn, key = secret_import(c, "REDIS_AUTH_TOKEN")
            lid = render_acl.logical(user)
            self.assertEqual(arn, f"${{RedisUsersStackName}}-{lid}RedisPasswordArn", svc)
            self.assertEqual(key, "password", svc)
            self.assertIn(f"{lid}RedisPasswordArn", outputs)
        self.assertIn(SERVICE_USERS["inference"], self.cfg["users"])

    def test_only_the_execution_role_reads_the_user_secrets(self):
        role = self.t["services.yaml"]["Resources"]["ExecutionRole"]["Properties"]
        text = repr(role)
        for user in SERVICE_USERS.values():
            self.assertIn(f"{render_acl.logical(user)}RedisPasswordArn", text)
        self.assertNotIn("RedisAuthSecretArn", repr(self.t["services.yaml"]))

    def test_ingestor_reaches_redis_through_its_security_groups(self):
        res = self.t["network.yaml"]["Resources"]
        ingress = [r["Properties"] for r in res.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"
                   and r["Properties"].get("GroupId") == {"Ref": "RedisSecurityGroup"}]
        sources = {repr(p.get("SourceSecurityGroupId")) for p in ingress if p.get("FromPort") == 6379}
        self.assertIn(repr({"Ref": "IngestorSecurityGroup"}), sources)
        egress = [r["Properties"] for r in res.values() if r["Type"] == "AWS::EC2::SecurityGroupEgress"
                  and r["Properties"].get("GroupId") == {"Ref": "IngestorSecurityGroup"}
                  and r["Properties"].get("DestinationSecurityGroupId") == {"Ref": "RedisSecurityGroup"}]
        self.assertEqual([(p["FromPort"], p["ToPort"]) for p in egress], [(6379, 6379)])

    def test_redis_exporter_logs_in_as_its_user(self):
        cs = containers(self.t, "monitoring.yaml")
        c = cs["redis-exporter"]
        self.assertEqual(env(c).get("REDIS_USER"), "redis-exporter")
        arn, key = secret_import(c, "REDIS_PASSWORD")
        self.assertEqual((arn, key), ("${RedisUsersStackName}-RedisExporterRedisPasswordArn", "password"))


if __name__ == "__main__":
    unittest.main()
