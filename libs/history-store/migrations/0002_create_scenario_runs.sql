-- One row per (event, subscribed scenario) the matcher judged: the scenario's verdict
-- (matched, scheduled, filtered, cooldown, paused, stopped, no_target, failed) and the
-- actions it planned. Written from the matcher's EventOutcome records (scenario_runs).
--
-- ReplacingMergeTree(decided_at): a redelivered outcome has the same sorting key and
-- collapses into one row (reads use FINAL); if a batch is re-processed after a crash the
-- latest decision wins. Every column of the key is stable for one run.
--
-- Sorting key starts with (team_id, received_at): history pages ask for the runs of a
-- page of events, which is a narrow received_at range of one team; analytics per
-- scenario scan one team's rows. The bloom filter on event_id serves single-event reads.
CREATE TABLE IF NOT EXISTS {{database}}.scenario_runs
(
    event_id          String,
    team_id           LowCardinality(String),
    environment       LowCardinality(String),
    code_name         LowCardinality(String),
    scenario_id       String,
    scenario_name     String,
    outcome           LowCardinality(String),
    reason            String,
    contact_id        Nullable(String),
    actions_total     UInt16,
    actions_produced  UInt16,
    actions_scheduled UInt16,
    actions_failed    UInt16,
    delivery_ids      Array(String),
    actions           String CODEC(ZSTD(3)),
    received_at       DateTime64(3, 'UTC'),
    decided_at        DateTime64(3, 'UTC'),
    recorded_at       DateTime64(3, 'UTC'),
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(decided_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (team_id, received_at, event_id, scenario_id)
TTL toDateTime(received_at) + toIntervalDay({{retention_days}})
SETTINGS ttl_only_drop_parts = 1;
