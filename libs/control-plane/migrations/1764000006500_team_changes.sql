-- Up Migration

-- Read-your-writes for the control plane (docs/architecture.md, "Consistency of changes").
-- Every change to what the pipeline reads from PostgreSQL — event types, API keys, team
-- limits, scenarios, webhook endpoints — bumps its team's `seq` in the same transaction;
-- every change of a contact made through the API bumps `contact_seq`. A stage that caches
-- team data remembers the sequence its copy was loaded at and, before using it for an
-- event, reads the team's current sequence (one indexed read per batch): a copy older than
-- the sequence is reloaded. A change is committed before its HTTP response, and the read
-- happens after the event was accepted, so every event accepted after the response sees it.
-- Triggers, not the application, so that every writer (API, CLI, psql) counts.
CREATE TABLE team_changes (
  team_id      text PRIMARY KEY,
  seq          bigint NOT NULL DEFAULT 0,
  contact_seq  bigint NOT NULL DEFAULT 0
);

-- The row lock taken here orders a team's changes: a reader that sees seq = n also sees
-- every change numbered n or less (they committed before n could be written).
CREATE FUNCTION relay_bump_team_seq(team text) RETURNS bigint AS $$
  INSERT INTO team_changes (team_id, seq) VALUES (team, 1)
  ON CONFLICT (team_id) DO UPDATE SET seq = team_changes.seq + 1
  RETURNING seq;
$$ LANGUAGE sql;

CREATE FUNCTION relay_bump_contact_seq(team text) RETURNS bigint AS $$
  INSERT INTO team_changes (team_id, contact_seq) VALUES (team, 1)
  ON CONFLICT (team_id) DO UPDATE SET contact_seq = team_changes.contact_seq + 1
  RETURNING contact_seq;
$$ LANGUAGE sql;

CREATE FUNCTION relay_team_changed() RETURNS trigger AS $$
BEGIN
  IF TG_TABLE_NAME = 'teams' THEN
    PERFORM relay_bump_team_seq(COALESCE(NEW.id, OLD.id));
  ELSE
    PERFORM relay_bump_team_seq(COALESCE(NEW.team_id, OLD.team_id));
    -- A row moved to another team changes both.
    IF TG_OP = 'UPDATE' AND NEW.team_id IS DISTINCT FROM OLD.team_id THEN
      PERFORM relay_bump_team_seq(OLD.team_id);
    END IF;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER teams_changed AFTER INSERT OR DELETE OR UPDATE ON teams
  FOR EACH ROW EXECUTE FUNCTION relay_team_changed();
-- last_used_at is bookkeeping written by the gateways, not a change of the key.
CREATE TRIGGER api_keys_changed AFTER INSERT OR DELETE OR UPDATE OF team_id, status, environment, expires_at, rate_limit_requests, rate_limit_per_s ON api_keys
  FOR EACH ROW EXECUTE FUNCTION relay_team_changed();
-- event_type_versions rows are only ever written together with their event_types row.
CREATE TRIGGER event_types_changed AFTER INSERT OR DELETE OR UPDATE ON event_types
  FOR EACH ROW EXECUTE FUNCTION relay_team_changed();
CREATE TRIGGER scenarios_team_changed AFTER INSERT OR DELETE OR UPDATE ON scenarios
  FOR EACH ROW EXECUTE FUNCTION relay_team_changed();
-- last_success_at / last_failure_at are health bookkeeping written by the dispatchers on
-- every attempt; everything else (status, events, secrets, batching…) is configuration.
CREATE TRIGGER webhook_endpoints_changed AFTER INSERT OR DELETE OR UPDATE OF
    team_id, url, description, events, contact_fields, batch_max_events, batch_max_wait_ms, environment, signature,
    success_contract, status, timeout_ms, max_concurrency, secret_enc, previous_secret_enc, previous_secret_expires_at,
    rate_limit_requests, rate_limit_per, disabled_reason
  ON webhook_endpoints
  FOR EACH ROW EXECUTE FUNCTION relay_team_changed();

-- Down Migration
DROP TRIGGER webhook_endpoints_changed ON webhook_endpoints;
DROP TRIGGER scenarios_team_changed ON scenarios;
DROP TRIGGER event_types_changed ON event_types;
DROP TRIGGER api_keys_changed ON api_keys;
DROP TRIGGER teams_changed ON teams;
DROP FUNCTION relay_team_changed();
DROP FUNCTION relay_bump_contact_seq(text);
DROP FUNCTION relay_bump_team_seq(text);
DROP TABLE team_changes;
