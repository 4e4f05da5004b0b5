import { LRUCache } from 'lru-cache';
import { HistoryValidationError, type EventHistoryInput, type HistoryWriter } from '@relay/history-store';
import { dlq, ok, type MessageOutcome } from '@relay/kafka';

export interface OutcomeWaitOptions {
  /** How long a validated event waits for the matcher's outcome before its own row is written. */
  waitMs: number;
  /** Events whose later status is durable, remembered so a late `validated` copy writes nothing. */
  rememberMax: number;
}

/** A validated row waiting for its event's outcome; shared by copies of the event in flight. */
interface Held {
  readonly key: string;
  readonly row: EventHistoryInput;
  readonly settled: Promise<MessageOutcome>;
  settle(outcome: MessageOutcome | Error): void;
}

const keyOf = (row: { team_id: string; event_id: string }) => `${row.team_id}\u0000${row.event_id}`;

/**
 * One history row per event in the common case: a `validated` row is only written if the
 * matcher's outcome for the event (a higher status, the full row again) is not durable
 * within `waitMs`; otherwise the outcome's row is the event's only row.
 *
 * The invariants of docs/reliability.md hold because the validated handler resolves (and its
 * offsets are committed) only when each of its events has a durable row with this status or
 * a later one: the outcome's row ({@link settle}, called after the outcome's flush), or, when
 * the wait is over, its own (written and flushed here). An event the matcher never decides
 * (matcher down or slow, dead-lettered by the matcher, a copy redelivered after a restart)
 * therefore still ends in history as `validated`, `waitMs` later. A flush failure rejects
 * the handler: the chunk is redelivered, as before.
 *
 * Requires the validated topic to be consumed by its own Kafka consumer: kafkajs fetches a
 * broker's next batches only once every batch of the current fetch is handled, so a
 * validated batch waiting here would otherwise keep the outcomes it waits for from arriving.
 */
export class OutcomeWait {
  readonly #held = new Map<string, Held>();
  // The most recently settled events; the least recent are forgotten first. An LRU rather
  // than an insertion-ordered Set trimmed from its front: V8 leaves a deleted Set entry as a
  // hole until the table is rebuilt, so `values().next()` after many front deletions walks
  // them all — 14 % of history's CPU at 400-message batches (docs/benchmarks.md).
  readonly #settled: LRUCache<string, true>;

  constructor(
    private readonly writer: HistoryWriter,
    private readonly options: OutcomeWaitOptions,
  ) {
    this.#settled = new LRUCache<string, true>({ max: options.rememberMax });
  }

  /** Validated rows waiting for an outcome (bounded by the validated consumer's messages in flight). */
  get waiting(): number {
    return this.#held.size;
  }

  /** One outcome per row, once each row's event has a durable row with this status or a later one. */
  async hold(rows: readonly EventHistoryInput[]): Promise<MessageOutcome[]> {
    const mine = rows.map((row) => {
      const key = keyOf(row);
      if (this.#settled.has(key)) return null;
      let held = this.#held.get(key);
      if (!held) {
        held = holdRow(key, row);
        this.#held.set(key, held);
      }
      return held;
    });
    const waiting = mine.filter((h): h is Held => h !== null);
    if (waiting.length === 0) return rows.map(() => ok());
    const timer = setTimeout(() => this.#release(waiting), this.options.waitMs);
    try {
      return await Promise.all(mine.map((h) => h?.settled ?? Promise.resolve(ok())));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Called once rows of a later status are durable (the outcome's flush resolved): the
   * validated rows of those events are not needed and their handlers may commit.
   */
  settle(rows: readonly { team_id: string; event_id: string }[]): void {
    for (const row of rows) {
      const key = keyOf(row);
      this.#settled.set(key, true);
      const held = this.#held.get(key);
      if (held) {
        this.#held.delete(key);
        held.settle(ok());
      }
    }
  }

  // The wait is over: write the rows no outcome superseded, each validated on its own (a
  // row the store refuses is dead-lettered alone, the others still land).
  #release(candidates: readonly Held[]): void {
    const due: Held[] = [];
    for (const held of candidates) {
      if (this.#held.get(held.key) !== held) continue; // settled, or released by another copy
      this.#held.delete(held.key);
      try {
        this.writer.add(held.row);
        due.push(held);
      } catch (error) {
        if (error instanceof HistoryValidationError) held.settle(dlq(error.code, error.message));
        else held.settle(error as Error);
      }
    }
    if (due.length === 0) return;
    this.writer.flush().then(
      () => due.forEach((h) => h.settle(ok())),
      (error: unknown) => due.forEach((h) => h.settle(error instanceof Error ? error : new Error(String(error)))),
    );
  }
}

function holdRow(key: string, row: EventHistoryInput): Held {
  let settle!: (outcome: MessageOutcome | Error) => void;
  const settled = new Promise<MessageOutcome>((resolve, reject) => {
    settle = (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
  });
  // A copy's handler may be gone (its chunk failed elsewhere) when this settles.
  settled.catch(() => undefined);
  return { key, row, settled, settle };
}
