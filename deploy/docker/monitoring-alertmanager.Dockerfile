# syntax=docker/dockerfile:1
# Alertmanager for the ECS monitoring task: upstream image + alertmanager/ (routing, templates) and an
# entrypoint that writes the receiver secrets (injected from Secrets Manager as env vars) to the files
# alertmanager.yml reads (*_file).
#   docker build -f deploy/docker/monitoring-alertmanager.Dockerfile -t <ecr>/<prefix>/monitoring-alertmanager:<tag> build/monitoring/alertmanager
ARG ALERTMANAGER_IMAGE=prom/alertmanager:v0.27.0
FROM ${ALERTMANAGER_IMAGE}
COPY --chown=65534:65534 alertmanager.yml /etc/alertmanager/alertmanager.yml
COPY --chown=65534:65534 templates/ /etc/alertmanager/templates/
COPY --chown=65534:65534 --chmod=0555 entrypoint.sh /usr/local/bin/alertmanager-entrypoint.sh
# Mount points of the task volumes, owned by the runtime user: Fargate copies a mount path's
# ownership from the image into the (otherwise root-owned) task volume.
USER 0:0
RUN mkdir -p /etc/alertmanager/secrets /alertmanager && chown 65534:65534 /etc/alertmanager/secrets /alertmanager \
    && chmod 0700 /etc/alertmanager/secrets
USER 65534:65534
EXPOSE 9093
ENTRYPOINT ["/usr/local/bin/alertmanager-entrypoint.sh"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
