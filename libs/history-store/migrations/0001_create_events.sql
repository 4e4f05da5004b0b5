-- One row per event with its latest status (see docs/history.md).
--
-- ReplacingMergeTree(status_rank): every stage (gateway, validator, matcher, dispatcher)
-- appends a row for the status it reached, and Kafka redelivers batches after a crash.
-- Both produce several rows with the same sorting key; merges keep the one with the
-- highest status_rank, and reads use FINAL so a row appears exactly once even before the
-- merge happened. Appending is cheap and needs no read-before-write, unlike UPDATEs
-- (mutations rewrite whole parts) or a CollapsingMergeTree (the writer would have to know
-- the previous state to cancel it). AggregatingMergeTree/argMax would also work but
-- return every column through an aggregate state; FINAL keeps plain rows.
--
-- The sorting key must be identical for all versions of one event: received_at comes
-- from the envelope and never changes. The partition (month of received_at) therefore
-- holds every version too, which lets FINAL and TTL work per partition.
--
-- TTL drops whole monthly parts once all their rows are older than the retention
-- (ttl_only_drop_parts): history is kept at least retention days and at most about a
-- month longer, and expiry never rewrites parts. The runner fills retention_days from
-- config and re-applies it with ALTER ... MODIFY TTL when the config changes later.
CREATE TABLE IF NOT EXISTS {{database}}.events
(
    event_id       String,
    team_id        LowCardinality(String),
    environment    LowCardinality(String),
    code_name      LowCardinality(String),
    dialect        LowCardinality(String),
    status         LowCardinality(String),
    status_rank    UInt8,
    reason_code    LowCardinality(String),
    errors         Array(String),
    schema_version Nullable(UInt32),
    contact_id     Nullable(String),
    contact_email  Nullable(String),
    contact_phone  Nullable(String),
    visitor_id     Nullable(String),
    payload        String CODEC(ZSTD(3)),
    received_at    DateTime64(3, 'UTC'),
    recorded_at    DateTime64(3, 'UTC'),
    -- event_id and contact are the same in every version of an event, so skipping
    -- granules on them is safe with FINAL too.
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_contact_id contact_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_contact_email contact_email TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(status_rank)
PARTITION BY toYYYYMM(received_at)
ORDER BY (team_id, code_name, received_at, event_id)
TTL toDateTime(received_at) + toIntervalDay({{retention_days}})
SETTINGS ttl_only_drop_parts = 1;
