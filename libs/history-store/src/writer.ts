import { quotedDatabase, type HistoryClient } from './client';
import { toScenarioRunRow, toWebhookAttemptRow, type ScenarioRunInput, type WebhookAttemptInput } from './relations';
import { toInsertRow } from './rows';
import type { EventHistoryInput } from './types';

/** The history tables a writer can fill. */
export type HistoryTable = 'events' | 'scenario_runs' | 'webhook_attempts';

/**
 * Inserts rows in one JSONEachRow INSERT. Resolves once ClickHouse has committed them
 * (a synchronous insert, see {@link INSERT_SETTINGS}). Re-inserting the same rows is
 * harmless: the table keeps one row per event.
 */
export async function insertEvents(client: HistoryClient, rows: readonly EventHistoryInput[]): Promise<void> {
  const now = Date.now();
  await insertPrepared(
    client,
    'events',
    rows.map((r) => toInsertRow(r, now)),
  );
}

export async function insertScenarioRuns(client: HistoryClient, rows: readonly ScenarioRunInput[]): Promise<void> {
  const now = Date.now();
  await insertPrepared(
    client,
    'scenario_runs',
    rows.map((r) => toScenarioRunRow(r, now)),
  );
}

export async function insertWebhookAttempts(client: HistoryClient, rows: readonly WebhookAttemptInput[]): Promise<void> {
  const now = Date.now();
  await insertPrepared(
    client,
    'webhook_attempts',
    rows.map((r) => toWebhookAttemptRow(r, now)),
  );
}

/**
 * On a server, async_insert is forced off per request so a server profile cannot turn
 * the insert into fire-and-forget. The embedded engine gets no setting: it has no
 * asynchronous insert queue (every INSERT has written its part when it returns, whatever
 * async_insert says; writer.spec.ts checks it), and there every `clickhouse_settings`
 * entry becomes a session `SET …;` statement in front of the INSERT: it would stay on the
 * one shared connection, and the engine then reads the whole payload as a multi-statement
 * script (10–15 % of the time of a 10k-row insert, measured).
 */
const INSERT_SETTINGS: Record<HistoryClient['backend'], { async_insert?: 0 }> = {
  server: { async_insert: 0 },
  embedded: {},
};

async function insertPrepared(client: HistoryClient, table: HistoryTable, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  await client.ch.insert({
    table: `${quotedDatabase(client)}.${table}`,
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: INSERT_SETTINGS[client.backend],
  });
}

const RETRY_DELAY_MS = 1000;

export interface HistoryWriterOptions {
  /** A batch is sent as soon as this many rows are buffered. Default 1000. */
  maxRows?: number;
  /** Rows never wait longer than this before their batch is sent. Default 1000. */
  maxWaitMs?: number;
  /** Called when a batch sent in the background (size or time trigger) fails; the rows stay buffered and are retried. */
  onError?: (error: unknown, rows: number) => void;
  /** Called after each successful batch, e.g. for metrics. */
  onFlush?: (info: { rows: number; durationMs: number }) => void;
}

/**
 * Buffers rows of one history table and writes them in batches.
 *
 * Guarantees, for a Kafka consumer that commits offsets after `flush()`:
 * - `flush()` resolves only when every row added before the call is committed in
 *   ClickHouse, and rejects if any of them could not be written;
 * - rows are never dropped: a failed batch stays at the front of the buffer and is
 *   retried by the next trigger or `flush()` (re-sending is idempotent);
 * - batches are sent one at a time, in the order rows were added.
 *
 * A row ClickHouse itself refuses would therefore block the writer (every flush fails);
 * rows are validated in `add()` so that malformed input fails there, for that caller.
 */
