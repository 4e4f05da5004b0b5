-- Up Migration

-- Rate limits: a team's plan limit and an optional per-key limit, as "requests per
-- window" (window in whole seconds). NULL means "no limit at this level".
ALTER TABLE teams
  ADD COLUMN plan text,
  ADD COLUMN rate_limit_requests integer,
  ADD COLUMN rate_limit_per_s integer,
  ADD CONSTRAINT teams_rate_limit CHECK (
    (rate_limit_requests IS NULL AND rate_limit_per_s IS NULL)
    OR (rate_limit_requests > 0 AND rate_limit_per_s > 0)
  );

ALTER TABLE api_keys
  ADD COLUMN rate_limit_requests integer,
  ADD COLUMN rate_limit_per_s integer,
  ADD COLUMN status_changed_at timestamptz,
  ADD COLUMN rotated_from text REFERENCES api_keys(id) ON DELETE SET NULL,
  ADD CONSTRAINT api_keys_rate_limit CHECK (
    (rate_limit_requests IS NULL AND rate_limit_per_s IS NULL)
    OR (rate_limit_requests > 0 AND rate_limit_per_s > 0)
  );

-- Fixed-window counters of rate-limiter-flexible's PostgreSQL store (its own column
-- layout). UNLOGGED: counters are worthless after a crash (windows are seconds to an
-- hour long), so they skip the WAL, which makes the per-request upsert cheaper.
CREATE UNLOGGED TABLE rate_limits (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);

-- Who changed what, when, per team. `details` never holds a secret (the writer redacts).
CREATE TABLE audit_log (
  id           text PRIMARY KEY,
  team_id      text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  actor        text NOT NULL,
  actor_type   text NOT NULL CHECK (actor_type IN ('admin', 'api_key', 'system')),
  action       text NOT NULL,
  target_type  text NOT NULL,
  target_id    text,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
-- ids are UUIDv7 (time-ordered): newest-first pages per team are one index range scan.
CREATE INDEX audit_log_team ON audit_log (team_id, id DESC);

-- Every gateway instance caches verified keys; a change of status, expiry or limits is
-- announced so each instance drops its cached entry at once (LISTEN relay_api_keys).
-- A trigger, not the application, so that any writer (admin API, CLI, SQL) notifies.
CREATE FUNCTION relay_notify_api_key_change() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'teams' THEN
    PERFORM pg_notify('relay_api_keys', 'team:' || COALESCE(NEW.id, OLD.id));
  ELSE
    PERFORM pg_notify('relay_api_keys', 'key:' || COALESCE(NEW.id, OLD.id));
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_notify
  AFTER UPDATE OF status, expires_at, rate_limit_requests, rate_limit_per_s OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION relay_notify_api_key_change();

CREATE TRIGGER teams_notify
  AFTER UPDATE OF rate_limit_requests, rate_limit_per_s OR DELETE ON teams
  FOR EACH ROW EXECUTE FUNCTION relay_notify_api_key_change();

-- Down Migration
DROP TRIGGER teams_notify ON teams;
DROP TRIGGER api_keys_notify ON api_keys;
DROP FUNCTION relay_notify_api_key_change();
DROP TABLE audit_log;
DROP TABLE rate_limits;
ALTER TABLE api_keys
  DROP CONSTRAINT api_keys_rate_limit,
  DROP COLUMN rotated_from,
  DROP COLUMN status_changed_at,
  DROP COLUMN rate_limit_per_s,
  DROP COLUMN rate_limit_requests;
ALTER TABLE teams
  DROP CONSTRAINT teams_rate_limit,
  DROP COLUMN rate_limit_per_s,
  DROP COLUMN rate_limit_requests,
  DROP COLUMN plan;
