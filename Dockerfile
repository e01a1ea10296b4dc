# The demo, notes-server, as a minimal image: built in one stage, run from a distroless base
# (no shell, no package manager) as an unprivileged user, with a read-only root filesystem and
# one writable volume. Untested here (no container engine on the CI machine); see README,
# "Confinement".
#
#   docker build -t notes-server .
#   docker run --read-only -v notes-data:/data -p 8787:8787 \
#     --security-opt seccomp=examples/seccomp-profile.json \
#     -e NOTES_JWT_SECRET -e NOTES_API_KEYS notes-server \
#     serve --addr 0.0.0.0:8787 --url https://mcp.example.com/mcp \
#     --db /data/db/notes.db --files /data/files

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p mcp-secure-examples --bin notes-server \
    && mkdir -p /data/files /data/db \
    && chown -R 10001:10001 /data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/notes-server /usr/local/bin/notes-server
COPY --from=build --chown=10001:10001 /data /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["/usr/local/bin/notes-server", "health", "--url", "http://127.0.0.1:8787/healthz"]
ENTRYPOINT ["/usr/local/bin/notes-server"]
CMD ["serve", "--addr", "0.0.0.0:8787", "--db", "/data/db/notes.db", "--files", "/data/files", "--sandbox", "require"]