export class TableWriter<In> {
  readonly #client: HistoryClient;
  readonly #table: HistoryTable;
  readonly #prepare: (row: In, now: number) => object;
  readonly #maxRows: number;
  readonly #maxWaitMs: number;
  readonly #onError: HistoryWriterOptions['onError'];
  readonly #onFlush: HistoryWriterOptions['onFlush'];
  // Rows not yet committed, oldest first. Invariant: they are exactly the rows numbered
  // #written .. #added-1, so "is row n durable" is `n < #written`.
  #buffer: object[] = [];
  #added = 0;
  #written = 0;
  #timer: NodeJS.Timeout | null = null;
  #sizeFlushQueued = false;
  // After a failed batch the timer waits at least RETRY_DELAY_MS, so maxWaitMs = 0 does
  // not turn an unreachable ClickHouse into a busy loop.
  #lastFailed = false;
  // Every insert goes through this chain, so at most one batch is in flight.
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  // Callers of durable(), oldest first: settled by the batches the triggers send.
  #waiters: { target: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(client: HistoryClient, table: HistoryTable, prepare: (row: In, now: number) => object, opts: HistoryWriterOptions = {}) {
    const maxRows = opts.maxRows ?? 1000;
    const maxWaitMs = opts.maxWaitMs ?? 1000;
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`);
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) throw new RangeError(`maxWaitMs must be >= 0, got ${maxWaitMs}`);
    this.#client = client;
    this.#table = table;
    this.#prepare = prepare;
    this.#maxRows = maxRows;
    this.#maxWaitMs = maxWaitMs;
    this.#onError = opts.onError;
    this.#onFlush = opts.onFlush;
  }

  /** Rows buffered and not yet committed (including a batch in flight). */
  get pending(): number {
    return this.#buffer.length;
  }

  /**
   * Buffers rows. Validates all of them first and throws HistoryValidationError without
   * buffering any if one is invalid.
   */
  add(rows: In | readonly In[]): void {
    if (this.#closed) throw new Error('HistoryWriter is closed');
    const list: readonly In[] = Array.isArray(rows) ? (rows as readonly In[]) : [rows as In];
    const now = Date.now();
    const prepared = list.map((r) => this.#prepare(r, now));
    if (prepared.length === 0) return;
    for (const row of prepared) this.#buffer.push(row);
    this.#added += prepared.length;
    if (this.#buffer.length >= this.#maxRows) this.#queueSizeFlush();
    this.#armTimer();
  }

  /**
   * Resolves when every row added so far is committed, written by the size or time trigger
   * (at most `maxWaitMs` later) rather than at once: callers that arrive within one window
   * share one insert. Rejects with the insert error when a batch holding these rows fails
   * (the rows stay buffered and are retried, as for {@link flush}).
   */
  durable(): Promise<void> {
    const target = this.#added;
    if (this.#written >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target, resolve, reject });
      this.#armTimer();
    });
  }

  /** Resolves when every row added so far is committed; rejects with the insert error otherwise. */
  flush(): Promise<void> {
    const target = this.#added;
    return this.#enqueue(() => this.#writeUntil(target));
  }

  /**
   * Flushes and stops accepting rows. Rejects if the final flush fails; the rows that
   * could not be written are then lost with the writer, and the caller knows it.
   * Does not close the client.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    await this.flush();
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(task);
    this.#chain = run.then(
      () => {
        this.#lastFailed = false;
        this.#armTimer();
      },
      (error: unknown) => {
        this.#lastFailed = true;
        // The rows of every waiter are still buffered: each learns of the failure now and
        // may add them again (a redelivered chunk); the retry writes them meanwhile.
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
        this.#armTimer();
      },
    );
    return run;
  }

  // Sends batches from the front of the buffer until row `target - 1` is committed.
  async #writeUntil(target: number): Promise<void> {
    while (this.#written < target && this.#buffer.length > 0) await this.#writeBatch();
  }

  async #writeBatch(): Promise<void> {
    // Not removed from the buffer until committed: on failure the rows are already back
    // at the front, in order. add() only appends, so splice(0, n) stays correct.
    const batch = this.#buffer.slice(0, this.#maxRows);
    const started = performance.now();
    await insertPrepared(this.#client, this.#table, batch);
    this.#buffer.splice(0, batch.length);
    this.#written += batch.length;
    while (this.#waiters.length > 0 && this.#waiters[0]!.target <= this.#written) this.#waiters.shift()!.resolve();
    if (this.#onFlush) {
      try {
        this.#onFlush({ rows: batch.length, durationMs: performance.now() - started });
      } catch {
        // A metrics callback must not turn a committed batch into a failure.
      }
    }
  }

  #queueSizeFlush(): void {
    if (this.#sizeFlushQueued) return;
    this.#sizeFlushQueued = true;
    this.#background(async () => {
      this.#sizeFlushQueued = false;
      // Full batches only; the remainder waits for the timer or more rows.
      while (this.#buffer.length >= this.#maxRows) await this.#writeBatch();
    });
  }

  #armTimer(): void {
    if (this.#timer || this.#closed || this.#buffer.length === 0) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        const target = this.#added;
        this.#background(() => this.#writeUntil(target));
      },
      this.#lastFailed ? Math.max(this.#maxWaitMs, RETRY_DELAY_MS) : this.#maxWaitMs,
    );
    // Buffered rows must not keep a process alive on their own; shutdown calls close().
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  // A trigger-initiated write: nobody awaits it, so its failure goes to onError (the rows
  // stay buffered, the timer re-arms to retry, and the next flush() reports it too).
  #background(task: () => Promise<void>): void {
    this.#enqueue(task).catch((error: unknown) => {
      if (this.#onError) {
        try {
          this.#onError(error, this.#buffer.length);
        } catch {
          // nothing sensible left to do with an error from the error callback
        }
      }
    });
  }
}

/** Batched writer of the `events` table (one row per event status). */
export class HistoryWriter extends TableWriter<EventHistoryInput> {
  readonly #client: HistoryClient;
  constructor(client: HistoryClient, opts: HistoryWriterOptions = {}) {
    super(client, 'events', toInsertRow, opts);
    this.#client = client;
  }

  /** Inserts rows right away, bypassing the buffer (see {@link insertEvents}). */
  insertEvents(rows: readonly EventHistoryInput[]): Promise<void> {
    return insertEvents(this.#client, rows);
  }
}

/** Batched writer of `scenario_runs`. */
export class ScenarioRunWriter extends TableWriter<ScenarioRunInput> {
  constructor(client: HistoryClient, opts: HistoryWriterOptions = {}) {
    super(client, 'scenario_runs', toScenarioRunRow, opts);
  }
}

/** Batched writer of `webhook_attempts`. */
export class WebhookAttemptWriter extends TableWriter<WebhookAttemptInput> {
  constructor(client: HistoryClient, opts: HistoryWriterOptions = {}) {
    super(client, 'webhook_attempts', toWebhookAttemptRow, opts);
  }
}
