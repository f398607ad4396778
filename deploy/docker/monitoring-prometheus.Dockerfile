# syntax=docker/dockerfile:1
# Prometheus for the ECS monitoring task: upstream image + the config rendered from prometheus/
# (scrape via Cloud Map DNS SD, rules with the deployment's runbook base URL).
#   deploy/monitoring/render.sh build/monitoring --runbook-base-url URL
#   docker build -f deploy/docker/monitoring-prometheus.Dockerfile -t <ecr>/<prefix>/monitoring-prometheus:<tag> build/monitoring/prometheus
# The TSDB lives on EFS at /prometheus (task definition); flags are in deploy/ecs/monitoring.yaml.
ARG PROMETHEUS_IMAGE=prom/prometheus:v2.53.2
FROM ${PROMETHEUS_IMAGE}
COPY --chown=65534:65534 prometheus.yml /etc/prometheus/prometheus.yml
COPY --chown=65534:65534 rules/ /etc/prometheus/rules/
USER 65534:65534
EXPOSE 9090
