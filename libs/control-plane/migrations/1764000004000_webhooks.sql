-- Up Migration

-- Outbound webhook endpoints (seed 004's subscriptions). Signing secrets are stored
-- encrypted (AES-256-GCM, key RELAY_WEBHOOK_SECRET_KEY): the dispatcher must sign with
-- them, so a one-way hash is not an option. During a rotation the previous secret keeps
-- signing until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
  id                          text PRIMARY KEY,
  team_id                     text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  url                         text NOT NULL,
  description                 text,
  events                      text[] NOT NULL,
  contact_fields              text[] NOT NULL DEFAULT '{}',
  batch_max_events            integer CHECK (batch_max_events BETWEEN 1 AND 1000),
  batch_max_wait_ms           integer CHECK (batch_max_wait_ms BETWEEN 0 AND 600000),
  environment                 text NOT NULL CHECK (environment IN ('production', 'staging')),
  signature                   text NOT NULL DEFAULT 'standard' CHECK (signature IN ('standard', 'shopimind')),
  success_contract            text NOT NULL DEFAULT '2xx' CHECK (success_contract IN ('2xx', 'strict')),
  status                      text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'auto-disabled')),
  timeout_ms                  integer NOT NULL DEFAULT 10000 CHECK (timeout_ms BETWEEN 100 AND 30000),
  max_concurrency             integer NOT NULL DEFAULT 4 CHECK (max_concurrency BETWEEN 1 AND 64),
  secret_enc                  bytea NOT NULL,
  previous_secret_enc         bytea,
  previous_secret_expires_at  timestamptz,
  last_success_at             timestamptz,
  last_failure_at             timestamptz,
  disabled_reason             text,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_team ON webhook_endpoints (team_id, created_at DESC);

-- Deliveries accepted by a dispatcher and not finished yet: the durable retry queue.
-- due_at doubles as a lease (visibility timeout): a dispatcher that takes a row pushes
-- due_at past the time it needs, so other instances skip it; if it dies, the row becomes
-- due again and another instance sends it (same delivery_id = same webhook-id).
CREATE TABLE webhook_pending (
  delivery_id  text PRIMARY KEY,
  endpoint_id  text NOT NULL,
  team_id      text NOT NULL,
  delivery     jsonb NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  leased       boolean NOT NULL DEFAULT false,
  due_at       timestamptz NOT NULL,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_pending_due ON webhook_pending (due_at);
CREATE INDEX webhook_pending_endpoint ON webhook_pending (endpoint_id);

-- Every HTTP attempt, for GET /v1/webhooks/:id/attempts (also produced to Kafka).
CREATE TABLE webhook_attempts (
  attempt_id        text PRIMARY KEY,
  delivery_id       text NOT NULL,
  endpoint_id       text NOT NULL,
  team_id           text NOT NULL,
  event_id          text,
  attempt           integer NOT NULL,
  outcome           text NOT NULL,
  http_status       integer,
  latency_ms        integer NOT NULL,
  error             text,
  response_snippet  text,
  attempted_at      timestamptz NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, attempted_at DESC);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);

-- Dead deliveries (last attempt failed), kept for replay.
CREATE TABLE webhook_dead (
  delivery_id  text PRIMARY KEY,
  endpoint_id  text NOT NULL,
  team_id      text NOT NULL,
  delivery     jsonb NOT NULL,
  attempts     integer NOT NULL,
  last_error   text,
  failed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_dead_endpoint ON webhook_dead (endpoint_id, failed_at DESC);

-- Down Migration
DROP TABLE webhook_dead;
DROP TABLE webhook_attempts;
DROP TABLE webhook_pending;
DROP TABLE webhook_endpoints;
