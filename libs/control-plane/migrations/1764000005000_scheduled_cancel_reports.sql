-- Up Migration

-- Cancelled scheduled actions reach the event history: the matcher's scheduler produces
-- one `cancelled` record per cancelled action to relay.webhooks.attempts, then stamps
-- cancel_reported_at in the same transaction (FOR UPDATE SKIP LOCKED, like the release),
-- so each cancellation is reported once whoever cancelled it (the pausing transaction's
-- trigger, or the scheduler finding the scenario inactive at release time). Rows cancelled
-- before this migration are reported too, on the first polls.
ALTER TABLE scheduled_actions ADD COLUMN cancel_reported_at timestamptz;

-- The scheduler's poll for cancellations still to report: small, and empty most of the time.
CREATE INDEX scheduled_actions_cancel_unreported ON scheduled_actions (finished_at)
  WHERE status = 'cancelled' AND cancel_reported_at IS NULL;

-- Down Migration
DROP INDEX scheduled_actions_cancel_unreported;
ALTER TABLE scheduled_actions DROP COLUMN cancel_reported_at;
