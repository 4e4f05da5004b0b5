import { BASE_MS, countRows, makeEvent, openTempStore, type TempStore } from '../test/embedded';
import { createHistoryClient } from './client';
import { runMigrations } from './migrations';
import { HistoryQueries } from './queries';
import { HistoryValidationError, type EventHistoryInput } from './types';
import { HistoryWriter, insertEvents } from './writer';

let store: TempStore;
let queries: HistoryQueries;

beforeAll(async () => {
  store = await openTempStore();
  queries = new HistoryQueries(store.client);
});
afterAll(async () => store.cleanup());

const team = (name: string): { team_id: string } => ({ team_id: `writer-${name}` });

function batch(teamId: string, n: number, status = 'accepted'): EventHistoryInput[] {
  return Array.from({ length: n }, (_, i) => makeEvent({ event_id: `e-${String(i).padStart(5, '0')}`, team_id: teamId, status, received_at: BASE_MS + i }));
}

describe('insertEvents idempotency', () => {
  it('re-inserting the same batch leaves one row per event', async () => {
    const { team_id } = team('redelivery');
    const rows = batch(team_id, 200);
    await insertEvents(store.client, rows);
    await insertEvents(store.client, rows); // Kafka redelivery after a crash before commit
    const counts = await countRows(store.client, 'team_id = {t:String}', { t: team_id });
    // Both copies stay on disk until a background merge collapses them (timing is up to
    // the engine), but reads see each event once either way.
    expect(counts.raw).toBeGreaterThanOrEqual(200);
    expect(counts.raw).toBeLessThanOrEqual(400);
    expect(counts.final).toBe(200);
    const page = await queries.listEventHistories({ teamId: team_id, limit: 500 });
    expect(page.data).toHaveLength(200);
    expect(page.next_cursor).toBeNull();
  });

  it('keeps the highest-ranked status whatever the arrival order', async () => {
    const { team_id } = team('progression');
    const base = { team_id, code_name: 'cart.updated', received_at: BASE_MS };
    await insertEvents(store.client, [makeEvent({ ...base, event_id: 'p1', status: 'accepted' })]);
    await insertEvents(store.client, [makeEvent({ ...base, event_id: 'p1', status: 'matched', reason_code: 'SCENARIO' })]);
    await insertEvents(store.client, [makeEvent({ ...base, event_id: 'p2', status: 'accepted' })]);
    await insertEvents(store.client, [
      makeEvent({ ...base, event_id: 'p2', status: 'rejected', reason_code: 'INVALID_PAYLOAD', errors: ['/total: must be number'], schema_version: 3 }),
    ]);
    // Late redelivery of an older status must not win.
    await insertEvents(store.client, [makeEvent({ ...base, event_id: 'p1', status: 'accepted' })]);

    const page = await queries.listEventHistories({ teamId: team_id });
    expect(page.data.map((r) => [r.event_id, r.status])).toEqual([
      ['p2', 'rejected'],
      ['p1', 'matched'],
    ]);
    const p2 = await queries.getEvent(team_id, 'p2');
    expect(p2).toMatchObject({ status: 'rejected', status_rank: 20, reason_code: 'INVALID_PAYLOAD', errors: ['/total: must be number'], schema_version: 3 });
    expect((await queries.listEventHistories({ teamId: team_id, status: 'accepted' })).data).toEqual([]);
    // Still true after the versions are merged away.
    await store.client.ch.command({ query: 'OPTIMIZE TABLE relay.events FINAL' });
    const counts = await countRows(store.client, 'team_id = {t:String}', { t: team_id });
    expect(counts).toEqual({ raw: 2, final: 2 });
    expect((await queries.getEvent(team_id, 'p1'))?.status).toBe('matched');
  });

  it('round-trips every column', async () => {
    const { team_id } = team('columns');
    const input = makeEvent({
      event_id: 'full',
      team_id,
      environment: 'staging',
      code_name: 'contact.subscribed',
      dialect: 'shopimind',
      status: 'unmatched',
      reason_code: 'NO_SCENARIO_FIRED',
      schema_version: 7,
      contact_id: 'c-1',
      contact_email: 'a@example.com',
      contact_phone: '+33600000000',
      visitor_id: 'v-1',
      resolved_contact_id: 'rc-1',
      payload: '{"a":[1,2],"b":"é"}',
      received_at: new Date(BASE_MS + 123),
      recorded_at: '2026-01-02T03:04:05.678+01:00',
    });
    await insertEvents(store.client, [input]);
    // Every column reads back as written; the rank is derived, timestamps come back as UTC ISO text.
    expect(await queries.getEvent(team_id, 'full')).toEqual({
      ...input,
      status_rank: 35,
      errors: [],
      received_at: new Date(BASE_MS + 123).toISOString(),
      recorded_at: '2026-01-02T02:04:05.678Z',
    });
  });

  it('rejects invalid rows before sending anything', async () => {
    const { team_id } = team('invalid');
    await expect(insertEvents(store.client, [makeEvent({ event_id: 'x', team_id, status: 'mystery' })])).rejects.toBeInstanceOf(HistoryValidationError);
    await expect(insertEvents(store.client, [makeEvent({ event_id: 'x', team_id, received_at: '2026-01-01 10:00:00' })])).rejects.toMatchObject({
      code: 'INVALID_TIMESTAMP',
    });
    // An unknown status is fine with an explicit rank.
    await insertEvents(store.client, [makeEvent({ event_id: 'x', team_id, status: 'archived', status_rank: 200 })]);
    expect((await queries.getEvent(team_id, 'x'))?.status).toBe('archived');
  });
});

