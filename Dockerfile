# syntax=docker/dockerfile:1
#
# One image for every service of the task manager: the service is the first argument of
# `todo-server` (api, recurring, notification, audit, mcp; `migrate` for the init container).
#
#   docker build -t todo-server .
#   docker run --rm -p 8080:8080 todo-server      # `all`: every role in one process, SQLite, no infrastructure
#   docker run --rm todo-server api               # one service: needs TODO_BUS=dapr, DATABASE_URL, a sidecar
#
# The default command is `all`, the binary's own default, because it is the only one that runs
# alone: a single service refuses to start on the in-process bus. The Helm chart always names
# the service in the container's args.
#
# Stages: chef (the toolchain and cargo-chef) -> planner (the dependency recipe, which changes
# only when a Cargo.toml or Cargo.lock does) -> builder (dependencies cooked in their own
# cached layer, then the workspace) -> runtime (distroless, non-root, no shell).
#
# What the binary needs at run time, and where it comes from:
# - TLS roots: SMTP (lettre) carries webpki-roots compiled in; Web Push (rustls-platform-verifier)
#   reads the system store, /etc/ssl/certs/ca-certificates.crt, which the distroless base ships.
# - Time zones: chrono-tz compiles the IANA database in; the process itself runs in UTC.
# - The web UI (todo-server/web/) is compiled in by rust-embed; SQL migrations by sqlx::migrate!.
# - SQLite is compiled in (bundled, with the flags of .cargo/config.toml); PostgreSQL is spoken in
#   pure Rust; no OpenSSL, no librdkafka (the default features of todo-server have no Kafka
#   client: the cluster's bus is Dapr).
# - Shared libraries: glibc and libgcc_s only, both in distroless/cc-debian12. The builder is on
#   Debian 12 (bookworm) too, so the binary needs no newer glibc than the runtime has.

ARG CARGO_CHEF_VERSION=0.1.78

# ---------------------------------------------------------------------------------------------
# The toolchain the workspace is built and tested with (CI pins the same version); written out
# rather than through an ARG so that Dependabot can read and update the tag.
FROM rust:1.95.0-bookworm AS chef
ARG CARGO_CHEF_VERSION
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# ---------------------------------------------------------------------------------------------
# The recipe: every workspace member's manifest (with its [[bench]], [[example]] and [[test]]
# targets) and the lock file. Its content, not the source, decides whether `cook` reruns.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---------------------------------------------------------------------------------------------
FROM chef AS builder
# Stripped, and the same profile settings for `cook` and `build` (a difference would rebuild
# every dependency). The rest of the release profile (fat LTO, one codegen unit) is the
# workspace's own, in Cargo.toml.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_INCREMENTAL=0 \
    CARGO_TERM_COLOR=never
COPY --from=planner /src/recipe.json recipe.json
# The workspace's build settings (SQLite's compile flags) before `cook`: the recipe does not carry
# them, and dependencies cooked without them would be built again by `build`.
COPY .cargo/config.toml .cargo/config.toml
# The dependencies of todo-server with its default features only: this layer is reused until
# a manifest or Cargo.lock changes. The registry is a cache mount (downloads are kept across
# builds on one builder, and kept out of the layer).
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=todo-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    cargo chef cook --release --locked --package todo-server --recipe-path recipe.json
# The workspace itself (.dockerignore keeps out target/, docs, deploy, the CI and so on).
COPY . .
RUN --mount=type=cache,id=todo-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=todo-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    cargo build --release --locked --package todo-server --bin todo-server \
    && install -D -m 0755 target/release/todo-server /out/todo-server \
    && /out/todo-server --help > /dev/null

# ---------------------------------------------------------------------------------------------
# No shell, no package manager; user 65532 (nonroot). The tag is pinned here; Dependabot
# (docker ecosystem) proposes updates. There is no HEALTHCHECK: there is no shell or client in
# the image to run one, and Kubernetes does not use it. The chart's liveness and readiness
# probes call GET /healthz and GET /readyz on port 8080.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/todo-events/todo
LABEL org.opencontainers.image.title="todo-server" \
      org.opencontainers.image.description="Event-driven task manager: REST API, SSE, MCP and the recurring, notification and audit services in one binary" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder /out/todo-server /usr/local/bin/todo-server

# Listen on every interface inside the container (the binary's own default is loopback). With
# DATABASE_URL unset, `all` keeps its SQLite file under $HOME (/home/nonroot, the user's own).
ENV TODO_ADDR=0.0.0.0:8080
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/todo-server"]
CMD ["all"]
