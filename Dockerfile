# syntax=docker/dockerfile:1
#
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

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- dependencies: production packages only, from the lockfile --------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev keeps jest, nx, eslint and testcontainers out of the image. What SWC needs at
# run time (@swc/core, @swc-node/register and its typescript peer) is a production
# dependency, and so is chDB with its native library (@chdb/lib-linux-x64-gnu, an optional
# dependency picked for this platform), which history loads only without CLICKHOUSE_URL.
RUN --mount=type=cache,target=/root/.npm \
    npm install --omit=dev --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY tools/register.js ./tools/register.js
# Avro contracts, read at run time from <repo>/schemas by libs/contracts.
COPY schemas ./schemas
COPY libs ./libs
COPY services ./services

# Sources stay owned by root and read-only for the service user. The embedded history
# engine's default data directory (.relay/chdb, used only without CLICKHOUSE_URL) is the
# one writable place; SWC's transform cache goes to /tmp.
RUN mkdir -p /app/.relay && chown node:node /app/.relay

# The unprivileged user that ships with the official Node image (uid 1000).
USER node

EXPOSE 3000 3001 3002 3003 3004
CMD ["node", "-r", "./tools/register.js", "services/gateway/src/main.ts"]
