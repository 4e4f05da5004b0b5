import { Webhook } from 'standardwebhooks';
import { eventually, startRelay, type RelayUnderTest, receiver, type Receiver } from '@relay/testing';

interface Item {
  event_id: string;
  contact: { base: string[]; fields: Record<string, unknown>[]; target: string };
}

/**
 * Seed 004's `contact.fields`: subscription deliveries carry the contact as Relay knows it
 * when the event is matched — whichever identifier the event used — and say so when the
 * event is about nobody known or about a visitor.
 */
describe('subscription deliveries carry the resolved contact (seed 004 contact.fields)', () => {
  let relay: RelayUnderTest;
  let hook: Receiver;
  const api = (method: string, path: string, body?: unknown) => relay.api(method, path, body);
  const itemsAt = (path: string, secret: string): Item[] =>
    hook.requests
      .filter((r) => r.url === `/${path}`)
      .flatMap((r) => {
        const body = new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Item | { events: Item[] };
        return 'events' in body ? body.events : [body];
      });
  const fire = async (contact: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const res = await api('POST', '/v1/events/trigger/cf_order', { contact, metaData: { total: 1 }, ...extra });
    expect(res.status).toBe(202);
    return res.body.event_id as string;
  };
  const FIELDS = ['email', 'phone', 'name', 'external_id', 'tags', 'custom_data.tier', 'custom_data.missing'];

  beforeAll(async () => {
    hook = await receiver();
    relay = await startRelay({ services: ['gateway', 'validator', 'matcher', 'dispatcher'], env: { RELAY_WEBHOOK_ALLOWED_TARGETS: hook.target } });
    const declared = await api('POST', '/v1/events', {
      name: 'order',
      code_name: 'cf_order',
      target: 'both',
      properties: { metaData: [{ name: 'total', type: 'number', required: true }] },
    });
    expect(declared.status).toBe(201);
    const put = await api('PUT', '/v1/contacts/c-cf', {
      email: 'marie@example.com',
      phone: '+33612345678',
      name: 'Marie Curie',
      external_id: 'crm-42',
      tags: ['vip'],
      custom_data: { tier: 'gold' },
    });
    expect(put.status).toBeLessThan(300);
  });

  afterAll(async () => {
    await relay?.stop();
    await hook?.close();
  });

  it('refuses contact_fields that are neither profile fields nor custom_data.<key>, naming each', async () => {
    const res = await api('POST', '/v1/webhooks', { url: hook.url, events: ['cf_order'], contact_fields: ['email', 'tier', 'nickname'] });
    expect(res.status).toBe(400);
    const errors = res.body.errors as string[];
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/"tier" is neither a contact profile field .* custom_data\.<key>/);
    expect(errors[1]).toMatch(/"nickname"/);
  });

  it('events naming the contact by id, email or external id deliver the same complete fields, batched and single', async () => {
    const url = (path: string) => hook.url.replace(/\/hook$/, `/${path}`);
    const batched = await api('POST', '/v1/webhooks', {
      url: url('batched'),
      events: ['cf_order'],
      contact_fields: FIELDS,
      batch: { max_events: 3, max_wait_ms: 60000 },
    });
    const single = await api('POST', '/v1/webhooks', { url: url('single'), events: ['cf_order'], contact_fields: FIELDS });
    expect([batched.status, single.status]).toEqual([201, 201]);
    const byRef = [await fire({ id: 'c-cf' }), await fire({ email: 'marie@example.com' }), await fire({ id: 'crm-42' })];

    const expected = {
      base: ['c-cf'],
      fields: [
        {
          email: 'marie@example.com',
          phone: '+33612345678',
          name: 'Marie Curie',
          external_id: 'crm-42',
          tags: ['vip'],
          'custom_data.tier': 'gold',
          'custom_data.missing': null,
        },
      ],
      target: 'contact',
    };
    const fromBatch = await eventually(async () => {
      const items = itemsAt('batched', batched.body.secret as string);
      return items.length >= 3 ? items : undefined;
    }, 60_000);
    expect(hook.requests.filter((r) => r.url === '/batched')).toHaveLength(1); // one POST of {"events": [3 items]}
    expect(fromBatch.map((i) => i.event_id).sort()).toEqual([...byRef].sort());
    for (const item of fromBatch) expect(item.contact).toEqual(expected);
    const fromSingle = await eventually(async () => {
      const items = itemsAt('single', single.body.secret as string).filter((i) => byRef.includes(i.event_id));
      return items.length >= 3 ? items : undefined;
    }, 60_000);
    for (const item of fromSingle) expect(item.contact).toEqual(expected);
  });

  it('an unknown contact and a visitor deliver with an empty base and their target', async () => {
    const res = await api('POST', '/v1/webhooks', { url: hook.url.replace(/\/hook$/, '/targets'), events: ['cf_order'], contact_fields: ['email'] });
    expect(res.status).toBe(201);
    const unknown = await fire({ email: 'nobody@example.com' });
    const visitor = await api('POST', '/v1/events/trigger/cf_order', { visitor: { id: 'v-1' }, metaData: { total: 1 } });
    expect(visitor.status).toBe(202);
    const items = await eventually(async () => {
      const got = itemsAt('targets', res.body.secret as string);
      const u = got.find((i) => i.event_id === unknown);
      const v = got.find((i) => i.event_id === visitor.body.event_id);
      return u && v ? { u, v } : undefined;
    }, 60_000);
    expect(items.u.contact).toEqual({ base: [], fields: [], target: 'unknown' });
    expect(items.v.contact).toEqual({ base: [], fields: [], target: 'visitor' });
  });

  it('a contact update between two events shows in the second delivery and not in the first', async () => {
    const res = await api('POST', '/v1/webhooks', {
      url: hook.url.replace(/\/hook$/, '/update'),
      events: ['cf_order'],
      contact_fields: ['name', 'custom_data.tier'],
    });
    expect(res.status).toBe(201);
    const secret = res.body.secret as string;
    const first = await fire({ id: 'c-cf' });
    // The first delivery is made before the update: the update cannot be in it.
    await eventually(async () => itemsAt('update', secret).find((i) => i.event_id === first), 60_000);
    expect((await api('PUT', '/v1/contacts/c-cf', { name: 'Marie Skłodowska-Curie', custom_data: { tier: 'platinum' } })).status).toBeLessThan(300);
    const second = await fire({ id: 'c-cf' });
    const got = await eventually(async () => {
      const items = itemsAt('update', secret);
      const a = items.find((i) => i.event_id === first);
      const b = items.find((i) => i.event_id === second);
      return a && b ? { a, b } : undefined;
    }, 60_000);
    expect(got.a.contact.fields).toEqual([{ name: 'Marie Curie', 'custom_data.tier': 'gold' }]);
    expect(got.b.contact.fields).toEqual([{ name: 'Marie Skłodowska-Curie', 'custom_data.tier': 'platinum' }]);
  });
});
