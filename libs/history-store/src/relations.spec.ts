import { openTempStore, type TempStore } from '../test/embedded';
import { sampleHistory } from '../test/fixtures';
import { HistoryQueries } from './queries';
import { ReadOnlySqlError, readOnlyStatement, runReadOnlySql } from './sql';
import { insertEvents, insertScenarioRuns, insertWebhookAttempts, ScenarioRunWriter, WebhookAttemptWriter } from './writer';

let store: TempStore;
let queries: HistoryQueries;
const TEAM = 'team-rel';
const sample = sampleHistory({ teamId: TEAM, n: 400, seed: 7 });

async function count(sql: string): Promise<number> {
  const rs = await store.client.ch.query({ query: sql, format: 'JSONEachRow' });
  return Number((await rs.json<{ n: string }>())[0]?.n);
}

beforeAll(async () => {
  store = await openTempStore();
  queries = new HistoryQueries(store.client);
  await insertEvents(store.client, sample.events);
  // Redelivery: every scenario run and attempt arrives twice, through the batched writers.
  const runs = new ScenarioRunWriter(store.client, { maxRows: 128 });
  const attempts = new WebhookAttemptWriter(store.client, { maxRows: 128 });
  for (let i = 0; i < 2; i++) {
    runs.add(sample.runs);
    attempts.add(sample.attempts);
  }
  await Promise.all([runs.close(), attempts.close()]);
});

afterAll(async () => {
  await store.cleanup();
});

describe('scenario_runs and webhook_attempts', () => {
  it('keep one row per run / attempt after a redelivery', async () => {
    expect(await count(`SELECT count() AS n FROM relay.scenario_runs`)).toBeGreaterThanOrEqual(sample.runs.length);
    expect(await count(`SELECT count() AS n FROM relay.scenario_runs FINAL`)).toBe(sample.runs.length);
    expect(await count(`SELECT count() AS n FROM relay.webhook_attempts FINAL`)).toBe(sample.attempts.length);
    await insertScenarioRuns(store.client, sample.runs.slice(0, 5));
    await insertWebhookAttempts(store.client, sample.attempts.slice(0, 5));
    expect(await count(`SELECT count() AS n FROM relay.webhook_attempts FINAL`)).toBe(sample.attempts.length);
  });

  it('stores status classes and action counts', async () => {
    expect(await count(`SELECT count() AS n FROM relay.webhook_attempts FINAL WHERE status_class = 'none' AND http_status IS NULL`)).toBe(
      sample.attempts.filter((a) => a.http_status === null).length,
    );
    expect(await count(`SELECT sum(actions_scheduled) AS n FROM relay.scenario_runs FINAL`)).toBe(
      sample.runs.flatMap((r) => r.actions ?? []).filter((a) => a.status === 'scheduled').length,
    );
  });

  it('attachRelations gives each event its scenario runs and deliveries', async () => {
    const page = await queries.listEventHistories({ teamId: TEAM, limit: 500 });
    expect(page.data).toHaveLength(sample.events.length);
    const rows = await queries.attachRelations(TEAM, page.data);
    for (const row of rows) {
      const runs = sample.runs.filter((r) => r.event_id === row.event_id);
      expect(row.scenario_runs.map((r) => r.scenario_id).sort()).toEqual(runs.map((r) => r.scenario_id).sort());
      const attempts = sample.attempts.filter((a) => a.event_id === row.event_id);
      const planned = runs.flatMap((r) => r.actions ?? []).filter((a) => a.delivery_id);
      expect(row.deliveries).toHaveLength(planned.length);
      for (const d of row.deliveries) {
        const mine = attempts.filter((a) => a.delivery_id === d.delivery_id);
        const last = mine[mine.length - 1];
        const expected = !last ? (planned.find((p) => p.delivery_id === d.delivery_id)?.status === 'scheduled' ? 'scheduled' : 'pending') : last.outcome === 'succeeded' ? 'delivered' : last.outcome === 'dead' ? 'failed' : 'retrying';
        expect([d.delivery_id, d.status, d.attempts]).toEqual([d.delivery_id, expected, mine.length]);
      }
    }
    expect(rows.some((r) => r.deliveries.some((d) => d.status === 'failed'))).toBe(true);
    expect(rows.some((r) => r.deliveries.some((d) => d.status === 'scheduled'))).toBe(true);
    expect(rows.some((r) => r.scenario_runs.some((s) => s.outcome === 'filtered' && s.reason !== ''))).toBe(true);
  });

  it('filters by visitor and phone', async () => {
    const visitor = sample.events.find((e) => e.visitor_id)?.visitor_id as string;
    const page = await queries.listEventHistories({ teamId: TEAM, visitorId: visitor, limit: 500 });
    expect(page.data.map((r) => r.event_id).sort()).toEqual(sample.events.filter((e) => e.visitor_id === visitor).map((e) => e.event_id).sort());
    expect(page.data.length).toBeGreaterThan(0);
  });
});

