"""Issue 15 item 1: the inference admin endpoints are authenticated in ECS. The bearer token lives
in a Secrets Manager secret of the services stack, is injected into the inference container as
INFERENCE_ADMIN_TOKEN (never a plain environment value), and the task execution role may read it.
"""
from __future__ import annotations

import copy
import unittest

from test_iam import load_template, TEMPLATE_DIR


def check_admin_token(t: dict) -> list[str]:
    problems = []
    res = t.get("Resources", {})
    secrets = [k for k, r in res.items() if r.get("Type") == "AWS::SecretsManager::Secret"
               and "admin" in str(r.get("Properties", {}).get("Name", "")).lower()]
    if len(secrets) != 1:
        return [f"expected one admin token secret, found {secrets}"]
    secret = secrets[0]
    containers = [c for r in res.values() if r.get("Type") == "AWS::ECS::TaskDefinition"
                  for c in r.get("Properties", {}).get("ContainerDefinitions", []) if c.get("Name") == "inference"]
    if len(containers) != 1:
        return [f"expected one inference container, found {len(containers)}"]
    c = containers[0]
    injected = [s for s in c.get("Secrets", []) if s.get("Name") == "INFERENCE_ADMIN_TOKEN"]
    if not injected or injected[0].get("ValueFrom") != {"Ref": secret}:
        problems.append(f"INFERENCE_ADMIN_TOKEN is not injected from {secret}: {injected}")
    if any(e.get("Name") == "INFERENCE_ADMIN_TOKEN" for e in c.get("Environment", [])):
        problems.append("INFERENCE_ADMIN_TOKEN must not be a plain environment value")
    readable = False
    for r in res.values():
        if r.get("Type") != "AWS::IAM::Role":
            continue
        for pol in r.get("Properties", {}).get("Policies", []):
            for st in pol.get("PolicyDocument", {}).get("Statement", []):
                acts = st.get("Action")
                acts = acts if isinstance(acts, list) else [acts]
                rs = st.get("Resource")
                rs = rs if isinstance(rs, list) else [rs]
                if "secretsmanager:GetSecretValue" in acts and {"Ref": secret} in rs:
                    readable = True
    if not readable:
        problems.append(f"no role may secretsmanager:GetSecretValue on {secret} (the execution role injects it)")
    return problems


class AdminTokenTest(unittest.TestCase):
    def setUp(self):
        self.t = load_template(TEMPLATE_DIR / "services.yaml")

    def test_admin_token_is_a_secret_injected_into_inference(self):
        self.assertEqual(check_admin_token(self.t), [])

    def test_checker_rejects_a_plain_environment_token(self):
        t = copy.deepcopy(self.t)
        for r in t["Resources"].values():
            for c in r.get("Properties", {}).get("ContainerDefinitions", []) if r.get("Type") == "AWS::ECS::TaskDefinition" else []:
                if c.get("Name") == "inference":
                    c["Secrets"] = [s for s in c["Secrets"] if s["Name"] != "INFERENCE_ADMIN_TOKEN"]
                    c.setdefault("Environment", []).append({"Name": "INFERENCE_ADMIN_TOKEN", "Value": "x"})
        problems = check_admin_token(t)
        self.assertTrue(any("not injected" in p for p in problems), problems)
        self.assertTrue(any("plain environment" in p for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
