# syntax=docker/dockerfile:1
# ingestor: Binance SBE WebSocket + REST -> Kinesis `market-events`. Listens on :9090 (/metrics, /health, /ready).
# Build from the repository root (the build context):
#   docker build -f deploy/docker/ingestor.Dockerfile -t ingestor:dev .
# Stages: chef (toolchain + cargo-chef) -> planner (recipe.json) -> builder (cook deps, then build) -> runtime.
# The dependency layer (`cargo chef cook`) is rebuilt only when Cargo.toml/Cargo.lock/manifests change.

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
RUN cargo chef cook --release --locked --package ingestor --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package ingestor --bin ingestor

# Runtime: glibc + libgcc + CA certificates, no shell, no package manager, uid/gid 65532 (nonroot).
FROM ${RUNTIME_IMAGE} AS runtime
ARG RUNTIME_IMAGE
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="ingestor" \
      org.opencontainers.image.description="Binance SBE market data -> AWS Kinesis (market-events)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
WORKDIR /app
# Root-owned, world-readable/executable: the non-root process cannot modify its own binary.
COPY --from=builder /src/target/release/ingestor /app/ingestor
ENV INGESTOR__HTTP__LISTEN=0.0.0.0:9090 \
    INGESTOR__LOG__FORMAT=json
USER 65532:65532
EXPOSE 9090
STOPSIGNAL SIGTERM
# The binary probes itself; no curl/shell in the image. ECS ignores this and uses the task definition's healthCheck.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/ingestor", "healthcheck", "--url", "http://127.0.0.1:9090/health"]
ENTRYPOINT ["/app/ingestor"]