describe('runReadOnlySql', () => {
  it('accepts reads and returns typed columns', async () => {
    const res = await runReadOnlySql(store.client, 'SELECT count() AS n, 1 AS one FROM relay.events FINAL;');
    expect(res.columns.map((c) => c.name)).toEqual(['n', 'one']);
    expect(Number(res.rows[0]?.[0])).toBe(sample.events.length);
    expect((await runReadOnlySql(store.client, 'SHOW TABLES FROM relay')).rows.flat()).toEqual(
      expect.arrayContaining(['events', 'scenario_runs', 'webhook_attempts']),
    );
    expect((await runReadOnlySql(store.client, 'DESCRIBE TABLE relay.webhook_attempts')).rows.length).toBeGreaterThan(10);
    const capped = await runReadOnlySql(store.client, 'SELECT number FROM system.numbers LIMIT 50', { maxRows: 10 });
    expect([capped.rows.length, capped.truncated]).toEqual([10, true]);
  });

  it.each([
    ['INSERT INTO relay.events (event_id) VALUES (1)'],
    ['DROP TABLE relay.events'],
    ['ALTER TABLE relay.events DELETE WHERE 1'],
    ['SELECT 1; DROP TABLE relay.events'],
    ['SELECT 1 FORMAT CSV'],
    ['  -- only a comment'],
  ])('refuses %s before ClickHouse', (sql) => {
    expect(() => readOnlyStatement(sql)).toThrow(ReadOnlySqlError);
  });

  it('lets ClickHouse refuse what the text filter cannot see, and the store still takes writes afterwards', async () => {
    await expect(runReadOnlySql(store.client, "SELECT * FROM file('/etc/hostname', 'LineAsString')")).rejects.toThrow(/readonly/i);
    await expect(runReadOnlySql(store.client, 'WITH 1 AS x SELECT x SETTINGS readonly = 0')).rejects.toThrow(ReadOnlySqlError);
    // Found while writing this: a subquery-level SETTINGS readonly = 0 overrides the
    // query-level readonly = 1 of the embedded path, so SETTINGS is refused outright.
    await expect(
      runReadOnlySql(store.client, "SELECT * FROM (SELECT * FROM file('/etc/hostname', 'LineAsString') SETTINGS/**/`readonly` = 0)"),
    ).rejects.toThrow(ReadOnlySqlError);
    expect((await runReadOnlySql(store.client, "SELECT value FROM system.settings WHERE name = 'readonly'")).rows).toEqual([['1']]);
    // readonly must not stick to the shared embedded session.
    await insertEvents(store.client, [{ ...(sample.events[0] as (typeof sample.events)[number]), event_id: 'after-readonly' }]);
    expect(await count(`SELECT count() AS n FROM relay.events FINAL WHERE event_id = 'after-readonly'`)).toBe(1);
  });
});
