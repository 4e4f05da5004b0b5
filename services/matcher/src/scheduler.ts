import type { ContractRegistry } from '@relay/contracts';
import type { DurableProducer } from '@relay/kafka';
import type { Logger } from '@relay/observability';
import type { DueAction, ScheduleStore } from '@relay/scenarios';

export interface SchedulerOptions {
  store: ScheduleStore;
  registry: ContractRegistry;
  producer: DurableProducer;
  logger: Logger;
  pollMs: number;
  batch: number;
  /** Seconds between due time and production, per released action (metrics). */
  observeLateness?: (seconds: number) => void;
  onReleased?: (count: number, cancelled: number) => void;
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
    // A full batch means more are due: go again at once.
    if (released.length + cancelled >= batch) return 0;
    const next = await store.nextDueInMs();
    return next === null ? pollMs : Math.min(pollMs, next);
  }

  private async produce(due: DueAction[]): Promise<void> {
    const { registry, producer } = this.options;
    const messages = await Promise.all(
      due.map(async (d) => ({ key: d.delivery.endpoint_id, value: await registry.encode('deliveries', d.delivery) })),
    );
    await producer.sendBatch([{ topic: registry.topic('deliveries'), messages }]);
    const now = Date.now();
    for (const d of due) this.options.observeLateness?.(Math.max(0, now - d.due_at) / 1000);
  }
}