describe('insert settings on the embedded engine', () => {
  it('leaves the shared session settings alone', async () => {
    // chdb turns each clickhouse_settings entry into a session SET that outlives the insert.
    await insertEvents(store.client, batch(team('settings').team_id, 10));
    const rs = await store.client.ch.query({
      query: "SELECT value, default FROM system.settings WHERE name = 'async_insert'",
      format: 'JSONEachRow',
    });
    const [setting] = await rs.json<{ value: string; default: string }>();
    expect(setting?.value).toBe(setting?.default);
  });

  it('has committed the rows when the insert resolves, even with async inserts on', async () => {
    // The writer sends no async_insert = 0 to the embedded engine because it has no
    // asynchronous insert queue; this fails if a chdb upgrade brings one.
    const { team_id } = team('async-insert');
    const fireAndForget = [
      'async_insert = 1',
      'wait_for_async_insert = 0',
      'async_insert_use_adaptive_busy_timeout = 0',
      'async_insert_busy_timeout_min_ms = 5000',
      'async_insert_busy_timeout_max_ms = 5000',
    ];
    await store.client.ch.command({ query: `SET ${fireAndForget.join(', ')}` });
    try {
      await insertEvents(store.client, batch(team_id, 50));
      expect(await countRows(store.client, 'team_id = {t:String}', { t: team_id })).toEqual({ raw: 50, final: 50 });
    } finally {
      await store.client.ch.command({ query: `SET ${fireAndForget.map((s) => s.replace(/=.*/, '= DEFAULT')).join(', ')}` });
    }
  });
});

