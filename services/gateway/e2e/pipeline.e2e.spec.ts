import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, type DeadLetter, type EventEnvelope } from '@relay/contracts';
import { callJson, eventually, makeContactRef, makeEnvelope, startRelay, storePurchaseType, type RelayUnderTest } from '@relay/testing';

/**
 * Ingestion only: without the matcher, an accepted event's final history status is
 * `validated` (with it, events of unknown contacts become `no_target`: see the matcher specs).
 */
const INGESTION_ONLY = ['gateway', 'validator', 'history'] as const;

/**
 * The first slice end to end, on real Kafka, Apicurio, PostgreSQL and embedded
 * ClickHouse: event type → trigger → gateway → ingested → validator → validated/rejected
 * → history → GET /v1/event-histories.
 */
describe('pipeline end to end', () => {
  let relay: RelayUnderTest;
  let registry: ContractRegistry;
  let kafka: Kafka;

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${relay.gatewayUrl}${path}`, {
      method,
      headers: {
        'x-api-key': relay.apiKey,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      // A string is sent as written (malformed JSON on purpose).
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { data?: unknown } };
  };

  const historyRow = (eventId: string) =>
    eventually(async () => {
      const res = await api('GET', `/v1/event-histories/${eventId}`);
      return res.status === 200 ? (res.body.data as Record<string, unknown>) : undefined;
    }, 30000);

  const storePurchase = storePurchaseType();

  beforeAll(async () => {
    relay = await startRelay({ services: INGESTION_ONLY });
    registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    await registry.registerAll();
    kafka = new Kafka({ brokers: relay.infra.brokers, clientId: 'e2e', logLevel: logLevel.NOTHING });
    const created = await api('POST', '/v1/events', storePurchase);
    expect(created.status).toBe(201);
  }, 180000);

  afterAll(async () => {
    await relay?.stop();
  }, 60000);

  it('declares an event type once; the code_name is unique per team', async () => {
    const again = await api('POST', '/v1/events', storePurchase);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ success: false, code: 'CODE_NAME_TAKEN' });
    const got = await api('GET', '/v1/events/store_purchase');
    expect(got.status).toBe(200);
    expect(got.body.data).toMatchObject({ code_name: 'store_purchase', version: 1, target: 'contact' });
  });

  it('accepts a valid trigger with 202 and the event reaches history as validated', async () => {
    const res = await api(
      'POST',
      '/v1/events/trigger/store_purchase',
      { contact: { email: 'Marie.Dupont@Example.com' }, metaData: { order_id: 12345, total_amount: 89.5, store_code: 'PAR-13' } },
      { 'spm-api-key': relay.apiKey, 'x-api-key': '' },
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ success: true, event_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    const row = await historyRow(res.body.event_id as string);
    expect(row).toMatchObject({
      event_id: res.body.event_id,
      team_id: relay.teamId,
      code_name: 'store_purchase',
      status: 'validated',
      dialect: 'shopimind',
      environment: 'production',
      schema_version: 1,
      contact_email: 'marie.dupont@example.com',
      errors: [],
    });
    expect(JSON.parse(row.payload as string) as unknown).toEqual({
      contact: { email: 'marie.dupont@example.com' },
      metaData: { order_id: 12345, total_amount: 89.5, store_code: 'PAR-13' },
    });

    const list = await api('GET', '/v1/event-histories?code_name=store_purchase&limit=10');
    expect(list.status).toBe(200);
    expect((list.body.data as { event_id: string }[]).map((r) => r.event_id)).toContain(res.body.event_id);
  });

  it('answers 400 with every error at once, in seed 000 form', async () => {
    const res = await api('POST', '/v1/events/trigger/store_purchase', {
      contact: { email: 'marie.dupont@example.com' },
      metaData: { order_id: '12345' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, success: false });
    expect(res.body.errors).toEqual(
      expect.arrayContaining(['Missing required property: metaData.total_amount', 'Invalid type for property: metaData.order_id. Expected number, got string']),
    );
  });

  it('answers 404 for an unknown code_name, 400 for malformed JSON, 401 without a valid key', async () => {
    const unknown = await api('POST', '/v1/events/trigger/nope', { contact: { id: '1' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'EVENT_TYPE_NOT_FOUND' });

    const malformed = await api('POST', '/v1/events/trigger/store_purchase', '{"contact": {');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ success: false, code: 'MALFORMED_JSON' });

    const noKey = await api('POST', '/v1/events/trigger/store_purchase', { contact: { id: '1' } }, { 'x-api-key': 'wrong' });
    expect(noKey.status).toBe(401);
    expect(noKey.body).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  const envelope = (overrides: Partial<EventEnvelope>): EventEnvelope =>
    makeEnvelope({
      team_id: relay.teamId,
      contact: makeContactRef({ id: 'c-42' }),
      meta_data_json: JSON.stringify({ order_id: 7, total_amount: 10.25 }),
      ...overrides,
    });

  const produce = async (messages: { key: string; value: Buffer }[]) => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: registry.topic('ingested'), acks: -1, messages });
    await producer.disconnect();
  };

  it('validates events produced straight to Kafka (wire format + registry) exactly like HTTP ones', async () => {
    const good = envelope({});
    const bad = envelope({ meta_data_json: JSON.stringify({ order_id: 8, total_amount: 1, coupon: 'X' }) });
    await produce([
      { key: `${relay.teamId}:contact:id:c-42`, value: await registry.encode('ingested', good) },
      { key: `${relay.teamId}:contact:id:c-42`, value: await registry.encode('ingested', bad) },
    ]);
    expect(await historyRow(good.event_id)).toMatchObject({ status: 'validated', dialect: 'kafka', contact_id: 'c-42' });
    const rejected = await historyRow(bad.event_id);
    expect(rejected).toMatchObject({ status: 'rejected', reason_code: 'INVALID_PAYLOAD' });
    expect(rejected.errors).toEqual([expect.stringContaining('metaData.coupon')]);
  });

  it('writes a schema id in the wire header that resolves through the ccompat API', async () => {
    const consumer = kafka.consumer({ groupId: `e2e-${uuidv7()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: registry.topic('validated'), fromBeginning: true });
    const first = await new Promise<Buffer>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value as Buffer) });
    });
    await consumer.disconnect();
    expect(first[0]).toBe(0);
    const id = first.readInt32BE(1);
    const res = await fetch(`${relay.infra.registryUrl}/schemas/ids/${id}`);
    expect(res.status).toBe(200);
    const schema = JSON.parse(((await res.json()) as { schema: string }).schema) as { name: string };
    expect(schema.name).toBe('EventEnvelope');
  });

  it('dead-letters garbage bytes on the ingested topic and keeps validating', async () => {
    await produce([{ key: 'garbage', value: Buffer.from('definitely not avro') }]);
    const after = envelope({});
    await produce([{ key: `${relay.teamId}:contact:id:c-42`, value: await registry.encode('ingested', after) }]);
    expect(await historyRow(after.event_id)).toMatchObject({ status: 'validated' });

    const consumer = kafka.consumer({ groupId: `e2e-${uuidv7()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: registry.topic('dlq'), fromBeginning: true });
    const letter = await new Promise<DeadLetter>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => resolve((await registry.decode('dlq', message.value)).value),
      });
    });
    await consumer.disconnect();
    expect(letter).toMatchObject({
      source_topic: registry.topic('ingested'),
      stage: 'validator',
      reason_code: 'UNDECODABLE',
    });
    expect(letter.value?.toString()).toBe('definitely not avro');

    const metrics = await (await fetch(`http://127.0.0.1:${relay.ports.validator}/metrics`)).text();
    expect(metrics).toMatch(/relay_dlq_messages_total\{[^}]*reason="UNDECODABLE"[^}]*\} 1/);
  });

  describe('event type lifecycle (seed 000)', () => {
    const loyalty = {
      name: 'Points earned',
      code_name: 'loyalty.points_earned',
      properties: { metaData: [{ name: 'points', type: 'number', required: true }] },
    };

    it('versions every update, and each event records the version it was validated against', async () => {
      expect((await api('POST', '/v1/events', loyalty)).status).toBe(201);
      const v1 = await api('POST', '/v1/events/trigger/loyalty.points_earned', { contact: { id: 'p1' }, metaData: { points: 10 } });
      expect(v1.status).toBe(202);

      const patched = await api('PATCH', '/v1/events/loyalty.points_earned', {
        properties: {
          metaData: [
            { name: 'points', type: 'number', required: true },
            { name: 'tier', type: 'text', required: false },
          ],
        },
      });
      expect(patched.status).toBe(200);
      expect(patched.body.data).toMatchObject({ version: 2 });
      const v2 = await api('POST', '/v1/events/trigger/loyalty.points_earned', { contact: { id: 'p1' }, metaData: { points: 5, tier: 'gold' } });
      expect(v2.status).toBe(202);

      expect(await historyRow(v1.body.event_id as string)).toMatchObject({ schema_version: 1 });
      expect(await historyRow(v2.body.event_id as string)).toMatchObject({ schema_version: 2 });
    });

    it('renaming rotates the trigger URL at once: the old code_name answers 404', async () => {
      const renamed = await api('PATCH', '/v1/events/loyalty.points_earned', { code_name: 'Loyalty.PointsEarned' });
      expect(renamed.status).toBe(200);
      expect((await api('POST', '/v1/events/trigger/loyalty.points_earned', { contact: { id: 'p1' }, metaData: { points: 1 } })).status).toBe(404);
      expect((await api('POST', '/v1/events/trigger/Loyalty.PointsEarned', { contact: { id: 'p1' }, metaData: { points: 1 } })).status).toBe(202);
    });

    it('refuses a bad code_name saying which rule failed', async () => {
      const res = await api('POST', '/v1/events', { ...loyalty, code_name: 'store purchase' });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.stringContaining('must not contain spaces')]));
    });

    it('lists event types with cursor pagination, every type once', async () => {
      for (const code of ['page_a', 'page_b', 'page_c']) {
        expect((await api('POST', '/v1/events', { name: code, code_name: code, properties: {} })).status).toBe(201);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: Record<string, unknown> } = await api('GET', `/v1/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...(page.body.data as { code_name: string }[]).map((t) => t.code_name));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining(['page_a', 'page_b', 'page_c', 'store_purchase', 'Loyalty.PointsEarned']));
    });

    it('deleting is irreversible: the trigger answers 404 afterwards', async () => {
      expect((await api('DELETE', '/v1/events/page_c')).status).toBe(200);
      expect((await api('GET', '/v1/events/page_c')).status).toBe(404);
      expect((await api('POST', '/v1/events/trigger/page_c', { contact: { id: 'x' } })).status).toBe(404);
    });

    it('answers 413 for a body over the limit, without crashing', async () => {
      const huge = { contact: { id: 'x' }, metaData: { order_id: 1, total_amount: 1, store_code: 'x'.repeat(300 * 1024) } };
      const res = await api('POST', '/v1/events/trigger/store_purchase', huge);
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect((await api('GET', '/v1/events/store_purchase')).status).toBe(200);
    });
  });
});

/**
 * Every service, the dispatcher included, delivering to a real local receiver: the
 * trigger status (seed 003) says what the event history says, delivery by delivery.
 */
describe('trigger tracking end to end, through delivery', () => {
  let relay: RelayUnderTest;
  let receiver: Server;
  let receiverUrl: string;
  const received: string[] = [];

  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
    callJson<T>(`${relay.gatewayUrl}${path}`, method, body, { 'x-api-key': relay.apiKey });

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverTarget = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    receiverUrl = `http://${receiverTarget}/hook`;
    relay = await startRelay({
      services: ['gateway', 'validator', 'matcher', 'dispatcher', 'history'],
      env: { RELAY_WEBHOOK_ALLOWED_TARGETS: receiverTarget, RELAY_WEBHOOK_POLL_MS: '50', RELAY_WEBHOOK_ENDPOINT_CACHE_MS: '200' },
    });
  }, 180000);

  afterAll(async () => {
    await relay?.stop();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  }, 60000);

  it('says completed once delivered, with sent equal to the delivered deliveries of the event history', async () => {
    const type = { name: 'Order shipped', code_name: 'order_shipped', properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] } };
    expect((await api('POST', '/v1/events', type)).status).toBe(201);
    expect((await api('PUT', '/v1/contacts/c-ship', { email: 'ship@example.com', tags: ['vip'] })).status).toBe(201);
    // Subscribed to the event type (one subscription delivery) and the target of a scenario action.
    const endpoint = await api<{ data: { id: string } }>('POST', '/v1/webhooks', { url: receiverUrl, events: ['order_shipped'] });
    expect(endpoint.status).toBe(201);
    const scenario = (body: Record<string, unknown>) =>
      api('POST', '/v1/scenarios', { code_names: ['order_shipped'], actions: [{ type: 'webhook', webhook_id: endpoint.body.data.id }], ...body });
    expect((await scenario({ name: 'shipped' })).status).toBe(201);
    expect((await scenario({ name: 'newcomers only', tags: { any: ['new'] } })).status).toBe(201);

    const fired = await api<{ event_id: string }>('POST', '/v1/events/trigger/order_shipped', {
      contact: { email: 'ship@example.com' },
      metaData: { order_id: 1 },
    });
    expect(fired.status).toBe(202);
    const eventId = fired.body.event_id;

    type Status = { status: string; completed_at: string | null; summary: Record<string, number> };
    const status = await eventually(async () => {
      const res = await api<Status>('GET', `/api/v1/triggers/${eventId}`);
      return res.status === 200 && res.body.status === 'completed' ? res.body : undefined;
    }, 60000);
    const history = await api<{ data: { deliveries: { kind: string; status: string }[] } }>('GET', `/v1/event-histories/${eventId}`);
    expect(history.status).toBe(200);
    const delivered = history.body.data.deliveries.filter((d) => d.status === 'delivered' && d.kind !== 'relay');
    expect(delivered.map((d) => d.kind).sort()).toEqual(['scenario_action', 'subscription']);
    expect(status.summary).toEqual({ total_contacts: 1, sent: delivered.length, failed: 0, filtered: 1, scheduled: 0, cancelled: 0, pending: 0 });
    expect(status.completed_at).not.toBeNull();
    expect(received.filter((body) => body.includes(eventId))).toHaveLength(2);

    type Workflow = {
      contact: { id: string } | null;
      scenarios: { name: string; outcome: string; actions: Record<string, unknown>[] }[];
      subscriptions: Record<string, unknown>[];
    };
    const workflow = (await api<Workflow>('GET', `/api/v1/triggers/${eventId}/workflow`)).body;
    expect(workflow.contact).toMatchObject({ id: 'c-ship', matched_by: 'email' });
    const shipped = workflow.scenarios.find((s) => s.name === 'shipped');
    expect(shipped).toMatchObject({ outcome: 'matched', actions: [{ planned: 'produced', status: 'delivered', attempts: 1, last_http_status: 200 }] });
    expect(workflow.scenarios.find((s) => s.name === 'newcomers only')?.outcome).toBe('filtered');
    expect(workflow.subscriptions).toEqual([expect.objectContaining({ endpoint_id: endpoint.body.data.id, status: 'delivered', attempts: 1 })]);
  });
});
