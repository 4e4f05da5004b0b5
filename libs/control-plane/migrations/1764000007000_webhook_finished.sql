-- Up Migration

-- Tombstones of deliveries that reached a final state (succeeded, dead, failed). A
-- delivery's pending row is deleted when it finishes, so without them a duplicate
-- delivery record arriving later (a producer retry, a topic replay, offsets reset) was
-- inserted again and sent a second time. The dispatcher skips ids found here, and prunes
-- rows older than RELAY_WEBHOOK_DEDUPE_WINDOW_MS (default: the deliveries topic retention).
CREATE TABLE webhook_finished (
  delivery_id  text PRIMARY KEY,
  outcome      text NOT NULL,
  finished_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_finished_at ON webhook_finished (finished_at);

-- Down Migration
DROP TABLE webhook_finished;
