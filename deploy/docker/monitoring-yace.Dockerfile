# syntax=docker/dockerfile:1
# YACE (CloudWatch exporter) for the ECS monitoring task with the rendered prometheus/exporters/yace.yml.
#   docker build -f deploy/docker/monitoring-yace.Dockerfile -t <ecr>/<prefix>/monitoring-yace:<tag> build/monitoring/yace
ARG YACE_IMAGE=quay.io/prometheuscommunity/yet-another-cloudwatch-exporter:v0.61.2
FROM ${YACE_IMAGE}
COPY --chown=65534:65534 yace.yml /etc/yace/config.yml
USER 65534:65534
EXPOSE 5000
CMD ["--config.file=/etc/yace/config.yml", "--listen-address=:5000", "--scraping-interval=60"]
