-- The contact the matcher resolved each event to (its Relay contact id), next to the
-- reference as sent (contact_id, contact_email, contact_phone): an event sent with an
-- email or an external id is about one known contact, and analysts and trigger tracking
-- want that contact. Null until the matcher decides, and for no_target. The same for every
-- version of an event that has it, so the skip index is safe with FINAL.
ALTER TABLE {{database}}.events ADD COLUMN IF NOT EXISTS resolved_contact_id Nullable(String) AFTER visitor_id;
ALTER TABLE {{database}}.events ADD INDEX IF NOT EXISTS idx_resolved_contact_id resolved_contact_id TYPE bloom_filter(0.01) GRANULARITY 4;
