-- Up Migration

-- Per-endpoint rate limit ({"requests": n, "per": ISO 8601 duration}); both null = none.
-- Enforced in the dispatcher's memory (see libs/webhooks/src/rate-limit.ts).
ALTER TABLE webhook_endpoints
  ADD COLUMN rate_limit_requests integer CHECK (rate_limit_requests BETWEEN 1 AND 100000),
  ADD COLUMN rate_limit_per text,
  ADD CONSTRAINT webhook_endpoints_rate_limit_both CHECK ((rate_limit_requests IS NULL) = (rate_limit_per IS NULL));

-- Claim fairness: the poller takes a capped number of due rows per endpoint (window
-- function partitioned by endpoint, ordered by due time); this index serves it.
CREATE INDEX webhook_pending_endpoint_due ON webhook_pending (endpoint_id, due_at);
DROP INDEX webhook_pending_endpoint;

-- Down Migration
CREATE INDEX webhook_pending_endpoint ON webhook_pending (endpoint_id);
DROP INDEX webhook_pending_endpoint_due;
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_rate_limit_both, DROP COLUMN rate_limit_per, DROP COLUMN rate_limit_requests;
