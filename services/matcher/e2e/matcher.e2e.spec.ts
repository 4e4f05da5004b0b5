import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, type WebhookDelivery } from '@relay/contracts';
import { eventually, startRelay, type RelayUnderTest } from '@relay/testing';

// P2D scaled to about 4 s (the test-only RELAY_DELAY_SCALE); production uses 1.
const DELAY_SCALE = 4 / (2 * 86400);

/**
 * Scenarios on the real pipeline (gateway → validator → matcher → deliveries topic and
 * history), with the matcher's PostgreSQL cooldowns, scheduler and trigger tracking.
 */
interface TriggerBody {
  id: string;
  status: string;
  outcome: string;
  started_at: string | null;
  summary: Record<string, number>;
  details_endpoint: string;
}
interface WorkflowBody {
  scenarios: { scenario_id: string; outcome: string; reason?: string; actions: { due_at?: string }[] }[];
}
interface HistoryBody {
  data: { status: string; reason_code: string; code_name: string };
}
interface DataBody {
  id?: string;
  data: { status: string };
}

describe('matcher end to end', () => {
  let relay: RelayUnderTest;
  let registry: ContractRegistry;
  let consumer: Consumer;
  let pg: Client;
  const deliveries: (WebhookDelivery & { seenAt: number })[] = [];
  let endpoint: string;

  const api = async <T = DataBody>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${relay.gatewayUrl}${path}`, {
      method,
      headers: { 'x-api-key': relay.apiKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };

  const eventType = async (codeName: string) => {
    const res = await api('POST', '/v1/events', {
      name: codeName,
      code_name: codeName,
      properties: { metaData: [{ name: 'total_amount', type: 'decimal', required: true }, { name: 'store_code', type: 'text', required: false }] },
    });
    expect(res.status).toBe(201);
  };

  const scenario = async (body: Record<string, unknown>): Promise<string> => {
    const res = await api('POST', '/v1/scenarios', { name: 'scenario', actions: [{ type: 'webhook', webhook_id: endpoint }], ...body });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  const fire = async (codeName: string, contact: Record<string, unknown>, metaData: Record<string, unknown> = { total_amount: 10 }) => {
    const res = await api('POST', `/v1/events/trigger/${codeName}`, { contact, metaData });
    expect(res.status).toBe(202);
    return (res.body as unknown as { event_id: string }).event_id;
  };

  const trigger = (eventId: string, until: (body: TriggerBody) => boolean = (b) => b.started_at != null) =>
    eventually(async () => {
      const res = await api<TriggerBody>('GET', `/api/v1/triggers/${eventId}`);
      return res.status === 200 && until(res.body) ? res.body : undefined;
    }, 30000);

  const deliveredFor = (eventId: string) => deliveries.filter((d) => d.event_id === eventId);

  beforeAll(async () => {
    relay = await startRelay({
      services: ['gateway', 'validator', 'matcher', 'history'],
      env: { RELAY_DELAY_SCALE: String(DELAY_SCALE), RELAY_SCHEDULER_POLL_MS: '100' },
    });
    registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    await registry.registerAll();
    pg = new Client({ connectionString: relay.pgUrl });
    await pg.connect();
    // The dispatcher's endpoints table exists in this database (its migration ships with
    // Relay), so scenarios check webhook ids against it: insert one endpoint row directly.
    endpoint = uuidv7();
    await pg.query(
      `INSERT INTO webhook_endpoints (id, team_id, url, events, environment, secret_enc) VALUES ($1, $2, 'https://example.com/hook', '{}', 'production', $3)`,
      [endpoint, relay.teamId, randomBytes(32)],
    );
    const kafka = new Kafka({ brokers: relay.infra.brokers, clientId: 'e2e-matcher', logLevel: logLevel.NOTHING });
    consumer = kafka.consumer({ groupId: `e2e-${uuidv7()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: registry.topic('deliveries'), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const { value } = await registry.decode('deliveries', message.value);
        deliveries.push({ ...value, seenAt: Date.now() });
      },
    });
  }, 180000);

  afterAll(async () => {
    await consumer?.disconnect();
    await pg?.end();
    await relay?.stop();
  }, 60000);

  it('fires matching scenarios as deliveries and counts a 3-scenario fan-out exactly', async () => {
    await eventType('store_purchase');
    const put = await api('PUT', '/v1/contacts/c-marie', { email: 'Marie@Example.com', name: 'Marie', tags: ['vip'], custom_data: { tier: 'gold' } });
    expect(put.status).toBe(201);
    expect((await api('PUT', '/v1/contacts/c-marie', { name: 'Marie D.' })).status).toBe(200);
    const templated = await scenario({
      name: 'thanks',
      code_names: ['store_purchase'],
      variables: { brand: 'Relay' },
      actions: [{ type: 'webhook', webhook_id: endpoint, template: '{"to":"{{contact.email}}","total":{{event.metaData.total_amount}},"brand":"{{brand}}"}' }],
    });
    const second = await scenario({ name: 'vip', code_names: ['store_purchase'], tags: { any: ['vip'] } });
    const filtered = await scenario({ name: 'big spenders', code_names: ['store_purchase'], filter: { '>': [{ var: 'event.metaData.total_amount' }, 1000] } });

    const eventId = await fire('store_purchase', { email: 'marie@example.com' }, { total_amount: 89.5, store_code: 'PAR-13' });
    const status = await trigger(eventId);
    expect(status).toMatchObject({
      id: eventId,
      status: 'completed',
      summary: { total_contacts: 1, sent: 2, failed: 0, filtered: 1, scheduled: 0 },
      details_endpoint: `/triggers/${eventId}/workflow`,
    });
    const workflow = (await api<WorkflowBody>('GET', `/v1/triggers/${eventId}/workflow`)).body;
    const outcomeOf = (id: string) => workflow.scenarios.find((s) => s.scenario_id === id);
    expect(outcomeOf(templated)?.outcome).toBe('matched');
    expect(outcomeOf(second)?.outcome).toBe('matched');
    expect(outcomeOf(filtered)).toMatchObject({ outcome: 'filtered', reason: 'filter: filter did not hold' });

    const produced = await eventually(async () => (deliveredFor(eventId).length >= 2 ? deliveredFor(eventId) : undefined));
    const mine = produced.find((d) => d.scenario_id === templated) as WebhookDelivery;
    expect(mine).toMatchObject({ kind: 'scenario_action', endpoint_id: endpoint, code_name: 'store_purchase', action_index: 0 });
    expect(JSON.parse(mine.payload_json)).toEqual({ to: 'marie@example.com', total: 89.5, brand: 'Relay' });
    expect(JSON.parse(mine.contact_json ?? '{}')).toMatchObject({ id: 'c-marie', name: 'Marie D.', tags: ['vip'] });

    const history = await eventually(async () => {
      const res = await api<HistoryBody>('GET', `/v1/event-histories/${eventId}`);
      return res.status === 200 && res.body.data.status === 'matched' ? res.body.data : undefined;
    });
    expect(history.code_name).toBe('store_purchase');
  });

  it('judges tag, attribute and payload filters (table-driven, one event per contact)', async () => {
    await eventType('filter_test');
    await api('PUT', '/v1/contacts/f-vip', { email: 'vip@example.com', tags: ['vip', 'fr'], custom_data: { tier: 'gold', age: 41 } });
    await api('PUT', '/v1/contacts/f-new', { email: 'new@example.com', tags: ['new'], custom_data: { tier: 'none' } });
    const table: { name: string; body: Record<string, unknown>; vip: string; fresh: string }[] = [
      { name: 'tags any', body: { tags: { any: ['vip', 'x'] } }, vip: 'matched', fresh: 'filtered' },
      { name: 'tags all', body: { tags: { all: ['vip', 'fr'] } }, vip: 'matched', fresh: 'filtered' },
      { name: 'tags none', body: { tags: { none: ['vip'] } }, vip: 'filtered', fresh: 'matched' },
      { name: 'attribute', body: { filter: { '==': [{ var: 'contact.custom_data.tier' }, 'gold'] } }, vip: 'matched', fresh: 'filtered' },
      { name: 'attribute number', body: { filter: { '>=': [{ var: 'contact.custom_data.age' }, 18] } }, vip: 'matched', fresh: 'filtered' },
      { name: 'payload', body: { filter: { '==': [{ var: 'event.metaData.store_code' }, 'PAR-13'] } }, vip: 'matched', fresh: 'matched' },
      { name: 'payload miss', body: { filter: { '>': [{ var: 'event.metaData.total_amount' }, 500] } }, vip: 'filtered', fresh: 'filtered' },
      { name: 'paused', body: { status: 'paused' }, vip: 'paused', fresh: 'paused' },
    ];
    const ids = new Map<string, (typeof table)[number]>();
    for (const row of table) ids.set(await scenario({ name: row.name, code_names: ['filter_test'], ...row.body }), row);
    const vipEvent = await fire('filter_test', { email: 'vip@example.com' }, { total_amount: 20, store_code: 'PAR-13' });
    const newEvent = await fire('filter_test', { email: 'new@example.com' }, { total_amount: 20, store_code: 'PAR-13' });
    for (const [eventId, column] of [[vipEvent, 'vip'], [newEvent, 'fresh']] as const) {
      await trigger(eventId);
      const workflow = (await api<WorkflowBody>('GET', `/v1/triggers/${eventId}/workflow`)).body;
      const got = Object.fromEntries(workflow.scenarios.map((s) => [ids.get(s.scenario_id)?.name, s.outcome]));
      expect(got).toEqual(Object.fromEntries(table.map((r) => [r.name, r[column]])));
    }
  });

  it('fires a cooldown scenario once for 50 concurrent events of one contact', async () => {
    await eventType('cool_test');
    await api('PUT', '/v1/contacts/c-cool', { email: 'cool@example.com' });
    const id = await scenario({ name: 'once a day', code_names: ['cool_test'], cooldown: 'PT24H' });
    const events = await Promise.all(Array.from({ length: 50 }, () => fire('cool_test', { email: 'cool@example.com' })));
    await eventually(async () => {
      const { rows } = await pg.query<{ n: string }>('SELECT count(*) AS n FROM triggers WHERE id = ANY ($1)', [events]);
      return Number(rows[0]?.n) === 50 ? true : undefined;
    });
    const { rows } = await pg.query<{ sent: string; cooldown: string }>(
      `SELECT sum(sent) AS sent, sum(filtered) AS cooldown FROM triggers WHERE id = ANY ($1)`,
      [events],
    );
    expect(Number(rows[0]?.sent)).toBe(1);
    expect(Number(rows[0]?.cooldown)).toBe(49);
    await new Promise((r) => setTimeout(r, 1000));
    expect(deliveries.filter((d) => d.scenario_id === id)).toHaveLength(1);
  });

  it('cancels pending scheduled actions when the scenario is paused', async () => {
    await eventType('paused_test');
    await api('PUT', '/v1/contacts/c-pause', { email: 'pause@example.com' });
    const id = await scenario({ name: 'later', code_names: ['paused_test'], actions: [{ type: 'webhook', webhook_id: endpoint, delay: 'P2D' }] });
    const eventId = await fire('paused_test', { email: 'pause@example.com' });
    await trigger(eventId, (b) => b.status === 'scheduled');
    expect((await api('PATCH', `/v1/scenarios/${id}`, { status: 'paused' })).status).toBe(200);
    const after = await trigger(eventId);
    expect(after).toMatchObject({ status: 'completed', summary: { scheduled: 0, cancelled: 1, sent: 0 } });
    await new Promise((r) => setTimeout(r, 5000)); // past the scaled P2D
    expect(deliveredFor(eventId)).toHaveLength(0);
  });

  it('records an unknown contact as no_target in history and trigger status, firing nothing', async () => {
    await eventType('nobody_test');
    await scenario({ name: 'anyone', code_names: ['nobody_test'] });
    const eventId = await fire('nobody_test', { email: 'nobody@example.com' });
    expect(await trigger(eventId)).toMatchObject({ outcome: 'no_target', summary: { total_contacts: 0, sent: 0 } });
    const history = await eventually(async () => {
      const res = await api<HistoryBody>('GET', `/v1/event-histories/${eventId}`);
      return res.status === 200 && res.body.data.status === 'no_target' ? res.body.data : undefined;
    });
    expect(history.reason_code).toBe('CONTACT_NOT_FOUND');
    expect(deliveredFor(eventId)).toHaveLength(0);
  });

  it('links scenarios by code_name declared first, and stops them when the event type is deleted', async () => {
    const id = await scenario({ name: 'early', code_names: ['later_type'] });
    await eventType('later_type');
    await api('PUT', '/v1/contacts/c-early', { phone: '+33612345678' });
    const eventId = await fire('later_type', { phone: '+33 6 12 34 56 78' });
    expect((await trigger(eventId)).summary.sent).toBe(1);
    expect((await api('DELETE', '/v1/events/later_type')).status).toBe(200);
    expect((await api('GET', `/v1/scenarios/${id}`)).body.data.status).toBe('stopped');
    const other = await relay.addTeam();
    expect((await api('GET', `/v1/scenarios/${id}`, undefined, { 'x-api-key': other.apiKey })).status).toBe(404);
  });

  // Last: after a SIGKILL the consumer group waits for the dead member's session to
  // expire before the restarted matcher consumes again, which would delay later tests.
  it('releases a delayed action once, after its due time, across a matcher crash and restart', async () => {
    await eventType('delivered');
    await api('PUT', '/v1/contacts/c-review', { email: 'review@example.com' });
    const id = await scenario({ name: 'review request', code_names: ['delivered'], actions: [{ type: 'webhook', webhook_id: endpoint, delay: 'P2D' }] });
    const eventId = await fire('delivered', { email: 'review@example.com' });
    const scheduled = await trigger(eventId, (b) => b.status === 'scheduled');
    expect(scheduled.summary).toMatchObject({ sent: 0, scheduled: 1 });
    const workflow = (await api<WorkflowBody>('GET', `/v1/triggers/${eventId}/workflow`)).body;
    const dueAt = Date.parse(workflow.scenarios[0]?.actions[0]?.due_at ?? '');

    await relay.services.kill('matcher', 'SIGKILL');
    await relay.services.start('matcher');

    const [delivery] = await eventually(async () => (deliveredFor(eventId).length ? deliveredFor(eventId) : undefined), 30000);
    expect(delivery?.scenario_id).toBe(id);
    expect(delivery?.seenAt).toBeGreaterThanOrEqual(dueAt);
    await new Promise((r) => setTimeout(r, 1500));
    expect(deliveredFor(eventId)).toHaveLength(1);
    expect((await trigger(eventId, (b) => b.status === 'completed')).summary).toMatchObject({ sent: 1, scheduled: 0 });
  });
});
