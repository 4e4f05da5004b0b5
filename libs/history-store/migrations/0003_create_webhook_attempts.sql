-- One row per outbound webhook HTTP attempt (the dispatcher's WebhookAttempt records):
-- per-endpoint success rates and latency percentiles, and the deliveries an event caused.
--
-- attempt_id is generated once per attempt and travels with the record, so a redelivered
-- Kafka batch repeats the same sorting key and ReplacingMergeTree keeps one row (reads
-- use FINAL).
--
-- Sorting key (team_id, endpoint_id, attempted_at): endpoint health and latency queries
-- read one endpoint's time range. Bloom filters on event_id and delivery_id serve the
-- "deliveries of these events" lookup of the history API. status_class is stored (not
-- computed at read time) so GROUP BY status_class reads one small column.
CREATE TABLE IF NOT EXISTS {{database}}.webhook_attempts
(
    attempt_id          String,
    delivery_id         String,
    team_id             LowCardinality(String),
    environment         LowCardinality(String),
    endpoint_id         String,
    event_id            Nullable(String),
    kind                LowCardinality(String),
    code_name           LowCardinality(Nullable(String)),
    scenario_id         Nullable(String),
    attempt             UInt16,
    outcome             LowCardinality(String),
    http_status         Nullable(UInt16),
    status_class        LowCardinality(String),
    latency_ms          UInt32,
    error               Nullable(String),
    response_snippet    Nullable(String) CODEC(ZSTD(3)),
    occurred_at         Nullable(DateTime64(3, 'UTC')),
    delivery_created_at Nullable(DateTime64(3, 'UTC')),
    attempted_at        DateTime64(3, 'UTC'),
    recorded_at         DateTime64(3, 'UTC'),
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_delivery_id delivery_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(recorded_at)
PARTITION BY toYYYYMM(attempted_at)
ORDER BY (team_id, endpoint_id, attempted_at, attempt_id)
TTL toDateTime(attempted_at) + toIntervalDay({{retention_days}})
SETTINGS ttl_only_drop_parts = 1;
