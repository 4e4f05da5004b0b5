import type { ContractRegistry, WebhookAttempt } from '@relay/contracts';
import { produceRecords, type DurableProducer } from '@relay/kafka';
import type { Logger } from '@relay/observability';
import type { CancelledAction, DueAction, ScheduleStore } from '@relay/scenarios';

export interface SchedulerOptions {
  store: ScheduleStore;
  registry: ContractRegistry;
  producer: DurableProducer;
  logger: Logger;
  pollMs: number;
  batch: number;
  /** Seconds between due time and production, per released action (metrics). */
  observeLateness?: (seconds: number) => void;
  /** Released actions, and those cancelled at release because their scenario was no longer active. */
  onReleased?: (count: number, cancelled: number) => void;
  /** Cancellations reported to history (every cancelled action once, whoever cancelled it). */
  onCancelReported?: (count: number) => void;
}

/**
 * A cancelled action as a webhook attempt record, so history shows the delivery as
 * `cancelled`: attempt 0 (no HTTP request was made), the reason as its error. The id
 * and time are derived from the row, so a report produced again after a crash repeats
 * the same record, which history keeps once.
 */
export function cancellationRecord(c: CancelledAction): WebhookAttempt {
  const d = c.delivery;
  return {
    attempt_id: `${d.delivery_id}.cancelled`,
    delivery_id: d.delivery_id,
    team_id: d.team_id,
    endpoint_id: d.endpoint_id,
    event_id: d.event_id,
    attempt: 0,
    outcome: 'cancelled',
    http_status: null,
    latency_ms: 0,
    error: c.reason,
    response_snippet: null,
    attempted_at: c.cancelled_at,
    kind: d.kind,
    environment: d.environment,
    code_name: d.code_name,
    scenario_id: d.scenario_id,
    occurred_at: d.occurred_at,
    delivery_created_at: d.created_at,
  };
}

/**
 * The durable scheduler: delayed scenario actions live in PostgreSQL (scheduled_actions)
 * and every matcher instance polls for due ones with FOR UPDATE SKIP LOCKED, produces
 * them (acks=all) and marks them released in the same transaction.
 *
 * Why not pg-boss or graphile-worker: both would add their own schema, migrations and
 * worker model for what is here one table and one query; neither indexes jobs by our
 * scenario id, which cancelling on pause needs (here a trigger does it in the pausing
 * transaction); and their minimum polling intervals (pg-boss: 0.5 s) eat most of the
 * 1 s release budget. The guarantees are the same: rows survive crashes, SKIP LOCKED
 * gives each due row to one instance, and a crash before COMMIT leaves the row pending,
 * so it is produced again with the same delivery_id (effectively once downstream).
 *
 * Each poll also reports cancelled actions (paused, stopped or deleted scenarios) to the
 * webhook-attempts topic, the same way, so the event history and the trigger status it
 * feeds count them as cancelled.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: unknown) => {
          this.options.logger.warn({ err: error }, 'scheduler poll failed; retrying');
          return this.options.pollMs * 5;
        })
        .then((next) => this.schedule(next));
    }, delay);
  }

  /** One poll; returns how long to wait before the next. */
  private async tick(): Promise<number> {
    const { store, batch, pollMs } = this.options;
    const { released, cancelled } = await store.release(batch, (due) => this.produce(due));
    if (released.length || cancelled) this.options.onReleased?.(released.length, cancelled);
    const reported = await store.reportCancelled(batch, (rows) => this.reportCancelled(rows));
    if (reported) this.options.onCancelReported?.(reported);
    // A full batch means more are due (or cancelled, unreported): go again at once.
    if (released.length + cancelled >= batch || reported >= batch) return 0;
    const next = await store.nextDueInMs();
    return next === null ? pollMs : Math.min(pollMs, next);
  }

  private async produce(due: DueAction[]): Promise<void> {
    const { registry, producer } = this.options;
    await produceRecords(
      registry,
      producer,
      due.map((d) => ({ topic: 'deliveries' as const, key: d.delivery.endpoint_id, value: d.delivery })),
    );
    const now = Date.now();
    for (const d of due) this.options.observeLateness?.(Math.max(0, now - d.due_at) / 1000);
  }

  private async reportCancelled(cancelled: CancelledAction[]): Promise<void> {
    const { registry, producer } = this.options;
    await produceRecords(
      registry,
      producer,
      cancelled.map((c) => ({ topic: 'attempts' as const, key: c.delivery.endpoint_id, value: cancellationRecord(c) })),
    );
  }
}
