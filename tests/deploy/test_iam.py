"""Least-privilege and hardening checks on the CloudFormation templates in deploy/ecs/.

Run with `tests/deploy/run.sh` (or `python -m unittest discover -s tests/deploy -t tests/deploy`).
Stdlib + PyYAML only. The checkers are plain functions returning a list of violations, so the negative
tests can mutate a parsed template and prove that each checker rejects what it should.
"""

from __future__ import annotations

import copy
import re
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "deploy" / "ecs"

SERVICE_PORTS = {"ingestor": 9090, "aggregator": 9091, "inference": 9092}
REDIS_PORT = 6379
# monitoring.yaml: EFS (NFS) to its mount targets, optional Grafana client ingress.
MONITORING_PORTS = {2049, 3000}
MONITORING_SERVICES = {"monitoring"}

INGESTOR_KINESIS_ALLOWED = {"kinesis:putrecords", "kinesis:putrecord", "kinesis:describestreamsummary"}
AGGREGATOR_KINESIS_ALLOWED = {
    "kinesis:getrecords",
    "kinesis:getsharditerator",
    "kinesis:listshards",
    "kinesis:describestreamsummary",
    "kinesis:describestream",
}
# Everything the aggregator task role may do at all: read the stream, decrypt what it reads.
AGGREGATOR_ALLOWED = AGGREGATOR_KINESIS_ALLOWED | {"kms:decrypt"}
# Prefixes of mutating API calls; any of these on the aggregator role is a violation.
WRITE_PREFIXES = (
    "put", "create", "delete", "update", "merge", "split", "increase", "decrease", "add", "remove",
    "start", "stop", "register", "deregister", "enable", "disable", "tag", "untag", "generatedatakey",
    "encrypt", "reencrypt",
)

IAM_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"}


# ----------------------------------------------------------------------------------------------------------------
# CloudFormation-aware YAML loader (short-form intrinsic tags -> long form)
# ----------------------------------------------------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into {"Ref": x} and `!Sub ...` into {"Fn::Sub": ...}, etc."""


