# syntax=docker/dockerfile:1
# Grafana for the ECS monitoring task: upstream image + provisioning (datasource -> localhost:9090) and
# the dashboards from grafana/. /var/lib/grafana is a writable task volume; the image stays read-only.
#   docker build -f deploy/docker/monitoring-grafana.Dockerfile -t <ecr>/<prefix>/monitoring-grafana:<tag> build/monitoring/grafana
ARG GRAFANA_IMAGE=grafana/grafana-oss:11.2.0
FROM ${GRAFANA_IMAGE}
COPY --chown=472:0 provisioning/ /etc/grafana/provisioning/
COPY --chown=472:0 dashboards/ /etc/grafana/dashboards/
# /var/lib/grafana (sqlite, sessions) is a task volume; the image's copy is owned by 472 already.
USER 472:0
EXPOSE 3000
