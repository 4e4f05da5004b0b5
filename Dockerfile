# One image for all five Relay services (gateway, validator, matcher, dispatcher, history).
# There is no build step: tools/register.js has SWC compile the TypeScript sources as they
# load, so the image keeps the repository layout (libs/, services/, schemas/ and the
# tsconfig files that carry the @relay/* path aliases) and the command picks the service:
#
#   docker run relay:local node -r ./tools/register.js services/<name>/src/main.ts
#
# docker-compose.yml sets that command for each service, along with its environment,
# published port and healthcheck (each service listens on its own port, so the healthcheck
# lives there rather than here).
#
# It builds with the classic builder as well as BuildKit (no `# syntax=` line, which makes
# BuildKit pull its frontend from a registry, and no RUN --mount), so it also builds on an
# engine without BuildKit or without any registry: NODE_IMAGE then names a base built by
# infra/docker/base.sh (see docs/deployment.md).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- dependencies: production packages only, exactly as package-lock.json records them ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev keeps jest, nx, eslint and testcontainers out of the image. What SWC needs at
# run time (@swc/core, @swc-node/register and its typescript peer) is a production
# dependency, and so is chDB with its native library (@chdb/lib-linux-x64-gnu, an optional
# dependency picked for this platform), which history loads only without CLICKHOUSE_URL.
# --ignore-scripts: no dependency needs its install script here (chDB's is empty, swc's
# only checks for its native package, which npm already picked), and one of them would
# send install telemetry. The npm cache lives and dies inside this one layer.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --cache /tmp/npm-cache \
    && rm -rf /tmp/npm-cache

# ---- runtime ----------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Sources stay owned by root and read-only for the service user. The embedded history
# engine's default data directory (.relay/chdb, used only without CLICKHOUSE_URL) is the
# one writable place; SWC's transform cache goes to /tmp. Made first, while the layer below
# it is only the base image: some storage drivers (vfs) copy the whole tree for each layer.
RUN mkdir -p /app/.relay && chown node:node /app/.relay

COPY --from=deps /app/node_modules ./node_modules
# The build context is the runtime layout and nothing else: .dockerignore lets in only
# package.json, package-lock.json, tsconfig.json, tsconfig.base.json, tools/register.js,
# schemas (the Avro contracts libs/contracts reads at run time), libs and services, without
# specs, e2e suites and benches. One COPY, so one layer for all the sources.
COPY . ./

# The unprivileged user that ships with the official Node image (uid 1000); base.sh makes
# the same one.
USER node

EXPOSE 3000 3001 3002 3003 3004
CMD ["node", "-r", "./tools/register.js", "services/gateway/src/main.ts"]
