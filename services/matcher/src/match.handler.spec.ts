import type { EventEnvelope, EventOutcome, WebhookDelivery } from '@relay/contracts';
import { inboundMessage, type InboundMessage, type MessageOutcome } from '@relay/kafka';
import {
  claimKey,
  compileScenario,
  parseScenarioDefinition,
  resolveAmong,
  type Contact,
  type CooldownClaim,
  type MatchTx,
  type ScheduledInsert,
  type TriggerRecord,
} from '@relay/scenarios';
import { createMatchHandler } from './match.handler';

const marie: Contact = {
  id: 'c1',
  external_id: null,
  email: 'marie@example.com',
  phone: null,
  name: 'Marie',
  tags: [],
  custom_data: {},
  created_at: '',
  updated_at: '',
};

const envelope = (over: Partial<EventEnvelope> = {}): EventEnvelope =>
  ({
    event_id: `e${Math.random()}`,
    team_id: 't1',
    environment: 'production',
    code_name: 'store_purchase',
    dialect: 'shopimind',
    received_at: 1_700_000_000_000,
    idempotency_key: null,
    contact: { id: null, email: 'marie@example.com', phone: null, custom_data_json: '{"tier":"gold"}', external_id: null, name: null, attributes_json: null },
    visitor: null,
    meta_data_json: '{"total_amount":20}',
    custom_data_json: null,
    variables_json: null,
    trigger_at: null,
    schema_version: 1,
    ...over,
  }) as EventEnvelope;

const message = (value: EventEnvelope): InboundMessage<EventEnvelope> =>
  inboundMessage(value, { topic: 'x', key: Buffer.from('t1:contact:email:marie@example.com') });

function setup(scenarioBodies: Record<string, unknown>[], subscribed: string[] = []) {
  const scenarios = scenarioBodies.map((b, i) =>
    compileScenario({
      ...parseScenarioDefinition({ name: `s${i}`, code_names: ['store_purchase'], actions: [{ type: 'webhook', webhook_id: 'w1' }], ...b }),
      id: `s${i}`,
      team_id: 't1',
      version: 1,
      created_at: '',
      updated_at: '',
    }),
  );
  const cooldowns = new Map<string, number>();
  const written = {
    created: [] as Contact[],
    merges: 0,
    scheduled: [] as ScheduledInsert[],
    triggers: [] as TriggerRecord[],
    claims: [] as CooldownClaim[][],
    ensured: [] as string[][],
  };
  const tx: MatchTx = {
    createContacts: async (c) => (written.created.push(...c.map((x) => x.contact)), c.length),
    mergeContacts: async (m) => void (written.merges += m.length),
    claimCooldowns: async (claims) => {
      written.claims.push(claims);
      const granted = new Set<string>();
      for (const c of claims) {
        const k = claimKey(c.scenario_id, c.contact_id);
        const last = cooldowns.get(k);
        if (last === undefined || c.fired_at - last >= 3600_000) {
          cooldowns.set(k, c.fired_at);
          granted.add(k);
        }
      }
      return granted;
    },
    schedule: async (items) => void written.scheduled.push(...items),
    recordTriggers: async (records) => void written.triggers.push(...records),
  };
  const handler = createMatchHandler({
    changes: { currentMany: async () => new Map() },
    scenarios: { forEvent: async () => scenarios },
    contacts: {
      resolveMany: async (refs) => refs.map(({ ref }) => resolveAmong(ref, (kind, v) => (marie[kind] === v ? marie : undefined))),
      put: () => undefined,
    },
    store: { transact: (work) => work(tx) },
    subscriptions: {
      ensure: async (teams) => void written.ensured.push([...new Set(teams)]),
      subscribers: (team, environment, event) =>
        team === 't1' && environment === 'production' && event === 'store_purchase' ? subscribed.map((id) => ({ id })) : [],
    },
    delayScale: 1,
  });
  return { handler, written };
}

const outputs = (o: MessageOutcome | undefined) => (o?.kind === 'ok' ? o.outputs : []);

