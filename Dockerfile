# doithoai: build with the Rust toolchain, run on a slim Debian as a non-root user.
#   docker build -t doithoai .
#   docker run -p 8080:8080 -v doithoai-data:/data doithoai          (SQLite in /data)
#   docker compose up                                                  (two nodes on PostgreSQL)

FROM rust:1-bookworm AS builder
WORKDIR /src
# Dependencies first, so editing the code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY . .
# Make cargo see the real sources as newer than the placeholder build.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin doithoai

FROM debian:bookworm-slim
# curl is only for the container health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin doithoai \
    && mkdir -p /data && chown doithoai:doithoai /data
COPY --from=builder /src/target/release/doithoai /usr/local/bin/doithoai
USER doithoai
WORKDIR /data
# The SQLite database and secret.key (single node), or only secret.key when
# the secret is not given by DOITHOAI_SECRET.
VOLUME /data
ENV DOITHOAI_DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["doithoai"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
