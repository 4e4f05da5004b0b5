/**
 * Issue 11 (security): the history service's internal API needs the service token, and
 * every route, analyst SQL included, reads only the team it is asked for. Team A asks, team
 * B's rows (events, scenario runs, webhook attempts) must never come back: each attempt to
 * reach them is refused with a 4xx and a stable code, or answers team A's rows only.
 */
import { Kafka, logLevel } from 'kafkajs';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, type EventEnvelope, type EventOutcome, type WebhookAttempt } from '@relay/contracts';
import { eventually, makeEnvelope, startRelay, type RelayUnderTest } from '@relay/testing';

describe('history: service token and team isolation on every internal route', () => {
  let relay: RelayUnderTest;
  let base: string;
  let teamA: string;
  let teamB: { teamId: string; apiKey: string };
  let eventA: EventEnvelope;
  let eventB: EventEnvelope;

  const call = async (path: string, init: RequestInit = {}, token: string | null = relay.historyToken) => {
    const res = await fetch(`${base}${path}`, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(init.headers as Record<string, string>),
      },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const sqlAs = (teamId: string, query: string) => call('/internal/v1/sql', { method: 'POST', body: JSON.stringify({ query, team_id: teamId }) });

  beforeAll(async () => {
    relay = await startRelay({ services: ['history', 'gateway'] });
    base = `http://127.0.0.1:${relay.ports.history}`;
    teamA = relay.teamId;
    teamB = await relay.addTeam();
    const registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    await registry.registerAll();
    eventA = makeEnvelope({ team_id: teamA, event_id: uuidv7(), schema_version: 1 });
    eventB = makeEnvelope({ team_id: teamB.teamId, event_id: uuidv7(), schema_version: 1 });
    const outcomeB: EventOutcome = {
      event_id: eventB.event_id,
      team_id: teamB.teamId,
      status: 'matched',
      reason_code: '',
      contact_id: 'contact-b',
      scenario_runs: [{ scenario_id: 'scenario-b', name: 'B only', outcome: 'matched', reason: '', actions: [] }],
      scenarios_fired: 1,
      deliveries: 1,
      scheduled: 0,
      decided_at: Date.now(),
      envelope_json: JSON.stringify(eventB),
    };
    const attemptB: WebhookAttempt = {
      attempt_id: uuidv7(),
      delivery_id: uuidv7(),
      team_id: teamB.teamId,
      endpoint_id: 'endpoint-b',
      event_id: eventB.event_id,
      attempt: 1,
      outcome: 'delivered',
      http_status: 200,
      latency_ms: 5,
      error: null,
      response_snippet: null,
      attempted_at: Date.now(),
      kind: 'subscription',
      environment: 'production',
      code_name: eventB.code_name,
      scenario_id: null,
      occurred_at: eventB.received_at,
      delivery_created_at: Date.now(),
    };
    const kafka = new Kafka({ brokers: relay.infra.brokers, clientId: 'isolation-e2e', logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (const e of [eventA, eventB])
      await producer.send({ topic: registry.topic('validated'), acks: -1, messages: [{ key: e.team_id, value: await registry.encode('validated', e) }] });
    await producer.send({ topic: registry.topic('outcomes'), acks: -1, messages: [{ key: teamB.teamId, value: await registry.encode('outcomes', outcomeB) }] });
    await producer.send({ topic: registry.topic('attempts'), acks: -1, messages: [{ key: teamB.teamId, value: await registry.encode('attempts', attemptB) }] });
    await producer.disconnect();
    // Team B's rows are there (asked as team B): what team A must not see.
    await eventually(
      async () => {
        const res = await sqlAs(
          teamB.teamId,
          'SELECT (SELECT count() FROM events), (SELECT count() FROM scenario_runs), (SELECT count() FROM webhook_attempts)',
        );
        if (JSON.stringify((res.body.rows as unknown[][] | undefined)?.map((r) => r.map(Number))) !== '[[1,1,1]]')
          throw new Error(`team B: ${JSON.stringify(res.body)}`);
        return true;
      },
      60_000,
      300,
    );
    await eventually(
      async () => Number(((await sqlAs(teamA, 'SELECT count() FROM events')).body.rows as unknown[][] | undefined)?.[0]?.[0]) === 1 || undefined,
      60_000,
      300,
    );
  }, 300_000);

  afterAll(async () => {
    await relay?.stop();
  }, 60_000);

  describe('service token', () => {
    const routes = () =>
      [
        ['GET', `/internal/v1/event-histories?team_id=${teamA}`],
        ['GET', `/internal/v1/event-histories/${eventA.event_id}?team_id=${teamA}`],
        ['GET', `/internal/v1/triggers/${eventA.event_id}?team_id=${teamA}`],
        ['GET', `/internal/v1/triggers/${eventA.event_id}/workflow?team_id=${teamA}`],
        ['POST', '/internal/v1/sql'],
      ] as const;

    it('answers 401 SERVICE_TOKEN_INVALID on every internal route without the token or with a wrong one', async () => {
      for (const [method, path] of routes()) {
        const body = method === 'POST' ? JSON.stringify({ query: 'SELECT 1', team_id: teamA }) : undefined;
        for (const token of [null, 'wrong-token-0123456789', `${relay.historyToken}x`]) {
          const res = await call(path, { method, ...(body ? { body } : {}) }, token);
          expect({ path, token, status: res.status, code: res.body.code }).toEqual({ path, token, status: 401, code: 'SERVICE_TOKEN_INVALID' });
        }
        const ok = await call(path, { method, ...(body ? { body } : {}) });
        expect({ path, status: ok.status }).toEqual({ path, status: 200 });
      }
    });

    it('leaves health and the document open (no data there)', async () => {
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      expect((await fetch(`${base}/docs-json`)).status).toBe(200);
    });

    it('is sent by the gateway: the public history routes work through it', async () => {
      const res = await relay.api<{ data: Array<{ event_id: string }> }>('GET', '/v1/event-histories');
      expect(res.status).toBe(200);
      expect(res.body.data.map((r) => r.event_id)).toEqual([eventA.event_id]);
      const b = await relay.api<{ data: Array<{ event_id: string }> }>('GET', '/v1/event-histories', undefined, teamB.apiKey);
      expect(b.body.data.map((r) => r.event_id)).toEqual([eventB.event_id]);
    });
  });

  describe("team A never reads team B's rows", () => {
    it('list, one event and trigger routes: B is invisible to A', async () => {
      const list = await call(`/internal/v1/event-histories?team_id=${teamA}&limit=500`);
      expect((list.body.data as Array<{ team_id: string; event_id: string }>).map((r) => [r.team_id, r.event_id])).toEqual([[teamA, eventA.event_id]]);
      for (const path of [
        `/internal/v1/event-histories/${eventB.event_id}?team_id=${teamA}`,
        `/internal/v1/triggers/${eventB.event_id}?team_id=${teamA}`,
        `/internal/v1/triggers/${eventB.event_id}/workflow?team_id=${teamA}`,
      ]) {
        const res = await call(path);
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 404,
          code: path.includes('triggers') ? 'TRIGGER_NOT_FOUND' : 'EVENT_NOT_FOUND',
        });
      }
      // Filters cannot widen the scope: B's event id or contact as a filter finds nothing for A.
      const byContact = await call(`/internal/v1/event-histories?team_id=${teamA}&contact_id=contact-b`);
      expect(byContact.body.data).toEqual([]);
      // No team, no answer.
      expect((await call('/internal/v1/event-histories')).body.code).toBe('INVALID_QUERY');
      expect((await call(`/internal/v1/event-histories/${eventB.event_id}`)).body.code).toBe('INVALID_QUERY');
    });

    it("SQL over the team's tables returns team A's rows only", async () => {
      for (const query of [
        'SELECT team_id, event_id FROM events',
        'SELECT team_id, event_id FROM scenario_runs',
        'SELECT team_id, event_id FROM webhook_attempts',
        `SELECT team_id, event_id FROM events WHERE event_id = '${eventB.event_id}' OR team_id = '${teamB.teamId}' OR 1 = 1`,
        'SELECT team_id, event_id FROM events UNION ALL SELECT team_id, event_id FROM webhook_attempts UNION ALL SELECT team_id, event_id FROM scenario_runs',
        'WITH b AS (SELECT * FROM events) SELECT team_id, event_id FROM b WHERE event_id IN (SELECT event_id FROM webhook_attempts) OR 1',
        'SELECT e.team_id, e.event_id FROM events AS e LEFT JOIN scenario_runs AS r ON r.event_id = e.event_id',
      ]) {
        const res = await sqlAs(teamA, query);
        expect({ query, status: res.status }).toEqual({ query, status: 200 });
        const rows = res.body.rows as string[][];
        expect({ query, teams: [...new Set(rows.map((r) => r[0]))].filter((t) => t !== teamA) }).toEqual({ query, teams: [] });
        expect({ query, b: rows.some((r) => r[1] === eventB.event_id) }).toEqual({ query, b: false });
      }
    });

    it.each([
      ['UNION with the raw table', 'SELECT team_id FROM events UNION ALL SELECT team_id FROM relay.events', 'SQL_NOT_TEAM_SCOPED'],
      ['a subquery naming the raw table', 'SELECT count() FROM events WHERE event_id IN (SELECT event_id FROM relay.events)', 'SQL_NOT_TEAM_SCOPED'],
      ['a CTE over the raw table', 'WITH x AS (SELECT * FROM relay.webhook_attempts) SELECT team_id FROM x', 'SQL_NOT_TEAM_SCOPED'],
      ['a quoted raw table', 'SELECT team_id FROM `relay`.`scenario_runs`', 'SQL_NOT_TEAM_SCOPED'],
      ['IN with the raw table', 'SELECT count() FROM events WHERE event_id IN relay.events', 'SQL_NOT_TEAM_SCOPED'],
      ['merge()', "SELECT team_id FROM merge('relay', 'events')", 'SQL_NOT_TEAM_SCOPED'],
      ['merge() with a regexp', "SELECT team_id FROM merge(REGEXP('rel'), '^ev')", 'SQL_NOT_TEAM_SCOPED'],
      ['view()', 'SELECT team_id FROM view(SELECT * FROM relay.events)', 'SQL_NOT_TEAM_SCOPED'],
      ['remote()', "SELECT team_id FROM remote('127.0.0.1', 'relay', 'events')", 'SQL_NOT_TEAM_SCOPED'],
      ['file()', "SELECT * FROM file('/etc/hostname', 'LineAsString')", 'SQL_NOT_TEAM_SCOPED'],
      ['system.tables', 'SELECT * FROM system.tables', 'SQL_NOT_TEAM_SCOPED'],
      ['system.parts in a join', 'SELECT e.team_id FROM events AS e CROSS JOIN system.parts AS p', 'SQL_NOT_TEAM_SCOPED'],
      ['system.query_log', 'SELECT query FROM system.query_log', 'SQL_NOT_TEAM_SCOPED'],
      ['INFORMATION_SCHEMA', 'SELECT * FROM INFORMATION_SCHEMA.tables', 'SQL_NOT_TEAM_SCOPED'],
      ['SETTINGS readonly = 0', 'SELECT team_id FROM events SETTINGS readonly = 0', 'READ_ONLY_SQL'],
      ['SETTINGS in a subquery', 'SELECT * FROM (SELECT team_id FROM events SETTINGS readonly = 0)', 'READ_ONLY_SQL'],
      ['a second statement', `SELECT 1; SELECT * FROM relay.events`, 'READ_ONLY_SQL'],
      ['SHOW', 'SHOW TABLES FROM relay', 'SQL_NOT_TEAM_SCOPED'],
      ['DESCRIBE', 'DESCRIBE TABLE relay.events', 'SQL_NOT_TEAM_SCOPED'],
    ])('refuses %s with 400 and a stable code', async (_what, query, code) => {
      const res = await sqlAs(teamA, query);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code });
      expect(JSON.stringify(res.body)).not.toContain(eventB.event_id);
    });

    it('needs a team for SQL', async () => {
      const res = await call('/internal/v1/sql', { method: 'POST', body: JSON.stringify({ query: 'SELECT count() FROM events' }) });
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });
});
