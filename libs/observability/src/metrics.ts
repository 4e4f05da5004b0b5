import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per service process with the metric names every stage shares. Labels are
 * bounded: stage, topic, reason code, dialect, status class, route template — never an
 * event id, contact or team.
 */
export class RelayMetrics {
  readonly registry = new Registry();

  readonly consumed: Counter<'stage' | 'topic'>;
  readonly produced: Counter<'stage' | 'topic'>;
  readonly rejected: Counter<'stage' | 'reason'>;
  readonly deadLettered: Counter<'stage' | 'reason'>;
  readonly handlerFailures: Counter<'stage'>;
  readonly batchSeconds: Histogram<'stage'>;
  readonly batchSize: Histogram<'stage'>;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly deferredMessages: Gauge<'group'>;
  readonly ingested: Counter<'dialect' | 'outcome'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status_class'>;
  readonly httpSeconds: Histogram<'method' | 'route'>;
  readonly matcherEvents: Counter<'outcome'>;
  readonly scenarioVerdicts: Counter<'outcome'>;
  readonly schedulerActions: Counter<'result'>;
  readonly schedulerLateness: Histogram;
  readonly webhookAttempts: Counter<'outcome' | 'status_class'>;
  readonly webhookAttemptSeconds: Histogram<'outcome'>;
  readonly webhookDispatchSeconds: Histogram<'kind'>;
  readonly webhookHeld: Gauge;
  readonly webhookUnsent: Counter<'reason'>;
  readonly rateLimited: Counter<'scope' | 'route'>;
  readonly rateLimitCheckSeconds: Histogram;
  readonly endToEndSeconds: Histogram<'kind'>;
  readonly deliveries: Counter<'kind' | 'result'>;
  readonly schedulerBacklog: Gauge<'state'>;
  readonly historyRows: Counter<'table'>;
  readonly historyWriteSeconds: Histogram<'table'>;
  #schedulerBacklogProbe: (() => Promise<{ pending: number; due: number }>) | null = null;

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'relay_process_' });
    const registers = [this.registry];
    this.consumed = new Counter({
      name: 'relay_messages_consumed_total',
      help: 'Messages consumed from Kafka, by stage and topic.',
      labelNames: ['stage', 'topic'],
      registers,
    });
    this.produced = new Counter({
      name: 'relay_messages_produced_total',
      help: 'Messages durably produced to Kafka (acks=all), by stage and topic.',
      labelNames: ['stage', 'topic'],
      registers,
    });
    this.rejected = new Counter({
      name: 'relay_events_rejected_total',
      help: 'Events rejected, by stage and stable reason code.',
      labelNames: ['stage', 'reason'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'relay_dlq_messages_total',
      help: 'Messages sent to the dead-letter topic, by stage and reason code.',
      labelNames: ['stage', 'reason'],
      registers,
    });
    this.handlerFailures = new Counter({
      name: 'relay_stage_handler_failures_total',
      help: 'Failed calls of a stage handler (each retry counts): a store outage or a poison record being isolated.',
      labelNames: ['stage'],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'relay_stage_batch_duration_seconds',
      help: 'Time to process one consumed batch, output durably written, offsets included.',
      labelNames: ['stage'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'relay_stage_batch_size',
      help: 'Messages per processed batch.',
      labelNames: ['stage'],
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 5000],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'relay_consumer_lag',
      help: 'Messages between the high watermark and the last processed offset, per partition.',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    });
    this.deferredMessages = new Gauge({
      name: 'relay_consumer_deferred_messages',
      help: 'Messages handed on whose effects are not durable yet (history: rows waiting for their insert); their offsets are committed once they are.',
      labelNames: ['group'],
      registers,
    });
    this.ingested = new Counter({
      name: 'relay_events_ingested_total',
      help: 'Events received by the gateway, by dialect and outcome (accepted, invalid, unknown_event_type, unauthorized).',
      labelNames: ['dialect', 'outcome'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'relay_http_requests_total',
      help: 'HTTP requests served, by method, route template and status class.',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'relay_http_request_duration_seconds',
      help: 'HTTP request latency by method and route template.',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'relay_rate_limited_total',
      help: 'Requests refused with 429, by the limit that refused them (key or team) and route template.',
      labelNames: ['scope', 'route'],
      registers,
    });
    this.rateLimitCheckSeconds = new Histogram({
      name: 'relay_rate_limit_check_duration_seconds',
      help: 'Time spent deciding a rate limit on the request path (budget: p99 under 1 ms).',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    this.webhookAttempts = new Counter({
      name: 'relay_webhook_attempts_total',
      help: 'Outbound webhook attempts, by outcome (succeeded, retrying, dead) and HTTP status class (2xx… or none).',
      labelNames: ['outcome', 'status_class'],
      registers,
    });
    this.webhookAttemptSeconds = new Histogram({
      name: 'relay_webhook_attempt_duration_seconds',
      help: 'Duration of one outbound webhook HTTP attempt, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.webhookDispatchSeconds = new Histogram({
      name: 'relay_webhook_dispatch_latency_seconds',
      help: 'From delivery creation to its successful attempt, by delivery kind.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600],
      registers,
    });
    this.webhookHeld = new Gauge({
      name: 'relay_webhook_deliveries_in_memory',
      help: 'Deliveries held in memory by this dispatcher (queued or in flight); the rest wait in PostgreSQL.',
      registers,
    });
    this.webhookUnsent = new Counter({
      name: 'relay_webhook_unsent_total',
      help: 'Webhook deliveries failed without an HTTP request, by reason (ENDPOINT_NOT_FOUND, ENDPOINT_DISABLED, ENDPOINT_GONE, TEAM_MISMATCH, ENVIRONMENT_MISMATCH).',
      labelNames: ['reason'],
      registers,
    });
    this.matcherEvents = new Counter({
      name: 'relay_matcher_events_total',
      help: 'Events matched, by outcome (matched, scheduled, no_target, unmatched).',
      labelNames: ['outcome'],
      registers,
    });
    this.scenarioVerdicts = new Counter({
      name: 'relay_scenario_verdicts_total',
      help: 'Subscribed scenarios judged for an event, by verdict (matched, scheduled, filtered, cooldown, paused, stopped, no_target, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.schedulerActions = new Counter({
      name: 'relay_scheduler_actions_total',
      help: 'Delayed scenario actions leaving the scheduler, by result (released, cancelled).',
      labelNames: ['result'],
      registers,
    });
    this.endToEndSeconds = new Histogram({
      name: 'relay_end_to_end_latency_seconds',
      help: 'From the event being received by Relay to its webhook delivery succeeding, by delivery kind.',
      labelNames: ['kind'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400],
      registers,
    });
    this.deliveries = new Counter({
      name: 'relay_webhook_deliveries_total',
      help: 'Webhook deliveries that reached a final state, by kind and result (succeeded, dead).',
      labelNames: ['kind', 'result'],
      registers,
    });
    // Read from PostgreSQL when Prometheus scrapes (one indexed count), not on a timer:
    // the value is only needed then, and a matcher without a probe exports nothing.
    const probe = (): (() => Promise<{ pending: number; due: number }>) | null => this.#schedulerBacklogProbe;
    this.schedulerBacklog = new Gauge({
      name: 'relay_scheduler_backlog',
      help: 'Delayed scenario actions waiting in the scheduler, by state (pending: all waiting, due: due time passed, not yet released).',
      labelNames: ['state'],
      registers,
      async collect() {
        const read = probe();
        if (!read) return;
        try {
          const { pending, due } = await read();
          this.set({ state: 'pending' }, pending);
          this.set({ state: 'due' }, due);
        } catch {
          // A scrape must not fail because PostgreSQL is briefly away; readiness reports that.
        }
      },
    });
    this.historyRows = new Counter({
      name: 'relay_history_rows_written_total',
      help: 'Rows committed to the history store (ClickHouse), by table.',
      labelNames: ['table'],
      registers,
    });
    this.historyWriteSeconds = new Histogram({
      name: 'relay_history_write_duration_seconds',
      help: 'Duration of one batched insert into the history store, by table.',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.schedulerLateness = new Histogram({
      name: 'relay_scheduler_lateness_seconds',
      help: "Time from a delayed action's due time to its durable production (budget: under 1 s).",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 30],
      registers,
    });
  }

  /** The matcher registers how to count its scheduler backlog (read at scrape time). */
  setSchedulerBacklogProbe(probe: () => Promise<{ pending: number; due: number }>): void {
    this.#schedulerBacklogProbe = probe;
  }
}
