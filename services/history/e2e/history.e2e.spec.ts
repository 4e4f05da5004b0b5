/**
 * Issue 7 acceptance: 10k events through the ingestion pipeline (validator → history),
 * a batch force-redelivered to the validated topic, and history still holds exactly 10k
 * event rows; pagination returns every row once; filters return exactly the expected
 * rows; `npm run sql` answers through the running history service.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Ajv from 'ajv';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, TOPICS, type EventEnvelope } from '@relay/contracts';
import { REPO_ROOT, eventually, makeContactRef, makeEnvelope, startRelay, type RelayUnderTest } from '@relay/testing';

const N = 10_000;
const REDELIVERED = 1_000;

interface Row {
  event_id: string;
  status: string;
  code_name: string;
  environment: string;
  received_at: string;
  scenario_runs: unknown[];
  deliveries: unknown[];
}

describe('history: 10k events, redelivery, pagination, filters', () => {
  let relay: RelayUnderTest;
  let registry: ContractRegistry;
  let kafka: Kafka;
  const envelopes: EventEnvelope[] = [];
  const invalid = new Set<string>();
  /** Every error each refused event must be recorded with: its own, all of them. */
  const expectedErrors = new Map<string, string[]>();
  const base = Date.now() - 3600_000;

  const api = async (pathAndQuery: string, key = relay.apiKey) => {
    const res = await fetch(`${relay.gatewayUrl}${pathAndQuery}`, { headers: { 'x-api-key': key } });
    return { status: res.status, body: (await res.json()) as { data: Row[]; next_cursor: string | null; code?: string } };
  };

  /** Every page of a query, asserting nothing repeats. */
  const all = async (query: string, limit = 500): Promise<Row[]> => {
    const rows: Row[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(`/v1/event-histories?limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      rows.push(...res.body.data);
      cursor = res.body.next_cursor;
    } while (cursor);
    return rows;
  };

  /** SQL over one team's rows, through the service (with its token). */
  const sql = async (query: string, teamId = relay.teamId): Promise<unknown[][]> => {
    const res = await fetch(`http://127.0.0.1:${relay.ports.history}/internal/v1/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${relay.historyToken}` },
      body: JSON.stringify({ query, team_id: teamId }),
    });
    const body = (await res.json()) as { rows: unknown[][]; message?: string };
    if (!res.ok) throw new Error(body.message);
    return body.rows;
  };

  const send = async (topic: string, messages: Message[]) => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
    }
    await producer.disconnect();
  };

  beforeAll(async () => {
    relay = await startRelay({ services: ['validator', 'history', 'gateway'] });
    registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    await registry.registerAll();
    kafka = new Kafka({ brokers: relay.infra.brokers, clientId: 'history-e2e', logLevel: logLevel.NOTHING });
    // store_purchase is about contacts only (the default target); cart_abandoned takes a
    // contact or a visitor.
    for (const [code_name, target] of [
      ['store_purchase', 'contact'],
      ['cart_abandoned', 'both'],
    ]) {
      const res = await fetch(`${relay.gatewayUrl}/v1/events`, {
        method: 'POST',
        headers: { 'x-api-key': relay.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: code_name,
          code_name,
          target,
          properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] },
        }),
      });
      expect(res.status).toBe(201);
    }
    for (let i = 0; i < N; i++) {
      const code_name = i % 3 === 0 ? 'cart_abandoned' : 'store_purchase';
      const badOrder = i % 20 === 7 || i % 20 === 8; // 10% carry order_id as text (some with a visitor too)
      const withVisitor = i % 4 === 0; // a visitor on every 4th: refused on store_purchase (contact only)
      const e = makeEnvelope({
        event_id: uuidv7(),
        team_id: relay.teamId,
        environment: i % 10 === 3 ? 'staging' : 'production',
        code_name,
        received_at: base + i * 300, // 10k events over 50 minutes
        contact: makeContactRef({ email: `c${i % 250}@example.com` }),
        visitor: withVisitor ? { id: `v${i % 40}`, custom_data_json: null } : null,
        meta_data_json: JSON.stringify({ order_id: badOrder ? String(i) : i }),
      });
      const errors = [
        ...(withVisitor && code_name === 'store_purchase' ? ['Property not allowed for target contact: visitor'] : []),
        ...(badOrder ? ['Invalid type for property: metaData.order_id. Expected number, got string'] : []),
      ];
      if (errors.length > 0) {
        invalid.add(e.event_id);
        expectedErrors.set(e.event_id, errors);
      }
      envelopes.push(e);
    }
    const started = Date.now();
    await send(
      registry.topic('ingested'),
      await Promise.all(envelopes.map(async (e) => ({ key: `${e.team_id}:contact:email:${e.contact?.email}`, value: await registry.encode('ingested', e) }))),
    );
    await eventually(
      async () => {
        const [[n]] = (await sql('SELECT count() FROM events')) as [[string]];
        return Number(n) === N ? true : undefined;
      },
      120_000,
      500,
    );
    console.log(`10k events: produced and in history after ${Date.now() - started} ms`);
  }, 300_000);

  afterAll(async () => {
    await relay?.stop();
  }, 60_000);

  it('publishes its own OpenAPI document, and answers errors in the shared shape it documents', async () => {
    const base = `http://127.0.0.1:${relay.ports.history}`;
    type Op = { summary?: string; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> };
    const doc = (await (await fetch(`${base}/docs-json`)).json()) as {
      paths: Record<string, Record<string, Op>>;
      components: { schemas: Record<string, object> };
    };
    const ops = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/internal/'))
      .flatMap(([p, item]) => Object.entries(item).map(([m, op]) => ({ at: `${m} ${p}`, op })));
    expect(ops.map((o) => o.at).sort()).toEqual([
      'get /internal/v1/event-histories',
      'get /internal/v1/event-histories/{event_id}',
      'get /internal/v1/triggers/{event_id}',
      'get /internal/v1/triggers/{event_id}/workflow',
      'post /internal/v1/sql',
    ]);
    for (const { at, op } of ops) {
      expect({ at, summary: Boolean(op.summary) }).toEqual({ at, summary: true });
      expect({ at, error: op.responses['400']?.content?.['application/json']?.schema.$ref }).toEqual({ at, error: '#/components/schemas/Error' });
    }
    const res = await fetch(`${base}/internal/v1/event-histories?limit=9999&team_id=${relay.teamId}`, {
      headers: { authorization: `Bearer ${relay.historyToken}` },
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(400);
    const validate = new Ajv({ strict: false }).compile(doc.components.schemas.Error as object);
    expect({ valid: validate(body), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(body).toMatchObject({ success: false, code: 'INVALID_QUERY' });
  });

  it('has exactly 10k event rows after a batch is redelivered to the validated topic', async () => {
    // The validator's output for 1000 events it accepted, produced a second time: what a
    // crash between produce and commit does. Then one marker per partition from another team:
    // partitions are consumed in order, so once every marker is in history, so are the copies.
    const copies = envelopes
      .filter((e) => !invalid.has(e.event_id))
      .slice(0, REDELIVERED)
      .map((e) => ({ ...e, schema_version: 1 }));
    const other = await relay.addTeam();
    const markers = Array.from({ length: TOPICS.validated.partitions }, (_, p) => ({
      ...(copies[0] as EventEnvelope),
      event_id: uuidv7(),
      team_id: other.teamId,
      partition: p,
    }));
    await send(registry.topic('validated'), [
      ...(await Promise.all(
        copies.map(async (e) => ({ key: `${e.team_id}:contact:email:${e.contact?.email}`, value: await registry.encode('validated', e) })),
      )),
      ...(await Promise.all(
        markers.map(async ({ partition, ...e }) => ({ partition, key: `${e.team_id}:marker`, value: await registry.encode('validated', e) })),
      )),
    ]);
    await eventually(
      async () => {
        const [[n]] = (await sql('SELECT count() FROM events', other.teamId)) as [[string]];
        return Number(n) === markers.length ? true : undefined;
      },
      60_000,
      300,
    );

    const [[final]] = (await sql('SELECT count() FROM events')) as [[string]];
    expect(Number(final)).toBe(N);
    // Each refused event carries its own errors (a visitor on a contact-only type, a text
    // order_id, or both), and nothing else was refused.
    const refused = (await sql(`SELECT event_id, reason_code, errors FROM events WHERE status = 'rejected'`)) as [string, string, string[]][];
    expect(refused).toHaveLength(invalid.size);
    for (const [eventId, reason, errors] of refused) {
      expect(reason).toBe('INVALID_PAYLOAD');
      expect([eventId, errors]).toEqual([eventId, expectedErrors.get(eventId)]);
    }
    expect(new Set([...expectedErrors.values()].map((e) => e.length))).toEqual(new Set([1, 2]));
  });

  it('pages through every row exactly once, newest first, with relations attached', async () => {
    const rows = await all('');
    expect(rows).toHaveLength(N);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(N);
    const times = rows.map((r) => Date.parse(r.received_at));
    expect(times.every((t, i) => i === 0 || t <= (times[i - 1] as number))).toBe(true);
    expect(rows.every((r) => Array.isArray(r.scenario_runs) && Array.isArray(r.deliveries))).toBe(true);
    // Smaller pages cover the same rows.
    const small = await all('code_name=cart_abandoned&environment=staging', 37);
    expect(small.length).toBeGreaterThan(37);
    expect(new Set(small.map((r) => r.event_id)).size).toBe(small.length);
  });

  const ids = (rows: { event_id: string }[]) => rows.map((r) => r.event_id).sort();

  it.each([
    ['code_name', 'code_name=cart_abandoned', (e: EventEnvelope) => e.code_name === 'cart_abandoned'],
    ['status', 'status=rejected', (e: EventEnvelope) => invalid.has(e.event_id)],
    ['contact', 'contact_email=c17%40example.com', (e: EventEnvelope) => e.contact?.email === 'c17@example.com'],
    ['visitor', 'visitor_id=v8', (e: EventEnvelope) => e.visitor?.id === 'v8'],
    ['environment', 'environment=staging', (e: EventEnvelope) => e.environment === 'staging'],
  ])('filters by %s', async (_label, query, keep) => {
    const expected = envelopes.filter(keep);
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(await all(query))).toEqual(ids(expected));
  });

  it('filters by time range (from inclusive, to exclusive) combined with other filters', async () => {
    const from = new Date(base + 1000 * 300).toISOString();
    const to = new Date(base + 3000 * 300).toISOString();
    const expected = envelopes.filter((e) => e.received_at >= base + 1000 * 300 && e.received_at < base + 3000 * 300 && e.code_name === 'store_purchase');
    expect(ids(await all(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&code_name=store_purchase`))).toEqual(ids(expected));
  });

  it('another team sees none of it', async () => {
    const other = await relay.addTeam();
    const res = await api('/v1/event-histories?limit=10&code_name=store_purchase', other.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  });

  it("npm run sql prints the team's count through the running history service; writes are refused", () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['-r', path.join(REPO_ROOT, 'tools/register.js'), path.join(REPO_ROOT, 'tools/sql.ts'), ...args], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, RELAY_HISTORY_PORT: String(relay.ports.history), RELAY_HISTORY_TOKEN: relay.historyToken, CLICKHOUSE_URL: '' },
        timeout: 60_000,
      });
    const ok = run('--team', relay.teamId, 'SELECT count() AS n FROM events');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^n\\s*\\n[─┼]+\\n${N}\\s*$`, 'm'));
    expect(ok.stderr).toMatch(/1 row, .* via service/);
    const refused = run('--team', relay.teamId, 'DROP TABLE relay.events');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/only SELECT/);
    // Without a team the running service answers nothing: it reads one team's rows only.
    const unscoped = run('SELECT count() FROM relay.events FINAL');
    expect(unscoped.status).toBe(2);
    expect(unscoped.stderr).toMatch(/pass --team/);
  });

  it('history /metrics shows rows written', async () => {
    const text = await (await fetch(`http://127.0.0.1:${relay.ports.history}/metrics`)).text();
    const m = /relay_history_rows_written_total\{[^}]*table="events"[^}]*\} (\d+)/.exec(text);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(N);
  });
});
