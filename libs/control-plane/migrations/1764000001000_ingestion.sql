-- Up Migration
-- Idempotency-Key (header, or envelope field for Kafka producers): the first event id
-- seen for (team, key) within 24 hours wins; later requests get that id back.
CREATE TABLE idempotency_keys (
  team_id     text NOT NULL,
  key         text NOT NULL,
  event_id    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (team_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Simon-style identify calls: an anonymous client id linked to a contact's email for 7 days.
CREATE TABLE client_identity_links (
  team_id     text NOT NULL,
  client_id   text NOT NULL,
  email       text NOT NULL,
  user_id     text,
  linked_at   timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (team_id, client_id)
);

-- Down Migration
DROP TABLE client_identity_links;
DROP TABLE idempotency_keys;
