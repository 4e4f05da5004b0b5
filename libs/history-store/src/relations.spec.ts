import { openTempStore, type TempStore } from '../test/embedded';
import { sampleHistory } from '../test/fixtures';
import { HistoryQueries } from './queries';
import { ReadOnlySqlError, readOnlyStatement, runReadOnlySql, runTeamSql } from './sql';
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
        const expected = !last
          ? planned.find((p) => p.delivery_id === d.delivery_id)?.status === 'scheduled'
            ? 'scheduled'
            : 'pending'
          : last.outcome === 'succeeded'
            ? 'delivered'
            : last.outcome === 'dead'
              ? 'failed'
              : 'retrying';
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
    expect(page.data.map((r) => r.event_id).sort()).toEqual(
      sample.events
        .filter((e) => e.visitor_id === visitor)
        .map((e) => e.event_id)
        .sort(),
    );
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

describe('runTeamSql', () => {
  const OTHER = 'team-other';
  beforeAll(async () => {
    const other = sampleHistory({ teamId: OTHER, n: 50, seed: 11 });
    await insertEvents(store.client, other.events);
    await insertScenarioRuns(store.client, other.runs);
    await insertWebhookAttempts(store.client, other.attempts);
  });

  const teamsOf = async (sql: string): Promise<string[]> => {
    const res = await runTeamSql(store.client, sql, TEAM);
    const i = res.columns.findIndex((c) => c.name === 'team_id');
    return [...new Set(res.rows.map((r) => String(r[i])))];
  };

  it("reads only the team's rows of each table, already collapsed", async () => {
    const res = await runTeamSql(store.client, 'SELECT count() AS n FROM events', TEAM);
    expect(Number(res.rows[0]?.[0])).toBe(await count(`SELECT count() AS n FROM relay.events FINAL WHERE team_id = '${TEAM}'`));
    expect(await teamsOf('SELECT team_id FROM events')).toEqual([TEAM]);
    expect(await teamsOf('SELECT team_id FROM scenario_runs')).toEqual([TEAM]);
    expect(await teamsOf('SELECT team_id FROM webhook_attempts')).toEqual([TEAM]);
    // Own CTEs, subqueries, joins and UNION branches all see the scoped tables.
    expect(
      await teamsOf(
        `WITH recent AS (SELECT event_id, team_id FROM events ORDER BY received_at DESC LIMIT 20)
         SELECT team_id FROM recent UNION ALL SELECT e.team_id FROM events AS e JOIN scenario_runs AS r ON r.event_id = e.event_id
         UNION ALL SELECT team_id FROM webhook_attempts WHERE event_id IN (SELECT event_id FROM events)`,
      ),
    ).toEqual([TEAM]);
    // Scalar subqueries, and a SELECT without FROM (ClickHouse reads system.one then).
    const scalar = await runTeamSql(store.client, `SELECT (SELECT count() FROM events WHERE team_id != '${TEAM}'), 1 + 1`, TEAM);
    expect(scalar.rows.map((r) => r.map(Number))).toEqual([[0, 2]]);
    // A CTE of the statement may reuse a table's name; it still reads only what it selects.
    expect(await teamsOf(`WITH events AS (SELECT * FROM scenario_runs) SELECT team_id FROM events`)).toEqual([TEAM]);
  });

  it.each([
    ['the raw table', 'SELECT team_id FROM relay.events'],
    ['the raw table in a subquery', 'SELECT count() FROM events WHERE event_id IN (SELECT event_id FROM relay.events)'],
    ['the raw table in a UNION', 'SELECT team_id FROM events UNION ALL SELECT team_id FROM relay.scenario_runs'],
    ['the raw table in a CTE', 'WITH x AS (SELECT * FROM relay.webhook_attempts) SELECT team_id FROM x'],
    ['a quoted raw table', 'SELECT team_id FROM `relay`.`events`'],
    ['a dotted quoted name', 'SELECT team_id FROM `relay.events`'],
    ['IN with a table name', 'SELECT count() FROM events WHERE event_id IN relay.events'],
    ['IN with an unknown table', 'SELECT count() FROM events WHERE event_id IN relay_schema_migrations'],
    ['merge()', "SELECT team_id FROM merge('relay', 'events')"],
    ['merge() in a subquery', "SELECT count() FROM events WHERE event_id IN (SELECT event_id FROM merge('relay', '^events$'))"],
    ['view()', 'SELECT team_id FROM view(SELECT * FROM relay.events)'],
    ['remote()', "SELECT team_id FROM remote('127.0.0.1', 'relay', 'events')"],
    ['file()', "SELECT * FROM file('/etc/hostname', 'LineAsString')"],
    ['a system table', 'SELECT * FROM system.tables'],
    ['a system table in a join', 'SELECT e.team_id FROM events AS e CROSS JOIN system.parts AS p'],
    ['information_schema', 'SELECT * FROM INFORMATION_SCHEMA.tables'],
    ['a table of the current database', 'SELECT * FROM relay_schema_migrations'],
    ['a settings change', 'SELECT team_id FROM events SETTINGS readonly = 0'],
    ['a settings change in a subquery', 'SELECT * FROM (SELECT team_id FROM events SETTINGS readonly = 0)'],
    ['FINAL on a scoped table', 'SELECT count() FROM events FINAL'],
    ['SHOW', 'SHOW TABLES FROM relay'],
    ['DESCRIBE', 'DESCRIBE TABLE relay.events'],
    ['a dictionary read', "SELECT dictGet('relay.x', 'team_id', 1)"],
  ])('refuses %s', async (_what, sql) => {
    await expect(runTeamSql(store.client, sql, TEAM)).rejects.toThrow(ReadOnlySqlError);
  });

  it('binds the team as a parameter: a quote in it is a value, not SQL', async () => {
    const res = await runTeamSql(store.client, 'SELECT count() AS n FROM events', "x' OR 1 = 1 OR team_id = '");
    expect(Number(res.rows[0]?.[0])).toBe(0);
  });
});
