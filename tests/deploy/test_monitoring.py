"""The ECS monitoring stack (deploy/ecs/monitoring.yaml) and its rendered config (deploy/monitoring/render.sh).

Renders the Prometheus / Alertmanager / Grafana / YACE config the images are built from, then checks it the way
the deployment will use it: `promtool check config`, `amtool check-config`, cfn-lint on the template, every
scrape job resolving to a Cloud Map service that services.yaml registers (name and port), every localhost
target being a container port of the monitoring task, runbook URLs rendered, receiver secrets wired end to end.
Needs promtool, amtool (Debian packages prometheus, prometheus-alertmanager) and cfn-lint: a missing tool is a
failure, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_iam import ROOT, as_list, load_template  # noqa: E402

RENDER = ROOT / "deploy" / "monitoring" / "render.py"
ENTRYPOINT = ROOT / "deploy" / "monitoring" / "alertmanager-entrypoint.sh"
TEMPLATE = ROOT / "deploy" / "ecs" / "monitoring.yaml"
SERVICES = ROOT / "deploy" / "ecs" / "services.yaml"
BASE = "https://runbooks.example.com/btc-pipeline/runbooks.md"
NAMESPACE = "btc-pipeline.internal"


def tool(name: str) -> str:
    venv = ROOT / ".local" / "venv" / "bin" / name
    found = str(venv) if venv.exists() else shutil.which(name)
    if not found:
        raise AssertionError(f"{name} not found (deploy/local/bootstrap.sh installs it)")
    return found


def render(out: Path, *extra: str, services: Path = SERVICES) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RENDER), str(out), "--runbook-base-url", BASE,
                           "--namespace", NAMESPACE, "--services", str(services), *extra],
                          capture_output=True, text=True)


def cloud_map_registrations(services: dict) -> dict[str, int]:
    """{<name>.<namespace default>: container port} for every ECS service registered in Cloud Map."""
    res = services["Resources"]
    names = {lid: r["Properties"]["Name"] for lid, r in res.items() if r["Type"] == "AWS::ServiceDiscovery::Service"}
    ns_param = services["Parameters"]["ServiceDiscoveryNamespace"]["Default"]
    out = {}
    for r in res.values():
        if r["Type"] != "AWS::ECS::Service":
            continue
        for reg in as_list(r["Properties"].get("ServiceRegistries")):
            lid = reg["RegistryArn"]["Fn::GetAtt"][0]
            out[f"{names[lid]}.{ns_param}"] = reg["ContainerPort"]
    return out


def unresolved_scrape_targets(prom: dict, registrations: dict[str, int], local_ports: set[int]) -> list[str]:
    """Scrape jobs whose targets are neither a Cloud Map name (with its registered port) nor a port of a
    container in the monitoring task on localhost."""
    problems = []
    for job in prom["scrape_configs"]:
        name = job["job_name"]
        for sd in job.get("dns_sd_configs", []):
            for n in sd["names"]:
                if n not in registrations:
                    problems.append(f"{name}: {n} is not registered by services.yaml ({sorted(registrations)})")
                elif sd.get("type") == "A" and sd.get("port") != registrations[n]:
                    problems.append(f"{name}: {n}:{sd.get('port')} but services.yaml registers port {registrations[n]}")
        for sc in job.get("static_configs", []):
            for t in sc["targets"]:
                host, _, port = t.rpartition(":")
                if host != "localhost" or int(port) not in local_ports:
                    problems.append(f"{name}: static target {t} is not a container of the monitoring task")
        if not job.get("dns_sd_configs") and not job.get("static_configs"):
            problems.append(f"{name}: no targets")
    return problems


class RenderedMonitoringTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="monitoring-render-"))
        cls.out = cls.tmp / "out"
        r = render(cls.out, "--region", "eu-west-1", "--environment", "btc-pipeline")
        if r.returncode != 0:
            raise AssertionError(f"render failed: {r.stdout}{r.stderr}")
        cls.prom = yaml.safe_load((cls.out / "prometheus" / "prometheus.yml").read_text())
        cls.template = load_template(TEMPLATE)
        cls.services = load_template(SERVICES)
        td = cls.template["Resources"]["MonitoringTaskDefinition"]["Properties"]
        cls.containers = {c["Name"]: c for c in td["ContainerDefinitions"]}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def local_ports(self) -> set[int]:
        return {m["ContainerPort"] for c in self.containers.values() for m in as_list(c.get("PortMappings"))}

    def test_promtool_check_config_on_the_rendered_prometheus_yml(self):
        r = subprocess.run([tool("promtool"), "check", "config", str(self.out / "prometheus" / "prometheus.yml")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout + r.stderr)

    def test_amtool_check_config_on_the_rendered_alertmanager_yml(self):
        r = subprocess.run([tool("amtool"), "check-config", str(self.out / "alertmanager" / "alertmanager.yml")],
                           capture_output=True, text=True, cwd=self.out / "alertmanager")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_cfn_lint_on_the_monitoring_template(self):
        r = subprocess.run([tool("cfn-lint"), "--", str(TEMPLATE)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_scrape_job_resolves_to_a_cloud_map_service_or_a_task_container(self):
        regs = cloud_map_registrations(self.services)
        self.assertEqual(unresolved_scrape_targets(self.prom, regs, self.local_ports()), [])
        sd_jobs = {j["job_name"] for j in self.prom["scrape_configs"] if j.get("dns_sd_configs")}
        self.assertEqual(sd_jobs, {"ingestor-sbe-service", "aggregator-service", "inference-service"})
        self.assertEqual({n for j in self.prom["scrape_configs"] for sd in j.get("dns_sd_configs", [])
                          for n in sd["names"]}, set(regs))

    def test_the_checker_rejects_the_repository_static_targets(self):
        # prometheus/prometheus.yml targets `*-service:909x`, which nothing registers in ECS.
        repo = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
        problems = unresolved_scrape_targets(repo, cloud_map_registrations(self.services), self.local_ports())
        self.assertTrue(any("aggregator-service:9091" in p for p in problems), problems)

    def test_render_fails_when_services_yaml_does_not_register_a_scraped_name(self):
        text = SERVICES.read_text().replace("      Name: aggregator\n", "      Name: aggregator-v2\n")
        self.assertNotEqual(text, SERVICES.read_text())
        bad = self.tmp / "services-renamed.yaml"
        bad.write_text(text)
        r = render(self.tmp / "bad", services=bad)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("needs Cloud Map service 'aggregator'", r.stdout + r.stderr)

    def test_scrape_intervals_and_labels_survive_the_render(self):
        jobs = {j["job_name"]: j for j in self.prom["scrape_configs"]}
        self.assertEqual(jobs["inference-service"]["scrape_interval"], "5s")
        self.assertEqual(jobs["aggregator-service"]["scrape_interval"], "10s")
        self.assertIn({"target_label": "service", "replacement": "aggregator"}, jobs["aggregator-service"]["relabel_configs"])
        self.assertEqual(self.prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"], ["localhost:9093"])

    def test_runbook_urls_use_the_configured_base(self):
        urls = re.findall(r'runbook_url: "([^"]+)"', "".join(
            p.read_text() for p in (self.out / "prometheus" / "rules").glob("*.yml")))
        self.assertGreater(len(urls), 50)
        self.assertEqual([u for u in urls if not u.startswith(BASE + "#")], [])

    def test_render_refuses_the_placeholder_runbook_base(self):
        r = subprocess.run([sys.executable, str(RENDER), str(self.tmp / "ph"), "--runbook-base-url",
                            "https://github.com/ORG/btc-pipeline/blob/main/docs/runbooks.md"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not a real http(s) URL", r.stderr)

    def test_grafana_datasource_is_the_prometheus_container(self):
        ds = yaml.safe_load((self.out / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
        self.assertEqual(ds["datasources"][0]["url"], "http://localhost:9090")
        self.assertIn(9090, self.local_ports())
        dp = yaml.safe_load((self.out / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text())
        path = dp["providers"][0]["options"]["path"]
        dockerfile = (ROOT / "deploy" / "docker" / "monitoring-grafana.Dockerfile").read_text()
        self.assertIn(f"dashboards/ {path}/", dockerfile)
        self.assertTrue(sorted(p.name for p in (self.out / "grafana" / "dashboards").glob("*.json")))

    def test_yace_is_rendered_for_the_region_and_cluster(self):
        text = (self.out / "yace" / "yace.yml").read_text()
        cfg = yaml.safe_load(text)
        regions = {r for j in cfg["discovery"]["jobs"] for r in j["regions"]}
        self.assertEqual(regions, {"eu-west-1"})
        billing = [s for s in cfg["static"] if s["namespace"] == "AWS/Billing"]
        self.assertEqual(billing[0]["regions"], ["us-east-1"])
        clusters = {d["value"] for s in cfg["static"] for d in s["dimensions"] if d["name"] == "ClusterName"}
        self.assertEqual(clusters, {"btc-pipeline"})

    def test_alertmanager_secret_files_are_exactly_what_the_entrypoint_writes_from_the_task_secrets(self):
        am = (self.out / "alertmanager" / "alertmanager.yml").read_text()
        files = set(re.findall(r"/etc/alertmanager/secrets/(\w+)", am))
        entry = ENTRYPOINT.read_text()
        written = dict(re.findall(r"^write (\w+) (\w+)$", entry, re.M))
        self.assertEqual(set(written.values()), files)
        injected = {s["Name"] for s in self.containers["alertmanager"]["Secrets"]}
        self.assertEqual(set(written), injected)
        mounts = {m["ContainerPath"] for m in self.containers["alertmanager"]["MountPoints"]}
        self.assertIn("/etc/alertmanager/secrets", mounts)

    def test_entrypoint_writes_private_files_and_refuses_a_missing_secret(self):
        d = self.tmp / "secrets"
        env = {"PATH": os.environ["PATH"], "AM_SECRETS_DIR": str(d), "AM_BINARY": "/usr/bin/env",
               "AM_SLACK_WEBHOOK_URL": "https://hooks.example/x", "AM_SMTP_PASSWORD": "p",
               "AM_PAGERDUTY_ROUTING_KEY": "k", "AM_SMS_GATEWAY_TOKEN": "t"}
        r = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual((d / "smtp_password").read_text(), "p")
        self.assertEqual(stat.S_IMODE((d / "pagerduty_routing_key").stat().st_mode), 0o600)
        self.assertNotIn("AM_SMTP_PASSWORD", r.stdout)  # /usr/bin/env prints what Alertmanager would inherit
        del env["AM_SMS_GATEWAY_TOKEN"]
        r = subprocess.run(["sh", str(ENTRYPOINT)], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 64)
        self.assertIn("AM_SMS_GATEWAY_TOKEN is not set", r.stderr)

    def test_every_ecr_image_has_a_dockerfile_and_redis_exporter_uses_tls(self):
        for name, c in self.containers.items():
            image = c["Image"]
            if isinstance(image, dict) and "Fn::Sub" in image:
                m = re.search(r"/monitoring-(\w+):", image["Fn::Sub"])
                self.assertTrue(m, image)
                self.assertTrue((ROOT / "deploy" / "docker" / f"monitoring-{m.group(1)}.Dockerfile").exists(), name)
        env = {e["Name"]: e["Value"] for e in self.containers["redis-exporter"]["Environment"]}
        self.assertTrue(env["REDIS_ADDR"]["Fn::Sub"][0].startswith("rediss://"))
        self.assertEqual(env["REDIS_EXPORTER_SKIP_TLS_VERIFICATION"], "false")

    def test_prometheus_and_alertmanager_state_is_on_efs(self):
        td = self.template["Resources"]["MonitoringTaskDefinition"]["Properties"]
        efs = {v["Name"] for v in td["Volumes"] if "EFSVolumeConfiguration" in v}
        for name, path in (("prometheus", "/prometheus"), ("alertmanager", "/alertmanager")):
            mounts = {m["ContainerPath"]: m["SourceVolume"] for m in self.containers[name]["MountPoints"]}
            self.assertIn(mounts.get(path), efs, name)
        self.assertIn("--storage.tsdb.path=/prometheus", self.containers["prometheus"]["Command"])
        for v in td["Volumes"]:
            if "EFSVolumeConfiguration" in v:
                self.assertEqual(v["EFSVolumeConfiguration"]["TransitEncryption"], "ENABLED")
        self.assertTrue(self.template["Resources"]["FileSystem"]["Properties"]["Encrypted"])


if __name__ == "__main__":
    unittest.main()