describe('HistoryWriter', () => {
  it('sends full batches as soon as maxRows is reached, the rest after maxWaitMs', async () => {
    const { team_id } = team('batching');
    const flushed: number[] = [];
    // The wait is long next to two small inserts, so "before the timer" holds on a loaded
    // machine too (a 400 ms wait failed under CI load).
    const maxWaitMs = 4000;
    const writer = new HistoryWriter(store.client, { maxRows: 100, maxWaitMs, onFlush: (i) => flushed.push(i.rows) });
    const started = Date.now();
    writer.add(batch(team_id, 250));
    expect(writer.pending).toBe(250);

    await waitFor(() => flushed.length === 2);
    expect(Date.now() - started).toBeLessThan(maxWaitMs); // size-triggered, not timer-triggered
    expect(flushed).toEqual([100, 100]);
    expect(writer.pending).toBe(50);
    expect((await countRows(store.client, 'team_id = {t:String}', { t: team_id })).final).toBe(200);

    await waitFor(() => flushed.length === 3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(maxWaitMs);
    expect(flushed).toEqual([100, 100, 50]);
    expect(writer.pending).toBe(0);
    expect((await countRows(store.client, 'team_id = {t:String}', { t: team_id })).final).toBe(250);
    await writer.close();
  });

  it('flush() resolves only once the rows are queryable', async () => {
    const { team_id } = team('flush');
    const writer = new HistoryWriter(store.client, { maxRows: 10_000, maxWaitMs: 60_000 });
    writer.add(batch(team_id, 30));
    writer.add(makeEvent({ event_id: 'single', team_id }));
    expect((await countRows(store.client, 'team_id = {t:String}', { t: team_id })).raw).toBe(0);
    await writer.flush();
    expect(writer.pending).toBe(0);
    expect((await countRows(store.client, 'team_id = {t:String}', { t: team_id })).final).toBe(31);
    await writer.flush(); // nothing left: resolves at once
    await writer.close();
    expect(() => writer.add(makeEvent({ event_id: 'late', team_id }))).toThrow(/closed/);
  });

  it('a failed insert rejects flush(), keeps the rows and writes them on the next flush', async () => {
    const { team_id } = team('failure');
    // A database without the table: the insert fails in the real engine.
    const broken = createHistoryClient({ dataDir: store.dir, database: 'writer_not_migrated_yet' });
    const errors: unknown[] = [];
    const writer = new HistoryWriter(broken, { maxRows: 1000, maxWaitMs: 60_000, onError: (e) => errors.push(e) });
    try {
      writer.add(batch(team_id, 20));
      await expect(writer.flush()).rejects.toThrow(/writer_not_migrated_yet/);
      expect(writer.pending).toBe(20); // not dropped

      await runMigrations(broken); // ClickHouse is back
      await writer.flush();
      expect(writer.pending).toBe(0);
      const rs = await broken.ch.query({ query: 'SELECT count() AS n FROM writer_not_migrated_yet.events FINAL', format: 'JSONEachRow' });
      expect(Number((await rs.json<{ n: number }>())[0]?.n)).toBe(20);
      expect(errors).toEqual([]); // flush() failures go to the caller, not to onError
    } finally {
      await writer.close();
      await broken.close();
    }
  });

  it('reports background failures to onError and retries them', async () => {
    const { team_id } = team('background');
    const broken = createHistoryClient({ dataDir: store.dir, database: 'writer_background' });
    const errors: unknown[] = [];
    const writer = new HistoryWriter(broken, { maxRows: 5, maxWaitMs: 50, onError: (e) => errors.push(e) });
    try {
      writer.add(batch(team_id, 5)); // size trigger fires in the background and fails
      await waitFor(() => errors.length >= 1);
      expect(writer.pending).toBe(5);
      await runMigrations(broken);
      // The retry timer writes them without anyone calling flush().
      await waitFor(() => writer.pending === 0, 5000);
      await writer.close();
    } finally {
      await broken.close();
    }
  });

  it('durable() waits for the time trigger, and callers of one window share one insert', async () => {
    const { team_id } = team('durable');
    const flushed: number[] = [];
    const maxWaitMs = 300;
    const writer = new HistoryWriter(store.client, { maxRows: 10_000, maxWaitMs, onFlush: (i) => flushed.push(i.rows) });
    const started = Date.now();
    writer.add(batch(team_id, 10));
    const first = writer.durable();
    writer.add(makeEvent({ event_id: 'second', team_id }));
    const second = writer.durable();
    let firstDone = false;
    void first.then(() => (firstDone = true));
    // Nothing is written before the window closes: durable() does not force an insert.
    expect((await countRows(store.client, 'team_id = {t:String}', { t: team_id })).raw).toBe(0);
    expect(firstDone).toBe(false);
    await Promise.all([first, second]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(maxWaitMs - 5); // timers may fire a millisecond early
    expect(flushed).toEqual([11]); // one insert for both callers
    expect((await countRows(store.client, 'team_id = {t:String}', { t: team_id })).final).toBe(11);
    await writer.durable(); // nothing pending: resolves at once
    await writer.close();
  });

  it('a failed insert rejects durable(), keeps the rows, and the retry writes them', async () => {
    const { team_id } = team('durable-failure');
    const broken = createHistoryClient({ dataDir: store.dir, database: 'writer_durable_not_migrated' });
    const errors: unknown[] = [];
    const writer = new HistoryWriter(broken, { maxRows: 1000, maxWaitMs: 20, onError: (e) => errors.push(e) });
    try {
      writer.add(batch(team_id, 7));
      await expect(writer.durable()).rejects.toThrow(/writer_durable_not_migrated/);
      expect(writer.pending).toBe(7); // not dropped
      await runMigrations(broken);
      await writer.durable(); // the retry timer writes them (after at least the retry delay)
      expect(writer.pending).toBe(0);
      expect(errors.length).toBeGreaterThanOrEqual(1); // trigger-initiated failures still go to onError
    } finally {
      await writer.close();
      await broken.close();
    }
  });

  it('add() validates the whole call atomically', () => {
    const writer = new HistoryWriter(store.client);
    expect(() => writer.add([makeEvent({ event_id: 'ok' }), makeEvent({ event_id: '' })])).toThrow(HistoryValidationError);
    expect(writer.pending).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
