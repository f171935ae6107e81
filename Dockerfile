# syntax=docker/dockerfile:1
# One image for every Ensemble service; the command names the service:
#   docker build -t ensemble --build-arg REVISION="$(git rev-parse HEAD)" --build-arg SOURCE=<repository URL> .
#   docker run --rm -p 8000:8000 -e API_TOKENS=... ensemble gateway
# Services: gateway orchestrator planning-agent reasoning-agent rag-agent mcp-tools mock-agent sim-llm
# embedded-postgres cli. See docs/deployment.md. test/deploy/runtime-layout.int.test.ts builds and runs the
# same runtime layout without a Docker engine.

# The Node.js release the test suite runs on: package.json pins it as the `node-linux-*` packages, whose
# binary npm puts first on every npm script's PATH (test/deploy/dockerfile.test.ts keeps the two equal).
ARG NODE_VERSION=24.22.3

# ---- build: all dependencies, the web console (Vite), then the runtime layout (compiled JavaScript +
# manifests + the console's static files, served by the gateway at /console) in /layout ----
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && npm run build:console \
 && npm run build -- /layout

# ---- deps: the production install of that layout (no dev dependencies, no sources; no optional ones:
# they are the pinned Node.js binaries, which the base image already is, and pg's Cloudflare socket) ----
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY --from=build /layout/ ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="Ensemble" \
      org.opencontainers.image.description="Multi-agent orchestration server with an OpenAI-compatible front door and A2A agents behind it" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"

# tini as PID 1: forwards SIGTERM to node (the services drain on it) and reaps stdio MCP servers' children.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown node:node /data

# A container is reached from outside: every service binds all interfaces (the gateway still refuses to
# leave loopback without API_TOKENS). Embedded state (PGlite) goes to the /data volume.
ENV NODE_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    ORCHESTRATOR_HOST=0.0.0.0 \
    PLANNING_AGENT_HOST=0.0.0.0 \
    REASONING_AGENT_HOST=0.0.0.0 \
    RAG_AGENT_HOST=0.0.0.0 \
    MCP_TOOLS_HOST=0.0.0.0 \
    MOCK_AGENT_HOST=0.0.0.0 \
    SIM_LLM_HOST=0.0.0.0 \
    EMBEDDED_PG_HOST=0.0.0.0 \
    EMBEDDED_PG_DATA_DIR=/data/pglite \
    MCP_CONFIG_FILE=/app/deploy/docker/mcp-servers.json

WORKDIR /app
# Owned by root and read-only to the service user: the application cannot rewrite itself.
COPY --from=deps /app/ ./
# The base image's `node` user (1000:1000), by number: Kubernetes can verify runAsNonRoot only for a numeric user.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8000 8001 8002 8003 8004 8010 8100 8201 5433

# One check for every service: it reads which one PID 1 runs and probes its /health (SQL for embedded-postgres).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/app/tools/image/dist/healthcheck.js"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/docker/entrypoint.sh"]
CMD ["gateway"]
