import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Client } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry, type WebhookDelivery } from '@relay/contracts';
import { callJson, eventually, startRelay, type RelayUnderTest } from '@relay/testing';

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
  scenarios: { scenario_id: string; outcome: string; reason: string | null; actions: { due_at: string | null; status: string; planned: string }[] }[];
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
  const deliveries: (WebhookDelivery & { seenAt: number; producedAt: number })[] = [];
  let endpoint: string;

  const api = <T = DataBody>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    callJson<T>(`${relay.gatewayUrl}${path}`, method, body, { 'x-api-key': relay.apiKey, ...headers });

  const eventType = async (codeName: string) => {
    const res = await api('POST', '/v1/events', {
      name: codeName,
      code_name: codeName,
      properties: {
        metaData: [
          { name: 'total_amount', type: 'decimal', required: true },
          { name: 'store_code', type: 'text', required: false },
        ],
      },
    });
    expect(res.status).toBe(201);
  };

  const scenario = async (body: Record<string, unknown>): Promise<string> => {
    const res = await api('POST', '/v1/scenarios', { name: 'scenario', actions: [{ type: 'webhook', webhook_id: endpoint }], ...body });
    expect(res.status).toBe(201);
    return (res.body.data as unknown as { id: string }).id;
  };

  const fire = async (codeName: string, contact: Record<string, unknown>, metaData: Record<string, unknown> = { total_amount: 10 }) => {
    const res = await api('POST', `/v1/events/trigger/${codeName}`, { contact, metaData });
    expect(res.status).toBe(202);
    return (res.body as unknown as { event_id: string }).event_id;
  };

  // Sendmator-style event type: event_data maps to customData (docs/ingestion.md).
  const sendType = async (codeName: string) => {
    const res = await api('POST', '/v1/events', {
      name: codeName,
      code_name: codeName,
      properties: { customData: [{ name: 'plan', type: 'text', required: false }] },
    });
    expect(res.status).toBe(201);
  };

  const send = (path: 'send' | 'trigger', body: Record<string, unknown>) =>
    api<Record<string, unknown>>('POST', `/api/v1/events/${path}`, body, { 'x-team-id': relay.teamId });

  const trigger = (eventId: string, until: (body: TriggerBody) => boolean = (b) => b.started_at != null) =>
    eventually(async () => {
      const res = await api<TriggerBody>('GET', `/api/v1/triggers/${eventId}`);
      return res.status === 200 && until(res.body) ? res.body : undefined;
    }, 30000);

  /**
   * The trigger status once it matches `expected` (it follows the event history, which
   * the history service writes a moment after each stage); on timeout, the last mismatch.
   * These specs run without the dispatcher: produced actions are never attempted, so they
   * stay `pending` and the trigger `processing`.
   */
  const triggerMatching = (eventId: string, expected: Record<string, unknown>) =>
    eventually(async () => {
      const res = await api<TriggerBody>('GET', `/api/v1/triggers/${eventId}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject(expected);
      return res.body;
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
        // The record's timestamp is the producer's send time (CreateTime): when it was released.
        deliveries.push({ ...value, seenAt: Date.now(), producedAt: Number(message.timestamp) });
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
    await triggerMatching(eventId, {
      id: eventId,
      status: 'processing',
      outcome: 'matched',
      contact_id: 'c-marie',
      summary: { total_contacts: 1, sent: 0, failed: 0, filtered: 1, scheduled: 0, cancelled: 0, pending: 2 },
      details_endpoint: `/triggers/${eventId}/workflow`,
    });
    const workflow = (await api<WorkflowBody>('GET', `/v1/triggers/${eventId}/workflow`)).body;
    const outcomeOf = (id: string) => workflow.scenarios.find((s) => s.scenario_id === id);
    expect(outcomeOf(templated)).toMatchObject({ outcome: 'matched', actions: [{ planned: 'produced', status: 'pending', attempts: 0 }] });
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
    for (const [eventId, column] of [
      [vipEvent, 'vip'],
      [newEvent, 'fresh'],
    ] as const) {
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
    // The cancellation reaches history through the scheduler's report (next poll).
    await triggerMatching(eventId, { status: 'completed', summary: { scheduled: 0, cancelled: 1, sent: 0, pending: 0 } });
    const workflow = (await api<WorkflowBody>('GET', `/v1/triggers/${eventId}/workflow`)).body;
    expect(workflow.scenarios[0]?.actions[0]).toMatchObject({ planned: 'scheduled', status: 'cancelled', attempts: 0, last_error: 'paused' });
    await new Promise((r) => setTimeout(r, 5000)); // past the scaled P2D
    expect(deliveredFor(eventId)).toHaveLength(0);
  });

  it('records an unknown contact as no_target in history and trigger status, firing nothing', async () => {
    await eventType('nobody_test');
    await scenario({ name: 'anyone', code_names: ['nobody_test'] });
    const eventId = await fire('nobody_test', { email: 'nobody@example.com' });
    await triggerMatching(eventId, { outcome: 'no_target', summary: expect.objectContaining({ total_contacts: 0, sent: 0 }) });
    const history = await eventually(async () => {
      const res = await api<HistoryBody>('GET', `/v1/event-histories/${eventId}`);
      return res.status === 200 && res.body.data.status === 'no_target' ? res.body.data : undefined;
    });
    expect(history.reason_code).toBe('CONTACT_NOT_FOUND');
    expect(deliveredFor(eventId)).toHaveLength(0);
  });

  it('records a known contact that fired nothing as unmatched, and tracking says completed, not queued', async () => {
    await eventType('quiet_test');
    await api('PUT', '/v1/contacts/c-quiet', { email: 'quiet@example.com' });
    const eventId = await fire('quiet_test', { email: 'quiet@example.com' });
    const done = await trigger(eventId, (b) => b.status === 'completed');
    expect(done).toMatchObject({ outcome: 'unmatched', contact_id: 'c-quiet', summary: { total_contacts: 1, sent: 0, filtered: 0, pending: 0 } });
    const history = (await api<HistoryBody>('GET', `/v1/event-histories/${eventId}`)).body.data;
    expect([history.status, history.reason_code]).toEqual(['unmatched', 'NO_SCENARIO_SUBSCRIBED']);
    // Sent by email, found by the contact's id: the filter also matches the resolved contact.
    const byContact = await api<{ data: { event_id: string }[] }>('GET', '/v1/event-histories?contact_id=c-quiet');
    expect(byContact.body.data.map((r) => r.event_id)).toEqual([eventId]);
  });

  it('links scenarios by code_name declared first, and stops them when the event type is deleted', async () => {
    const id = await scenario({ name: 'early', code_names: ['later_type'] });
    await eventType('later_type');
    await api('PUT', '/v1/contacts/c-early', { phone: '+33612345678' });
    const eventId = await fire('later_type', { phone: '+33 6 12 34 56 78' });
    expect((await trigger(eventId)).summary).toMatchObject({ sent: 0, pending: 1 });
    expect((await api('DELETE', '/v1/events/later_type')).status).toBe(200);
    expect((await api('GET', `/v1/scenarios/${id}`)).body.data.status).toBe('stopped');
    const other = await relay.addTeam();
    expect((await api('GET', `/v1/scenarios/${id}`, undefined, { 'x-api-key': other.apiKey })).status).toBe(404);
  });

  it('holds a Sendmator trigger_at event until its time, then produces its delivery', async () => {
    await sendType('later_send');
    await api('PUT', '/v1/contacts/c-later', { external_id: 'ext-later', email: 'later@example.com' });
    const id = await scenario({ name: 'at trigger_at', code_names: ['later_send'] });
    const triggerAt = new Date(Date.now() + 2000);
    const res = await send('send', { event_name: 'later_send', user_info: { contact_external_id: 'ext-later' }, trigger_at: triggerAt.toISOString() });
    expect(res.status).toBe(201);
    expect(res.body.scheduled_for).toBe(triggerAt.toISOString());
    const eventId = res.body.trigger_id as string;

    const decided = await trigger(eventId);
    if (Date.now() < triggerAt.getTime() - 100) {
      // The matcher decided before trigger_at (the usual case): nothing may be out yet.
      expect(decided).toMatchObject({ status: 'scheduled', summary: { sent: 0, scheduled: 1 } });
      expect(deliveredFor(eventId)).toHaveLength(0);
    }
    const workflow = (await api<WorkflowBody>('GET', `/api/v1/triggers/${eventId}/workflow`)).body;
    expect(workflow.scenarios[0]?.actions[0]?.due_at).toBe(triggerAt.toISOString());

    const [delivery] = await eventually(async () => (deliveredFor(eventId).length ? deliveredFor(eventId) : undefined), 15000);
    expect(delivery?.scenario_id).toBe(id);
    expect(delivery?.producedAt).toBeGreaterThanOrEqual(triggerAt.getTime());
    // Released within the scheduler's 1 s budget (the test polls every 100 ms), counted from
    // trigger_at or from when the matcher stored it if the pipeline was slower than 2 s.
    const stored = Math.max(triggerAt.getTime(), Date.parse(decided.started_at ?? ''));
    expect((delivery?.producedAt ?? Infinity) - stored).toBeLessThan(1000);
    // Due and released: on its way (no dispatcher here to deliver it).
    await triggerMatching(eventId, { status: 'processing', summary: { sent: 0, scheduled: 0, pending: 1 } });
  });

  it('creates the contact a Sendmator user_info names when nobody is known; a seed 000 unknown contact stays no_target', async () => {
    await sendType('signup_send');
    await scenario({
      name: 'welcome pro',
      code_names: ['signup_send'],
      filter: { '==': [{ var: 'contact.custom_data.plan' }, 'pro'] },
      actions: [{ type: 'webhook', webhook_id: endpoint, template: '{"to":"{{contact.email}}","name":"{{contact.name}}"}' }],
    });
    const res = await send('send', {
      event_name: 'signup_send',
      user_info: { contact_external_id: 'new-42', email: 'New.Person@Example.com', name: 'New Person', custom_fields: { plan: 'pro' } },
      event_data: { plan: 'trial' },
    });
    expect(res.status).toBe(201);
    const eventId = res.body.trigger_id as string;
    expect(await trigger(eventId)).toMatchObject({ outcome: 'matched', summary: { total_contacts: 1, sent: 0, pending: 1, filtered: 0 } });
    const created = await api<{ data: Record<string, unknown> }>('GET', '/v1/contacts?external_id=new-42');
    expect(created.status).toBe(200);
    expect(created.body.data).toMatchObject({ external_id: 'new-42', email: 'new.person@example.com', name: 'New Person', custom_data: { plan: 'pro' } });
    const [delivery] = await eventually(async () => (deliveredFor(eventId).length ? deliveredFor(eventId) : undefined));
    expect(JSON.parse(delivery?.payload_json ?? '{}')).toEqual({ to: 'new.person@example.com', name: 'New Person' });

    // A second event for the same person resolves to that contact (no duplicate).
    const again = await send('send', { event_name: 'signup_send', user_info: { email: 'new.person@example.com', name: 'N. Person' } });
    const second = await trigger(again.body.trigger_id as string);
    expect(second.summary.total_contacts).toBe(1);
    const { rows } = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM contacts WHERE team_id = $1 AND email = 'new.person@example.com'`, [
      relay.teamId,
    ]);
    expect(Number(rows[0]?.n)).toBe(1);

    // ShopiMind-style (seed 000): an unknown contact is referenced, not described: no_target, nobody created.
    const ghost = await api('POST', '/v1/events/trigger/signup_send', { contact: { email: 'ghost@example.com' }, customData: { plan: 'pro' } });
    expect(ghost.status).toBe(202);
    const ghostId = (ghost.body as unknown as { event_id: string }).event_id;
    expect(await trigger(ghostId)).toMatchObject({ outcome: 'no_target', summary: { total_contacts: 0 } });
    expect((await api('GET', '/v1/contacts?email=ghost@example.com')).status).toBe(404);
  });

  it('dry-runs a Sendmator event: which scenarios would fire and why not, with no side effect', async () => {
    await sendType('dry_send');
    await api('PUT', '/v1/contacts/c-dry', { external_id: 'ext-dry', email: 'dry@example.com', tags: ['vip'] });
    const ids = {
      fires: await scenario({
        name: 'fires',
        code_names: ['dry_send'],
        actions: [{ type: 'webhook', webhook_id: endpoint, template: '{"hi":"{{contact.name}}"}' }],
      }),
      tags: await scenario({ name: 'no vips', code_names: ['dry_send'], tags: { none: ['vip'] } }),
      payload: await scenario({ name: 'pro only', code_names: ['dry_send'], filter: { '==': [{ var: 'event.customData.plan' }, 'pro'] } }),
      paused: await scenario({ name: 'paused', code_names: ['dry_send'], status: 'paused' }),
      cooled: await scenario({ name: 'daily', code_names: ['dry_send'], cooldown: 'PT24H' }),
      later: await scenario({ name: 'later', code_names: ['dry_send'], actions: [{ type: 'webhook', webhook_id: endpoint, delay: 'P2D' }] }),
    };
    await pg.query(`INSERT INTO scenario_cooldowns (scenario_id, contact_id, last_fired_at, last_event_id) VALUES ($1, 'c-dry', now(), 'earlier')`, [
      ids.cooled,
    ]);
    const admin = new Kafka({ brokers: relay.infra.brokers, clientId: 'e2e-dry', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const snapshot = async () => {
      const offsets = await admin.fetchTopicOffsets(registry.topic('ingested'));
      const { rows } = await pg.query<{ state: string }>(
        `SELECT (SELECT count(*) FROM contacts WHERE team_id = $1) || '/' || (SELECT count(*) FROM scenario_cooldowns) || '/' ||
                (SELECT count(*) FROM triggers WHERE team_id = $1) || '/' || (SELECT count(*) FROM scheduled_actions) || '/' ||
                (SELECT updated_at FROM contacts WHERE team_id = $1 AND id = 'c-dry') AS state`,
        [relay.teamId],
      );
      return `${offsets.map((o) => o.high).join(',')}|${rows[0]?.state}|${deliveries.length}`;
    };
    const before = await snapshot();

    const res = await send('trigger', { event_name: 'dry_send', user_info: { contact_external_id: 'ext-dry', name: 'Dry Run' }, event_data: { plan: 'free' } });
    expect(res.status).toBe(200);
    const body = res.body as unknown as {
      outcome: string;
      contact: { id: string; matched_by: string; would_create: boolean; data: { name: string } };
      summary: Record<string, number>;
      scenarios: { scenario_id: string; outcome: string; reason?: string; deliveries: { due_at: string | null; payload: string }[] }[];
    };
    expect(body).toMatchObject({ success: true, dry_run: true, outcome: 'matched', contact: { id: 'c-dry', matched_by: 'id', would_create: false } });
    expect(body.contact.data.name).toBe('Dry Run'); // user_info merged as the matcher would, in memory only
    const got = Object.fromEntries(body.scenarios.map((s) => [s.scenario_id, s]));
    expect(got[ids.fires]).toMatchObject({ outcome: 'matched', deliveries: [{ due_at: null, payload: '{"hi":"Dry Run"}' }] });
    expect(got[ids.tags]).toMatchObject({ outcome: 'filtered', reason: 'tags: contact has excluded tag vip' });
    expect(got[ids.payload]).toMatchObject({ outcome: 'filtered', reason: 'filter: filter did not hold' });
    expect(got[ids.paused]?.outcome).toBe('paused');
    expect(got[ids.cooled]).toMatchObject({ outcome: 'cooldown', reason: 'fired within PT24H' });
    expect(got[ids.later]?.outcome).toBe('scheduled');
    expect(Date.parse(got[ids.later]?.deliveries[0]?.due_at ?? '')).toBeGreaterThan(Date.now() + 86400_000);
    expect(body.summary).toEqual({ scenarios: 6, would_fire: 2, filtered: 4, deliveries: 1, scheduled: 1, failed: 0 });

    // Unknown contact: its user_info identifier would create it (a Sendmator event always
    // carries one: the validator requires user_info), so the dry run judges the new profile.
    const fresh = await send('trigger', { event_name: 'dry_send', user_info: { email: 'dry-new@example.com', name: 'Newbie' } });
    expect(fresh.body).toMatchObject({ outcome: 'matched', contact: { id: null, would_create: true, data: { email: 'dry-new@example.com', tags: [] } } });
    const freshOutcomes = Object.fromEntries((fresh.body.scenarios as { scenario_id: string; outcome: string }[]).map((s) => [s.scenario_id, s.outcome]));
    expect(freshOutcomes[ids.tags]).toBe('matched'); // no tags yet, so "none: vip" holds
    expect(freshOutcomes[ids.cooled]).toBe('matched'); // no cooldown for someone new

    // Same validator as send.
    expect((await send('trigger', { user_info: {} })).body).toMatchObject({ statusCode: 400, code: 'EVENT_NAME_REQUIRED' });
    expect((await send('trigger', { event_name: 'dry_send', event_data: { plan: 7 } })).status).toBe(400);
    expect((await api('POST', '/api/v1/events/trigger', { event_name: 'dry_send' }, { 'x-team-id': 'other' })).status).toBe(401);

    await new Promise((r) => setTimeout(r, 1000));
    expect(await snapshot()).toBe(before);
    expect((await api('GET', '/v1/contacts?email=dry-new@example.com')).status).toBe(404);
    await admin.disconnect();
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
    await triggerMatching(eventId, { status: 'processing', summary: { sent: 0, scheduled: 0, pending: 1 } });
  });
});
