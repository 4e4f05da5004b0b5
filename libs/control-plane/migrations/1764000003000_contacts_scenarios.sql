-- Up Migration

-- Contacts (seed 000 targets, seed 003 user_info). The id is the team's own identifier
-- (PUT /v1/contacts/:id) or a generated UUIDv7 (POST without id). Every identifier is
-- unique per team so that resolution is never ambiguous; see docs/scenarios.md.
CREATE TABLE contacts (
  team_id      text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  id           text NOT NULL,
  external_id  text,
  email        text,
  phone        text,
  name         text,
  tags         text[] NOT NULL DEFAULT '{}',
  custom_data  jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, id)
);
CREATE UNIQUE INDEX contacts_team_external_id ON contacts (team_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_team_email ON contacts (team_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX contacts_team_phone ON contacts (team_id, phone) WHERE phone IS NOT NULL;

-- Scenarios subscribe by code_name (not by event type id): they may be declared before
-- the event type exists (seed 000, "steps 1 and 2 are independent").
CREATE TABLE scenarios (
  id           text PRIMARY KEY,
  team_id      text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name         text NOT NULL,
  code_names   text[] NOT NULL,
  status       text NOT NULL CHECK (status IN ('active', 'paused', 'stopped')),
  tags         jsonb NOT NULL DEFAULT '{}'::jsonb,
  filter       jsonb,
  cooldown     text,
  cooldown_ms  bigint,
  actions      jsonb NOT NULL,
  variables    jsonb NOT NULL DEFAULT '{}'::jsonb,
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);
CREATE INDEX scenarios_team_live ON scenarios (team_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX scenarios_code_names ON scenarios USING gin (code_names) WHERE deleted_at IS NULL;

-- One row per (scenario, contact) that ever fired with a cooldown. The matcher claims a
-- firing with one INSERT ... ON CONFLICT DO UPDATE ... WHERE last_fired_at is old enough:
-- PostgreSQL serialises concurrent claims on the row, across matcher instances too.
-- last_event_id makes the claim idempotent when a batch is re-processed after a crash.
CREATE TABLE scenario_cooldowns (
  scenario_id    text NOT NULL REFERENCES scenarios(id) ON DELETE CASCADE,
  contact_id     text NOT NULL,
  last_fired_at  timestamptz NOT NULL,
  last_event_id  text NOT NULL,
  PRIMARY KEY (scenario_id, contact_id)
);

-- Delayed actions. The id is the delivery_id the action will carry, so re-processing an
-- event inserts nothing new (ON CONFLICT DO NOTHING) and a release produced twice after a
-- crash carries the same id (receivers and the dispatcher deduplicate on it).
CREATE TABLE scheduled_actions (
  id             text PRIMARY KEY,
  team_id        text NOT NULL,
  scenario_id    text NOT NULL,
  event_id       text NOT NULL,
  action_index   integer NOT NULL,
  due_at         timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'released', 'cancelled')),
  delivery       jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  cancel_reason  text
);
CREATE INDEX scheduled_actions_due ON scheduled_actions (due_at) WHERE status = 'pending';
CREATE INDEX scheduled_actions_scenario ON scheduled_actions (scenario_id) WHERE status = 'pending';
CREATE INDEX scheduled_actions_event ON scheduled_actions (event_id);

-- Trigger tracking (seed 003): one row per matched event, written by the matcher in the
-- same transaction as its cooldown claims and scheduled actions. The trigger id is the
-- event_id. Counts of scheduled actions are read from scheduled_actions, never copied.
CREATE TABLE triggers (
  id              text PRIMARY KEY,
  team_id         text NOT NULL,
  code_name       text NOT NULL,
  outcome         text NOT NULL,
  contact_id      text,
  total_contacts  integer NOT NULL,
  sent            integer NOT NULL,
  failed          integer NOT NULL,
  filtered        integer NOT NULL,
  scheduled       integer NOT NULL,
  details         jsonb NOT NULL,
  received_at     timestamptz NOT NULL,
  started_at      timestamptz NOT NULL,
  completed_at    timestamptz NOT NULL
);

-- Pausing, stopping or deleting a scenario cancels its pending actions in the same
-- transaction, whoever makes the change (gateway, the event-type trigger below, psql).
CREATE FUNCTION relay_scenario_changed() RETURNS trigger AS $$
BEGIN
  IF NEW.status <> 'active' OR NEW.deleted_at IS NOT NULL THEN
    UPDATE scheduled_actions
       SET status = 'cancelled', finished_at = now(),
           cancel_reason = CASE WHEN NEW.deleted_at IS NOT NULL THEN 'deleted' ELSE NEW.status END
     WHERE scenario_id = NEW.id AND status = 'pending';
  END IF;
  -- Matchers LISTEN on this channel and drop their cached scenarios of the team.
  PERFORM pg_notify('relay_scenarios', NEW.team_id);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER scenarios_changed AFTER INSERT OR UPDATE ON scenarios
  FOR EACH ROW EXECUTE FUNCTION relay_scenario_changed();

-- Seed 000: deleting an event type "stops subscribed scenarios".
CREATE FUNCTION relay_event_type_deleted() RETURNS trigger AS $$
BEGIN
  UPDATE scenarios SET status = 'stopped', updated_at = now(), version = version + 1
   WHERE team_id = NEW.team_id AND NEW.code_name = ANY (code_names)
     AND deleted_at IS NULL AND status <> 'stopped';
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER event_types_deleted AFTER UPDATE OF deleted_at ON event_types
  FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
  EXECUTE FUNCTION relay_event_type_deleted();

-- Down Migration
DROP TRIGGER event_types_deleted ON event_types;
DROP FUNCTION relay_event_type_deleted();
DROP TRIGGER scenarios_changed ON scenarios;
DROP FUNCTION relay_scenario_changed();
DROP TABLE triggers;
DROP TABLE scheduled_actions;
DROP TABLE scenario_cooldowns;
DROP TABLE scenarios;
DROP TABLE contacts;
