import { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { v7 as uuidv7 } from 'uuid';
import { ContractRegistry } from '@relay/contracts';
import { createKafka } from '@relay/kafka';
import { createLogger } from '@relay/observability';
import { callJson, eventually, makeContactRef, makeEnvelope, startRelay, type RelayUnderTest, receiver, type Receiver } from '@relay/testing';

/**
 * Read-your-writes (docs/architecture.md, "Consistency of changes"): a change answered by
 * the API holds for every event accepted after the answer, on every instance — two
 * gateways, two matchers, two dispatchers here. No test waits between a change and the
 * event that depends on it. The periodic reloads are pushed out of reach (10 min) so that
 * only the change sequences can make these pass. Each case runs REPEAT times, several at
 * once, alternating which gateway makes the change and which accepts the event.
 */
const REPEAT = Number(process.env.RELAY_RYW_REPEAT ?? 200);
const CONCURRENCY = 8;

async function times(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
      for (let i = next++; i < n; i = next++) await work(i);
    }),
  );
}

describe('read-your-writes across instances', () => {
  let relay: RelayUnderTest;
  let hook: Receiver;
  let pg: Pool;
  let gateways: [string, string];
  const hookUrl = (path: string) => hook.url.replace(/\/hook$/, `/${path}`);

  const call = (gateway: string, method: string, path: string, body?: unknown) =>
    callJson<Record<string, unknown>>(`${gateway}${path}`, method, body, { 'x-api-key': relay.apiKey });
  const pair = (i: number): [string, string] => (i % 2 === 0 ? gateways : [gateways[1], gateways[0]]);
  const declare = async (gateway: string, code: string) => {
    const res = await call(gateway, 'POST', '/v1/events', {
      name: code,
      code_name: code,
      properties: { metaData: [{ name: 'n', type: 'number', required: true }] },
    });
    expect(res.status).toBe(201);
  };
  const fire = async (gateway: string, code: string, n: number) => {
    const res = await call(gateway, 'POST', `/v1/events/trigger/${code}`, { contact: { email: 'ryw@example.com' }, metaData: { n } });
    expect(res).toMatchObject({ status: 202 });
    return res.body.event_id as string;
  };
  const createEndpoint = async (gateway: string, path: string, events: string[]) => {
    const res = await call(gateway, 'POST', '/v1/webhooks', { url: hookUrl(path), events });
    expect(res.status).toBe(201);
    return { id: (res.body.data as { id: string }).id, secret: res.body.secret as string };
  };
  const deliveredTo = (path: string) => hook.requests.filter((r) => r.url === `/${path}`);
  const historyRow = (eventId: string) =>
    eventually(async () => {
      const res = await call(gateways[0], 'GET', `/v1/event-histories/${eventId}`);
      return res.status === 200 ? (res.body.data as { status: string }) : undefined;
    }, 60_000);
  const trigger = (eventId: string) =>
    eventually(async () => {
      const { rows } = await pg.query<{ sent: number; outcome: string }>('SELECT sent, outcome FROM triggers WHERE id = $1', [eventId]);
      return rows[0];
    }, 60_000);

  beforeAll(async () => {
    hook = await receiver();
    relay = await startRelay({
      env: {
        RELAY_WEBHOOK_ALLOWED_TARGETS: hook.target,
        RELAY_WEBHOOK_ENDPOINT_CACHE_MS: '600000',
        RELAY_SCENARIO_CACHE_MS: '600000',
        RELAY_CONTACT_CACHE_MS: '600000',
      },
    });
    const second = await relay.addInstances(['gateway', 'matcher', 'dispatcher']);
    gateways = [relay.gatewayUrl, second.gateway];
    pg = new Pool({ connectionString: relay.pgUrl, max: 2 });
    expect((await call(gateways[0], 'PUT', '/v1/contacts/c-ryw', { email: 'ryw@example.com' })).status).toBeLessThan(300);
  }, 300_000);

  afterAll(async () => {
    await pg?.end();
    await relay?.stop();
    await hook?.close();
  });

  it('an event type declared on one gateway is triggered at once on the other, and by a direct Kafka producer', async () => {
    const registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    await registry.registerAll();
    const producer = createKafka({ brokers: relay.infra.brokers, clientId: 'ryw-e2e', logger: createLogger('ryw-e2e', 'error') }).producer();
    await producer.connect();
    const produce = async (code: string) => {
      const envelope = makeEnvelope({
        team_id: relay.teamId,
        code_name: code,
        contact: makeContactRef({ email: 'ryw@example.com' }),
        meta_data_json: '{"n":1}',
      });
      const value = await registry.encode('ingested', envelope);
      await producer.send({ topic: registry.topic('ingested'), acks: -1, messages: [{ key: `${relay.teamId}:ryw`, value }] });
      return envelope.event_id;
    };
    try {
      const direct: string[] = [];
      await times(REPEAT, async (i) => {
        const code = `ryw_type_${i}`;
        const [a, b] = pair(i);
        // Both readers meet the name before it exists, so a cached "unknown" would show.
        expect((await call(b, 'POST', `/v1/events/trigger/${code}`, { contact: { email: 'x@example.com' }, metaData: { n: 1 } })).status).toBe(404);
        expect((await historyRow(await produce(code))).status).toBe('rejected');
        await declare(a, code);
        await fire(b, code, i);
        direct.push(await produce(code));
      });
      for (const eventId of direct) expect((await historyRow(eventId)).status).not.toBe('rejected');
    } finally {
      await producer.disconnect();
    }
  }, 900_000);

  it('an endpoint created, or re-subscribed by PATCH, just before an event receives it', async () => {
    await Promise.all(Array.from({ length: REPEAT }, (_, i) => declare(gateways[0], `ryw_ep_${i}`)));
    await Promise.all(Array.from({ length: REPEAT }, (_, i) => declare(gateways[0], `ryw_patch_${i}`)));
    const patched = await Promise.all(Array.from({ length: REPEAT }, (_, i) => createEndpoint(gateways[0], `patch/${i}`, ['ryw_nothing'])));
    await times(REPEAT, async (i) => {
      const [a, b] = pair(i);
      await createEndpoint(a, `ep/${i}`, [`ryw_ep_${i}`]);
      await fire(b, `ryw_ep_${i}`, i);
      const res = await call(b, 'PATCH', `/v1/webhooks/${patched[i]?.id}`, { events: [`ryw_patch_${i}`] });
      expect(res.status).toBe(200);
      await fire(a, `ryw_patch_${i}`, i);
    });
    const missing = await eventually(
      async () => {
        const left = Array.from({ length: REPEAT }, (_, i) => i).filter((i) => deliveredTo(`ep/${i}`).length === 0 || deliveredTo(`patch/${i}`).length === 0);
        return left.length === 0 ? left : undefined;
      },
      120_000,
      500,
    ).catch(() => Array.from({ length: REPEAT }, (_, i) => i).filter((i) => deliveredTo(`ep/${i}`).length === 0 || deliveredTo(`patch/${i}`).length === 0));
    expect(missing).toEqual([]);
  }, 900_000);

  it('a rotated secret signs the very next event; with no overlap, only the new one does', async () => {
    await Promise.all(Array.from({ length: REPEAT }, (_, i) => declare(gateways[0], `ryw_rot_${i}`)));
    const endpoints = await Promise.all(Array.from({ length: REPEAT }, (_, i) => createEndpoint(gateways[0], `rot/${i}`, [`ryw_rot_${i}`])));
    // Every endpoint's copy is loaded and used once before its rotation.
    await Promise.all(Array.from({ length: REPEAT }, (_, i) => fire(gateways[1], `ryw_rot_${i}`, -1)));
    await eventually(async () => (endpoints.every((_, i) => deliveredTo(`rot/${i}`).length >= 1) ? true : undefined), 120_000, 500);
    const rotated: { secret: string; old: string; overlap: boolean }[] = [];
    await times(REPEAT, async (i) => {
      const [a, b] = pair(i);
      const overlap = i % 2 === 0;
      const res = await call(a, 'POST', `/v1/webhooks/${endpoints[i]?.id}/rotate-secret`, { overlap_seconds: overlap ? 3600 : 0 });
      expect(res.status).toBe(200);
      rotated[i] = { secret: res.body.secret as string, old: endpoints[i]?.secret as string, overlap };
      await fire(b, `ryw_rot_${i}`, i);
    });
    await eventually(async () => (endpoints.every((_, i) => deliveredTo(`rot/${i}`).length >= 2) ? true : undefined), 120_000, 500);
    const failures: string[] = [];
    for (const [i, r] of rotated.entries()) {
      const after = deliveredTo(`rot/${i}`).find((d) => (JSON.parse(d.body) as { payload: { metaData: { n: number } } }).payload.metaData.n === i);
      if (!after) {
        failures.push(`${i}: not delivered`);
        continue;
      }
      const headers = after.headers as Record<string, string>;
      const verifies = (secret: string) => {
        try {
          new Webhook(secret).verify(after.body, headers);
          return true;
        } catch {
          return false;
        }
      };
      if (!verifies(r.secret)) failures.push(`${i}: does not verify with the new secret`);
      if (verifies(r.old) !== r.overlap) failures.push(`${i}: old secret ${r.overlap ? 'missing during' : 'still signing after'} the overlap`);
    }
    expect(failures).toEqual([]);
  }, 900_000);

  // A stage applies the state as of when it handles the event, never older than the state
  // when the event was accepted; a change made after acceptance may apply too if it lands
  // first (docs/architecture.md). Hence each case waits for the matcher's decision on one
  // event before making the next change — never between a change and its event.
  it('a scenario created, paused or re-activated just before an event applies to it', async () => {
    const target = await createEndpoint(gateways[0], 'scenario', ['ryw_nothing']);
    await Promise.all(Array.from({ length: REPEAT }, (_, i) => declare(gateways[0], `ryw_sc_${i}`)));
    const wrong: string[] = [];
    await times(REPEAT, async (i) => {
      const [a, b] = pair(i);
      const code = `ryw_sc_${i}`;
      const created = await call(a, 'POST', '/v1/scenarios', { name: code, code_names: [code], actions: [{ type: 'webhook', webhook_id: target.id }] });
      expect(created.status).toBe(201);
      if ((await trigger(await fire(b, code, i))).sent !== 1) wrong.push(`${i}: a new scenario did not fire`);
      expect((await call(b, 'PATCH', `/v1/scenarios/${(created.body.data as { id: string }).id}`, { status: 'paused' })).status).toBe(200);
      if ((await trigger(await fire(a, code, i))).sent !== 0) wrong.push(`${i}: a paused scenario fired`);
      expect((await call(a, 'PATCH', `/v1/scenarios/${(created.body.data as { id: string }).id}`, { status: 'active' })).status).toBe(200);
      if ((await trigger(await fire(b, code, i))).sent !== 1) wrong.push(`${i}: a re-activated scenario did not fire`);
      expect((await call(b, 'DELETE', `/v1/scenarios/${(created.body.data as { id: string }).id}`)).status).toBe(200);
      if ((await trigger(await fire(a, code, i))).sent !== 0) wrong.push(`${i}: a deleted scenario fired`);
    });
    expect(wrong).toEqual([]);
  }, 900_000);

  it('a contact tagged just before an event is matched with its tags', async () => {
    await declare(gateways[0], 'ryw_tag');
    const target = await createEndpoint(gateways[0], 'tagged', ['ryw_nothing']);
    const scenario = await call(gateways[0], 'POST', '/v1/scenarios', {
      name: 'vip only',
      code_names: ['ryw_tag'],
      tags: { any: ['vip'] },
      actions: [{ type: 'webhook', webhook_id: target.id }],
    });
    expect(scenario.status).toBe(201);
    const wrong: string[] = [];
    await times(Math.min(REPEAT, 50), async (i) => {
      const [a, b] = pair(i);
      const id = `c-tag-${uuidv7()}`;
      const email = `${id}@example.com`;
      expect((await call(a, 'PUT', `/v1/contacts/${id}`, { email, tags: [] })).status).toBeLessThan(300);
      const untagged = await call(b, 'POST', '/v1/events/trigger/ryw_tag', { contact: { email }, metaData: { n: i } });
      if ((await trigger(untagged.body.event_id as string)).sent !== 0) wrong.push(`${i}: fired for an untagged contact`);
      expect((await call(b, 'PUT', `/v1/contacts/${id}`, { email, tags: ['vip'] })).status).toBeLessThan(300);
      const tagged = await call(a, 'POST', '/v1/events/trigger/ryw_tag', { contact: { email }, metaData: { n: i } });
      if ((await trigger(tagged.body.event_id as string)).sent !== 1) wrong.push(`${i}: did not fire after tagging`);
      expect((await call(a, 'PUT', `/v1/contacts/${id}`, { email, tags: [] })).status).toBeLessThan(300);
      const untaggedAgain = await call(b, 'POST', '/v1/events/trigger/ryw_tag', { contact: { email }, metaData: { n: i } });
      if ((await trigger(untaggedAgain.body.event_id as string)).sent !== 0) wrong.push(`${i}: fired after the tag was removed`);
    });
    expect(wrong).toEqual([]);
  }, 900_000);
});