describe('match handler', () => {
  it('produces one delivery per fired immediate action and an outcome for history', async () => {
    const { handler, written } = setup([{}, { filter: { '>': [{ var: 'event.metaData.total_amount' }, 100] } }]);
    const [outcome] = await handler([message(envelope())]);
    const out = outputs(outcome);
    expect(out.map((o) => o.topic)).toEqual(['deliveries', 'outcomes']);
    expect((out[0]?.value as WebhookDelivery).contact_json).toContain('"tier":"gold"');
    expect(out[0]?.key).toBe('w1');
    expect((out[1]?.value as EventOutcome).status).toBe('matched');
    expect(written.triggers[0]).toMatchObject({ sent: 1, filtered: 1, total_contacts: 1, outcome: 'matched' });
    expect(written.merges).toBe(1);
  });

  it('fans the event out to subscribed endpoints with the resolved contact, after its own merges, not counted as scenario sends', async () => {
    const { handler, written } = setup([], ['ep1', 'ep2']);
    const [outcome] = await handler([message(envelope())]);
    const subs = outputs(outcome)
      .filter((o) => o.topic === 'deliveries')
      .map((o) => ({ key: o.key, d: o.value as WebhookDelivery }));
    expect(subs.map((s) => s.key)).toEqual(['ep1', 'ep2']);
    expect(subs[0]?.d).toMatchObject({ kind: 'subscription', endpoint_id: 'ep1', action: 'store_purchase' });
    expect(JSON.parse(subs[0]?.d.contact_json ?? '{}')).toEqual({
      target: 'contact',
      id: 'c1',
      external_id: null,
      email: 'marie@example.com',
      phone: null,
      name: 'Marie',
      tags: [],
      custom_data: { tier: 'gold' },
    });
    expect(written.ensured).toEqual([['t1']]);
    expect(written.triggers[0]).toMatchObject({ sent: 0, outcome: 'unmatched' });
    // The same event fanned out twice (a redelivery) keeps its delivery ids.
    const [again] = await handler([message(envelope({ event_id: subs[0]?.d.event_id as string }))]);
    const ids = outputs(again)
      .filter((o) => o.topic === 'deliveries')
      .map((o) => (o.value as WebhookDelivery).delivery_id);
    expect(ids).toEqual(subs.map((s) => s.d.delivery_id));
  });

  it('marks a subscription delivery for nobody known or a visitor with its target', async () => {
    const { handler } = setup([], ['ep1']);
    const [unknown, visitor] = await handler([
      message(
        envelope({
          contact: { id: null, email: 'nobody@example.com', phone: null, custom_data_json: null, external_id: null, name: null, attributes_json: null },
        }),
      ),
      message(envelope({ contact: null, visitor: { id: 'v1', custom_data_json: null } })),
    ]);
    const contactOf = (o: MessageOutcome | undefined) =>
      JSON.parse((outputs(o).find((x) => x.topic === 'deliveries')?.value as WebhookDelivery).contact_json ?? '{}') as unknown;
    expect(contactOf(unknown)).toEqual({ target: 'unknown' });
    expect(contactOf(visitor)).toEqual({ target: 'visitor', visitor_id: 'v1' });
  });

  it('reports a found contact that fired nothing as unmatched, saying whether any scenario was judged', async () => {
    const none = setup([]);
    const [silent] = await none.handler([message(envelope())]);
    expect(outputs(silent).map((o) => [o.topic, (o.value as EventOutcome).status, (o.value as EventOutcome).reason_code])).toEqual([
      ['outcomes', 'unmatched', 'NO_SCENARIO_SUBSCRIBED'],
    ]);
    const filtered = setup([{ filter: { '>': [{ var: 'event.metaData.total_amount' }, 100] } }]);
    const [judged] = await filtered.handler([message(envelope())]);
    const value = outputs(judged)[0]?.value as EventOutcome;
    expect([value.status, value.reason_code, value.scenario_runs.map((r) => r.outcome)]).toEqual(['unmatched', 'NO_SCENARIO_FIRED', ['filtered']]);
  });

  it('fires a cooldown scenario once for many events of one contact in a batch, in one claim', async () => {
    const { handler, written } = setup([{ cooldown: 'PT1H' }]);
    const outcomes = await handler(Array.from({ length: 50 }, (_, i) => message(envelope({ received_at: 1_700_000_000_000 + i }))));
    expect(outcomes.flatMap(outputs).filter((o) => o.topic === 'deliveries')).toHaveLength(1);
    expect(written.claims).toHaveLength(1);
    expect(written.triggers.filter((t) => t.details.scenarios[0]?.outcome === 'cooldown')).toHaveLength(49);
  });

  it('stores delayed actions instead of producing them, and reports no_target for unknown contacts', async () => {
    const { handler, written } = setup([{ actions: [{ type: 'webhook', webhook_id: 'w1', delay: 'PT1H' }] }]);
    const [scheduled, unknown] = await handler([
      message(envelope()),
      message(
        envelope({ contact: { id: null, email: 'x@example.com', phone: null, custom_data_json: null, external_id: null, name: null, attributes_json: null } }),
      ),
    ]);
    expect(outputs(scheduled).map((o) => [o.topic, (o.value as EventOutcome).status])).toEqual([['outcomes', 'scheduled']]);
    expect(written.scheduled[0]?.due_at).toBe(1_700_000_000_000 + 3600_000);
    expect(outputs(unknown).map((o) => (o.value as EventOutcome).status)).toEqual(['no_target']);
    expect(written.triggers[1]).toMatchObject({ outcome: 'no_target', total_contacts: 0 });
  });

  it('creates the contact named by Sendmator user_info once per batch; a seed 000 unknown contact stays no_target', async () => {
    const { handler, written } = setup([{}]);
    const newcomer = {
      id: 'user_1',
      email: 'john@example.com',
      phone: null,
      custom_data_json: null,
      external_id: 'user_1',
      name: 'John',
      attributes_json: '{"plan":"pro"}',
    };
    const [first, second, shopimind] = await handler([
      message(envelope({ dialect: 'sendmator', contact: newcomer })),
      message(envelope({ dialect: 'sendmator', contact: { ...newcomer, attributes_json: '{"plan":"team"}' } })),
      message(envelope({ contact: { ...newcomer, email: 'other@example.com', external_id: null, id: 'user_2' } })),
    ]);
    expect(written.created).toHaveLength(1);
    expect(written.created[0]).toMatchObject({ external_id: 'user_1', email: 'john@example.com', name: 'John', custom_data: { plan: 'team' } });
    expect(outputs(first).map((o) => o.topic)).toEqual(['deliveries', 'outcomes']);
    expect(outputs(second).map((o) => o.topic)).toEqual(['deliveries', 'outcomes']);
    expect(written.triggers[0]?.details.contact).toMatchObject({ created: true });
    expect(written.triggers[1]?.contact_id).toBe(written.created[0]?.id);
    expect(outputs(shopimind).map((o) => (o.value as EventOutcome).status)).toEqual(['no_target']);
  });

  it('dead-letters an event whose slots are not JSON objects without failing the batch', async () => {
    const { handler } = setup([{}]);
    const [bad, good] = await handler([message(envelope({ meta_data_json: '[1]' })), message(envelope())]);
    expect(bad?.kind).toBe('dlq');
    expect(good?.kind).toBe('ok');
  });
});
