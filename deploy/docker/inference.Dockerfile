# syntax=docker/dockerfile:1
# inference: Redis features -> ONNX model (tract-onnx) -> predictions in Redis + HTTP API. Listens on :9092
# (/metrics, /health, /ready and the prediction API).
# Build from the repository root (the build context):
#   docker build -f deploy/docker/inference.Dockerfile -t inference:dev .
# Stages: chef (toolchain + cargo-chef) -> planner (recipe.json) -> builder (cook deps, then build) -> runtime.
#
# The model is baked into the image (model/artifacts/model.onnx -> /app/model/model.onnx, and the baseline
# model for the MODEL_VARIANT=baseline rollback toggle -> /app/model/baseline.onnx). One image digest = one
# code + model pair: a deployment rollback also rolls back the model, startup does not depend on S3, and the
# task role needs no S3 permission. See docs/deploy.md ("Why the model is in the image").

ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.78
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM rust:${RUST_VERSION}-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Cook exactly the package we build so feature unification (resolver 2/3) matches the final build.
RUN cargo chef cook --release --locked --package inference --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package inference --bin inference

# Runtime: glibc + libgcc + CA certificates, no shell, no package manager, uid/gid 65532 (nonroot).
FROM ${RUNTIME_IMAGE} AS runtime
ARG RUNTIME_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
# Directory in the build context holding model.onnx and baseline.onnx (override to bake another model).
ARG MODEL_DIR=model/artifacts
ARG MODEL_VERSION=unknown
LABEL org.opencontainers.image.title="inference" \
      org.opencontainers.image.description="Redis features -> ONNX model (tract) -> predictions in Redis + HTTP API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}" \
      io.btc-pipeline.model.version="${MODEL_VERSION}"
WORKDIR /app
# Root-owned, read-only for the service user: neither binary nor model can be modified at run time.
COPY --from=builder /src/target/release/inference /app/inference
COPY ${MODEL_DIR}/model.onnx /app/model/model.onnx
COPY ${MODEL_DIR}/baseline.onnx /app/model/baseline.onnx
ENV INFERENCE__HTTP__LISTEN=0.0.0.0:9092 \
    INFERENCE__LOG__FORMAT=json \
    INFERENCE__MODEL__PATH=/app/model/model.onnx
USER 65532:65532
EXPOSE 9092
STOPSIGNAL SIGTERM
# The binary probes itself; no curl/shell in the image. ECS ignores this and uses the task definition's healthCheck.
# A longer start period covers model load + feature-list check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["/app/inference", "healthcheck", "--url", "http://127.0.0.1:9092/health"]
ENTRYPOINT ["/app/inference"]
