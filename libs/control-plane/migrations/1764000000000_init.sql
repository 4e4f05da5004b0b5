-- Up Migration
CREATE TABLE teams (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored as SHA-256 digests: keys are 32 random bytes, so a fast digest is
-- enough (no dictionary to attack) and lookup by digest stays one index probe.
CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  team_id       text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  prefix        text NOT NULL,
  key_hash      bytea NOT NULL UNIQUE,
  environment   text NOT NULL CHECK (environment IN ('production', 'staging')),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated', 'revoked')),
  name          text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  expires_at    timestamptz
);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE event_types (
  id           text PRIMARY KEY,
  team_id      text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  code_name    text NOT NULL,
  name         text NOT NULL,
  description  text,
  target       text NOT NULL CHECK (target IN ('contact', 'visitor', 'both')),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);
-- code_name is unique per team among live event types; a deleted one frees its name.
CREATE UNIQUE INDEX event_types_team_code_live ON event_types (team_id, code_name) WHERE deleted_at IS NULL;

-- Every create/update writes a new immutable version; events record the version they
-- were validated against.
CREATE TABLE event_type_versions (
  event_type_id  text NOT NULL REFERENCES event_types(id) ON DELETE CASCADE,
  version        integer NOT NULL,
  code_name      text NOT NULL,
  name           text NOT NULL,
  description    text,
  target         text NOT NULL,
  properties     jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_type_id, version)
);

-- Down Migration
DROP TABLE event_type_versions;
DROP TABLE event_types;
DROP TABLE api_keys;
DROP TABLE teams;