def _construct(loader: yaml.Loader, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _register(tag: str, key: str) -> None:
    def constructor(loader, node):
        value = _construct(loader, node)
        if key == "Fn::GetAtt" and isinstance(value, str):
            logical_id, _, attribute = value.partition(".")
            value = [logical_id, attribute]
        return {key: value}

    CfnLoader.add_constructor(tag, constructor)


for _tag in ("Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split",
             "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "Length", "ToJsonString"):
    _register(f"!{_tag}", f"Fn::{_tag}")
_register("!Ref", "Ref")
_register("!Condition", "Condition")


def load_template(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


def load_all() -> dict[str, dict]:
    """{file name: parsed template} for every template in deploy/ecs."""
    files = sorted(TEMPLATE_DIR.glob("*.yaml")) + sorted(TEMPLATE_DIR.glob("*.yml"))
    return {p.name: load_template(p) for p in files}


# ----------------------------------------------------------------------------------------------------------------
# Helpers over parsed templates
# ----------------------------------------------------------------------------------------------------------------
def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_true(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def resources(templates: dict[str, dict], rtype: str | None = None):
    """Yield (file, logical id, resource) for every resource, optionally of one type."""
    for fname, tpl in templates.items():
        for lid, res in (tpl.get("Resources") or {}).items():
            if rtype is None or res.get("Type") == rtype:
                yield fname, lid, res


def flatten_if(value) -> list:
    """Both branches of Fn::If (minus AWS::NoValue), recursively, as a flat list of candidates."""
    out = []
    for item in as_list(value):
        if isinstance(item, dict) and "Fn::If" in item:
            _, yes, no = item["Fn::If"]
            out.extend(flatten_if(yes))
            out.extend(flatten_if(no))
        elif isinstance(item, dict) and item.get("Ref") == "AWS::NoValue":
            continue
        else:
            out.append(item)
    return out


def role_ref(value) -> str | None:
    """Logical id of a role referenced as !Ref Role or !GetAtt Role.Arn."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def role_statements(templates: dict[str, dict], fname: str, role_id: str) -> list[dict]:
    """Every policy statement that applies to a role: inline Policies plus standalone policy resources."""
    tpl = templates[fname]
    role = tpl["Resources"][role_id]
    docs = [p.get("PolicyDocument", {}) for p in as_list(role.get("Properties", {}).get("Policies"))]
    for _, _, res in resources({fname: tpl}):
        if res.get("Type") not in IAM_POLICY_TYPES:
            continue
        props = res.get("Properties", {})
        targets = [role_ref(r) for r in as_list(props.get("Roles"))] + [role_ref(props.get("RoleName"))]
        if role_id in targets:
            docs.append(props.get("PolicyDocument", {}))
    statements = []
    for doc in docs:
        statements.extend(as_list(doc.get("Statement")))
    return statements


def statement_actions(stmt: dict) -> list[str]:
    return [a for a in flatten_if(stmt.get("Action")) if isinstance(a, str)]


def statement_resources(stmt: dict) -> list:
    return flatten_if(stmt.get("Resource"))


def task_role_for_container(templates: dict[str, dict], container: str) -> tuple[str, str]:
    """(file, role logical id) of the task role of the task definition running `container`."""
    for fname, _, td in resources(templates, "AWS::ECS::TaskDefinition"):
        props = td.get("Properties", {})
        names = {c.get("Name") for c in as_list(props.get("ContainerDefinitions"))}
        if container in names:
            rid = role_ref(props.get("TaskRoleArn"))
            if rid is None:
                raise AssertionError(f"task definition for {container} has no task role")
            return fname, rid
    raise AssertionError(f"no task definition runs a container named {container!r}")


def stream_arn_export_suffixes(templates: dict[str, dict]) -> set[str]:
    """Export-name suffixes (after ${AWS::StackName}) whose value is the ARN of a Kinesis stream."""
    suffixes = set()
    for tpl in templates.values():
        streams = {lid for lid, r in (tpl.get("Resources") or {}).items() if r.get("Type") == "AWS::Kinesis::Stream"}
        for out in (tpl.get("Outputs") or {}).values():
            value, export = out.get("Value"), (out.get("Export") or {}).get("Name")
            if (isinstance(value, dict) and value.get("Fn::GetAtt", [None, None])[0] in streams
                    and value["Fn::GetAtt"][1] == "Arn" and isinstance(export, dict)):
                name = export.get("Fn::Sub", "")
                if isinstance(name, str) and name.startswith("${AWS::StackName}"):
                    suffixes.add(name[len("${AWS::StackName}"):])
    return suffixes


def is_stream_arn(resource, fname: str, templates: dict[str, dict]) -> bool:
    """True when `resource` is the market-events stream ARN: a GetAtt of the stream in the same template,
    or an ImportValue of an export that another template defines as that GetAtt."""
    if not isinstance(resource, dict):
        return False
    if "Fn::GetAtt" in resource:
        lid, attr = resource["Fn::GetAtt"]
        res = templates[fname].get("Resources", {}).get(lid, {})
        return res.get("Type") == "AWS::Kinesis::Stream" and attr == "Arn"
    if "Fn::ImportValue" in resource:
        name = resource["Fn::ImportValue"]
        name = name.get("Fn::Sub") if isinstance(name, dict) else name
        if not isinstance(name, str):
            return False
        match = re.fullmatch(r"\$\{[A-Za-z0-9]+\}(-[A-Za-z0-9]+)", name)
        return bool(match) and match.group(1) in stream_arn_export_suffixes(templates)
    return False


# ----------------------------------------------------------------------------------------------------------------
# Checkers: each returns a list of human-readable violations (empty = compliant)
# ----------------------------------------------------------------------------------------------------------------
def check_kinesis_statements(templates: dict[str, dict]) -> list[str]:
    """No wildcard actions/resources on statements that can touch Kinesis; resources are the stream ARN."""
    problems = []
    for fname, lid, res in resources(templates):
        rtype = res.get("Type")
        docs = []
        if rtype == "AWS::IAM::Role":
            docs = [p.get("PolicyDocument", {}) for p in as_list(res.get("Properties", {}).get("Policies"))]
        elif rtype in IAM_POLICY_TYPES:
            docs = [res.get("Properties", {}).get("PolicyDocument", {})]
        for doc in docs:
            for stmt in as_list(doc.get("Statement")):
                where = f"{fname}:{lid}:{stmt.get('Sid', '?')}"
                if stmt.get("Effect") == "Allow" and ("NotAction" in stmt or "NotResource" in stmt):
                    problems.append(f"{where}: Allow with NotAction/NotResource")
                actions = [a.lower() for a in statement_actions(stmt)]
                touches_kinesis = any(a == "*" or a.startswith("kinesis:") for a in actions)
                if not touches_kinesis or stmt.get("Effect") != "Allow":
                    continue
                for a in actions:
                    if "*" in a:
                        problems.append(f"{where}: wildcard action {a!r}")
                for r in statement_resources(stmt):
                    if isinstance(r, str) and "*" in r:
                        problems.append(f"{where}: wildcard resource {r!r}")
                    elif not is_stream_arn(r, fname, templates):
                        problems.append(f"{where}: resource {r!r} is not the stream ARN")
    return problems


def check_task_role_permissions(templates: dict[str, dict]) -> list[str]:
    """ingestor: write-only on the stream; aggregator: read-only; inference: nothing on Kinesis."""
    problems = []
    for service in SERVICE_PORTS:
        fname, rid = task_role_for_container(templates, service)
        role = templates[fname]["Resources"][rid]
        if as_list(role.get("Properties", {}).get("ManagedPolicyArns")):
            problems.append(f"{service}: task role {rid} has managed policies (not verifiable as least privilege)")
        allowed = [s for s in role_statements(templates, fname, rid) if s.get("Effect") == "Allow"]
        actions = {a.lower() for s in allowed for a in statement_actions(s)}
        kinesis = {a for a in actions if a.startswith("kinesis:") or a == "*"}
        if service == "ingestor":
            if "kinesis:putrecords" not in kinesis:
                problems.append("ingestor: missing kinesis:PutRecords")
            for a in sorted(kinesis - INGESTOR_KINESIS_ALLOWED):
                problems.append(f"ingestor: Kinesis action {a!r} beyond PutRecords/PutRecord/DescribeStreamSummary")
        elif service == "aggregator":
            for a in sorted(actions - AGGREGATOR_ALLOWED):
                problems.append(f"aggregator: action {a!r} is not a stream read")
            for a in sorted(actions):
                verb = a.split(":", 1)[-1]
                if a == "*" or verb.startswith(WRITE_PREFIXES):
                    problems.append(f"aggregator: write action {a!r}")
            if "kinesis:getrecords" not in kinesis:
                problems.append("aggregator: missing kinesis:GetRecords")
        elif service == "inference":
            for a in sorted(kinesis):
                problems.append(f"inference: Kinesis permission {a!r}")
    return problems


def _ingress_rules(templates: dict[str, dict]):
    for fname, lid, res in resources(templates, "AWS::EC2::SecurityGroup"):
        for rule in as_list(res.get("Properties", {}).get("SecurityGroupIngress")):
            yield f"{fname}:{lid}", rule
    for fname, lid, res in resources(templates, "AWS::EC2::SecurityGroupIngress"):
        yield f"{fname}:{lid}", res.get("Properties", {})


def check_security_groups(templates: dict[str, dict]) -> list[str]:
    """No world-open ingress; ingress only on the ports in use and only from security groups."""
    problems = []
    allowed_ports = set(SERVICE_PORTS.values()) | {REDIS_PORT} | MONITORING_PORTS
    for where, rule in _ingress_rules(templates):
        if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
            problems.append(f"{where}: ingress open to the world ({rule.get('CidrIp') or rule.get('CidrIpv6')})")
        if "CidrIp" in rule or "CidrIpv6" in rule or "SourcePrefixListId" in rule:
            problems.append(f"{where}: ingress from an address range instead of a security group")
        if str(rule.get("IpProtocol")) not in ("tcp", "6"):
            problems.append(f"{where}: ingress protocol {rule.get('IpProtocol')!r}")
        lo, hi = rule.get("FromPort"), rule.get("ToPort")
        if lo != hi or lo not in allowed_ports:
            problems.append(f"{where}: ingress ports {lo}-{hi} not in {sorted(allowed_ports)}")
        if lo == REDIS_PORT and "SourceSecurityGroupId" not in rule:
            problems.append(f"{where}: Redis ingress not restricted to a service security group")
    return problems


def check_redis(templates: dict[str, dict]) -> list[str]:
    problems = []
    groups = list(resources(templates, "AWS::ElastiCache::ReplicationGroup"))
    if not groups:
        problems.append("no ElastiCache replication group")
    for fname, lid, res in groups:
        p = res.get("Properties", {})
        where = f"{fname}:{lid}"
        for key in ("TransitEncryptionEnabled", "AtRestEncryptionEnabled", "MultiAZEnabled", "AutomaticFailoverEnabled"):
            if not is_true(p.get(key)):
                problems.append(f"{where}: {key} is not true")
        if p.get("TransitEncryptionMode", "required") != "required":
            problems.append(f"{where}: TransitEncryptionMode {p.get('TransitEncryptionMode')!r} allows plaintext")
        # Authentication: the ACL user group rendered from deploy/redis/acl.yaml (redis-users.yaml), one
        # user and secret per service; a shared AuthToken is no longer used.
        if "AuthToken" in p:
            problems.append(f"{where}: shared AuthToken instead of per-service ACL users")
        if not as_list(p.get("UserGroupIds")):
            problems.append(f"{where}: no UserGroupIds (ACL users from redis-users.yaml)")
    return problems


def check_services(templates: dict[str, dict]) -> list[str]:
    problems = []
    services = list(resources(templates, "AWS::ECS::Service"))
    pipeline = [s for s in services if s[2].get("Properties", {}).get("ServiceName") not in MONITORING_SERVICES]
    if len(pipeline) != len(SERVICE_PORTS):
        problems.append(f"expected {len(SERVICE_PORTS)} pipeline ECS services, found {len(pipeline)}")
    for fname, lid, res in services:
        p = res.get("Properties", {})
        cb = (p.get("DeploymentConfiguration") or {}).get("DeploymentCircuitBreaker") or {}
        if not (is_true(cb.get("Enable")) and is_true(cb.get("Rollback"))):
            problems.append(f"{fname}:{lid}: deployment circuit breaker with rollback is not enabled")
        if p.get("LaunchType") != "FARGATE":
            problems.append(f"{fname}:{lid}: launch type {p.get('LaunchType')!r} is not FARGATE")
    return problems


def check_containers(templates: dict[str, dict]) -> list[str]:
    """Read-only root, non-root user, health check through the binary, awslogs, expected port."""
    problems = []
    for fname, lid, td in resources(templates, "AWS::ECS::TaskDefinition"):
        for c in as_list(td.get("Properties", {}).get("ContainerDefinitions")):
            name, where = c.get("Name"), f"{fname}:{lid}:{c.get('Name')}"
            if not is_true(c.get("ReadonlyRootFilesystem")):
                problems.append(f"{where}: root filesystem is writable")
            if str(c.get("User", "")).split(":")[0] in ("", "0", "root"):
                problems.append(f"{where}: runs as root")
            cmd = (c.get("HealthCheck") or {}).get("Command") or []
            if name in SERVICE_PORTS and cmd[:3] != ["CMD", f"/app/{name}", "healthcheck"]:
                problems.append(f"{where}: health check is not `/app/{name} healthcheck`")
            if (c.get("LogConfiguration") or {}).get("LogDriver") != "awslogs":
                problems.append(f"{where}: log driver is not awslogs")
            ports = [m.get("ContainerPort") for m in as_list(c.get("PortMappings"))]
            if name in SERVICE_PORTS and ports != [SERVICE_PORTS[name]]:
                problems.append(f"{where}: ports {ports} != [{SERVICE_PORTS[name]}]")
    return problems


def check_stream_encryption(templates: dict[str, dict]) -> list[str]:
    problems = []
    streams = list(resources(templates, "AWS::Kinesis::Stream"))
    if not streams:
        problems.append("no Kinesis stream")
    for fname, lid, res in streams:
        enc = res.get("Properties", {}).get("StreamEncryption") or {}
        if enc.get("EncryptionType") != "KMS" or not enc.get("KeyId"):
            problems.append(f"{fname}:{lid}: stream is not KMS-encrypted")
    return problems


ALL_CHECKS = (check_kinesis_statements, check_task_role_permissions, check_security_groups, check_redis,
              check_services, check_containers, check_stream_encryption)


# ----------------------------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------------------------
class TemplateTestCase(unittest.TestCase):
    templates: dict[str, dict]

    @classmethod
    def setUpClass(cls):
        cls.templates = load_all()

    def mutated(self) -> dict[str, dict]:
        return copy.deepcopy(self.templates)

    def role(self, templates, service) -> dict:
        fname, rid = task_role_for_container(templates, service)
        return templates[fname]["Resources"][rid]

    def first_kinesis_statement(self, templates, service) -> dict:
        for policy in self.role(templates, service)["Properties"]["Policies"]:
            for stmt in policy["PolicyDocument"]["Statement"]:
                if any(a.startswith("kinesis:") for a in statement_actions(stmt)):
                    return stmt
        raise AssertionError(f"{service} has no Kinesis statement")


class LoaderTests(TemplateTestCase):
    def test_templates_exist_and_parse_with_short_form_tags(self):
        self.assertTrue({"network.yaml", "data.yaml", "services.yaml"} <= set(self.templates))
        for name, tpl in self.templates.items():
            self.assertIn("Resources", tpl, name)

    def test_loader_expands_short_form_intrinsics(self):
        doc = yaml.load("a: !GetAtt S.Arn\nb: !Ref P\nc: !Sub 'x-${P}'\nd: !If [C, !Ref A, !Ref AWS::NoValue]\n",
                        Loader=CfnLoader)
        self.assertEqual(doc["a"], {"Fn::GetAtt": ["S", "Arn"]})
        self.assertEqual(doc["b"], {"Ref": "P"})
        self.assertEqual(doc["c"], {"Fn::Sub": "x-${P}"})
        self.assertEqual(doc["d"], {"Fn::If": ["C", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]})

    def test_services_stack_imports_an_export_that_is_the_stream_arn(self):
        self.assertIn("-StreamArn", stream_arn_export_suffixes(self.templates))


class PositiveTests(TemplateTestCase):
    def test_kinesis_statements_have_no_wildcards_and_target_the_stream_only(self):
        self.assertEqual(check_kinesis_statements(self.templates), [])

    def test_task_roles_are_least_privilege(self):
        self.assertEqual(check_task_role_permissions(self.templates), [])

    def test_ingestor_can_put_records_on_the_stream(self):
        fname, rid = task_role_for_container(self.templates, "ingestor")
        actions = {a.lower() for s in role_statements(self.templates, fname, rid) for a in statement_actions(s)}
        self.assertEqual({a for a in actions if a.startswith("kinesis:")}, INGESTOR_KINESIS_ALLOWED)

    def test_aggregator_has_exactly_the_read_actions(self):
        fname, rid = task_role_for_container(self.templates, "aggregator")
        actions = {a.lower() for s in role_statements(self.templates, fname, rid) for a in statement_actions(s)}
        self.assertEqual({a for a in actions if a.startswith("kinesis:")}, AGGREGATOR_KINESIS_ALLOWED)

    def test_inference_task_role_has_no_policies_at_all(self):
        fname, rid = task_role_for_container(self.templates, "inference")
        self.assertEqual(role_statements(self.templates, fname, rid), [])

    def test_no_security_group_ingress_from_the_world_and_only_used_ports(self):
        self.assertEqual(check_security_groups(self.templates), [])

    def test_redis_has_tls_at_rest_encryption_multi_az_and_acl_user_group(self):
        self.assertEqual(check_redis(self.templates), [])

    def test_fargate_services_roll_back_through_the_circuit_breaker(self):
        self.assertEqual(check_services(self.templates), [])

    def test_containers_are_read_only_non_root_and_self_health_checked(self):
        self.assertEqual(check_containers(self.templates), [])

    def test_stream_is_kms_encrypted(self):
        self.assertEqual(check_stream_encryption(self.templates), [])


class NegativeTests(TemplateTestCase):
    """Each mutation must be caught; proves the checkers are not vacuous."""

    def assertRejected(self, check, templates, fragment):
        problems = check(templates)
        self.assertTrue(any(fragment in p for p in problems), f"{fragment!r} not in {problems}")

    def test_kinesis_star_action_on_ingestor_is_rejected(self):
        t = self.mutated()
        self.first_kinesis_statement(t, "ingestor")["Action"].append("kinesis:*")
        self.assertRejected(check_kinesis_statements, t, "wildcard action 'kinesis:*'")
        self.assertRejected(check_task_role_permissions, t, "'kinesis:*'")

    def test_star_resource_on_aggregator_kinesis_statement_is_rejected(self):
        t = self.mutated()
        self.first_kinesis_statement(t, "aggregator")["Resource"] = "*"
        self.assertRejected(check_kinesis_statements, t, "wildcard resource '*'")

    def test_kinesis_statement_on_another_stream_is_rejected(self):
        t = self.mutated()
        other = "arn:aws:kinesis:us-east-1:123456789012:stream/other"
        self.first_kinesis_statement(t, "ingestor")["Resource"] = other
        self.assertRejected(check_kinesis_statements, t, "is not the stream ARN")

    def test_write_action_on_aggregator_is_rejected(self):
        t = self.mutated()
        self.first_kinesis_statement(t, "aggregator")["Action"].append("kinesis:PutRecords")
        self.assertRejected(check_task_role_permissions, t, "aggregator: write action 'kinesis:putrecords'")

    def test_kinesis_permission_on_inference_via_a_separate_policy_resource_is_rejected(self):
        t = self.mutated()
        fname, rid = task_role_for_container(t, "inference")
        t[fname]["Resources"]["SneakyPolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "sneaky",
                "Roles": [{"Ref": rid}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["kinesis:GetRecords"], "Resource": "*"}]},
            },
        }
        self.assertRejected(check_task_role_permissions, t, "inference: Kinesis permission 'kinesis:getrecords'")
        self.assertRejected(check_kinesis_statements, t, "SneakyPolicy")

    def test_ingress_from_anywhere_is_rejected(self):
        t = self.mutated()
        sg = t["network.yaml"]["Resources"]["InferenceSecurityGroup"]["Properties"]
        sg["SecurityGroupIngress"].append({"IpProtocol": "tcp", "FromPort": 9092, "ToPort": 9092,
                                           "CidrIp": "0.0.0.0/0"})
        t["network.yaml"]["Resources"]["OpenV6"] = {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": {"Ref": "RedisSecurityGroup"}, "IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
            "CidrIpv6": "::/0"}}
        self.assertRejected(check_security_groups, t, "open to the world (0.0.0.0/0)")
        self.assertRejected(check_security_groups, t, "open to the world (::/0)")
        self.assertRejected(check_security_groups, t, "Redis ingress not restricted")

    def test_redis_without_tls_is_rejected(self):
        t = self.mutated()
        redis = t["data.yaml"]["Resources"]["Redis"]["Properties"]
        redis["TransitEncryptionEnabled"] = False
        redis["AtRestEncryptionEnabled"] = "false"
        self.assertRejected(check_redis, t, "TransitEncryptionEnabled is not true")
        self.assertRejected(check_redis, t, "AtRestEncryptionEnabled is not true")

    def test_service_without_rollback_is_rejected(self):
        t = self.mutated()
        svc = t["services.yaml"]["Resources"]["AggregatorService"]["Properties"]
        svc["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Rollback"] = False
        self.assertRejected(check_services, t, "AggregatorService: deployment circuit breaker")

    def test_writable_root_filesystem_is_rejected(self):
        t = self.mutated()
        td = t["services.yaml"]["Resources"]["InferenceTaskDefinition"]["Properties"]
        td["ContainerDefinitions"][0]["ReadonlyRootFilesystem"] = False
        self.assertRejected(check_containers, t, "root filesystem is writable")


if __name__ == "__main__":
    unittest.main()
