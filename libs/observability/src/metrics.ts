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
  readonly batchSeconds: Histogram<'stage'>;
  readonly batchSize: Histogram<'stage'>;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly ingested: Counter<'dialect' | 'outcome'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status_class'>;
  readonly httpSeconds: Histogram<'method' | 'route'>;

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
  }
}
