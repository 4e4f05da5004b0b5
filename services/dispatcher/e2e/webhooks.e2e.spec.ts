import { Webhook } from 'standardwebhooks';
import { ContractRegistry, type WebhookDeadLetter } from '@relay/contracts';
import { createKafka } from '@relay/kafka';
import { createLogger } from '@relay/observability';
import { eventually, receiverPool, startRelay, type ReceiverPool, type RelayUnderTest } from '@relay/testing';

describe('outbound webhooks (dispatcher e2e)', () => {
  let relay: RelayUnderTest;
  /** Started before the services: they allow exactly these receivers (RELAY_WEBHOOK_ALLOWED_TARGETS). */
  let hooks: ReceiverPool;

  const api = (method: string, path: string, body?: unknown, apiKey?: string) => relay.api(method, path, body, apiKey);
  const eventType = async (code: string) => {
    const res = await api('POST', '/v1/events', {
      name: code,
      code_name: code,
      properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] },
    });
    expect(res.status).toBe(201);
  };
  const trigger = async (code: string, orderId: number) => {
    const res = await api('POST', `/v1/events/trigger/${code}`, {
      contact: { email: `c${orderId}@example.com` },
      metaData: { order_id: orderId },
    });
    expect(res.status).toBe(202);
    return res.body.event_id as string;
  };
  const endpoint = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/v1/webhooks', body);
    expect(res.status).toBe(201);
    return { id: (res.body.data as { id: string }).id, secret: res.body.secret as string };
  };

  beforeAll(async () => {
    hooks = await receiverPool(10);
    relay = await startRelay({
      services: ['gateway', 'validator', 'matcher', 'dispatcher'],
      env: {
        RELAY_WEBHOOK_ALLOWED_TARGETS: hooks.allowedTargets,
        // Compressed schedule: 3 attempts in all.
        RELAY_WEBHOOK_RETRY_SCHEDULE: '300ms,600ms',
        RELAY_WEBHOOK_POLL_MS: '50',
        RELAY_WEBHOOK_ENDPOINT_CACHE_MS: '200',
      },
    });
  });

  afterAll(async () => {
    await hooks?.close();
    await relay?.stop();
  });

  it('refuses ftp:// and private, link-local (metadata) addresses with a clear 400', async () => {
    const ftp = await api('POST', '/v1/webhooks', { url: 'ftp://example.com/hook', events: ['x'] });
    expect(ftp.status).toBe(400);
    expect(ftp.body).toMatchObject({ success: false, code: 'INVALID_WEBHOOK_URL', errors: ['url must use http or https, got ftp'] });
    for (const url of ['http://10.1.2.3/hook', 'http://192.168.0.10/hook', 'http://169.254.169.254/latest/meta-data', 'http://[fd00::1]/x']) {
      const res = await api('POST', '/v1/webhooks', { url, events: ['x'] });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('INVALID_WEBHOOK_URL');
      expect(String((res.body.errors as string[])[0])).toMatch(/is not allowed: .* is a (private|linkLocal|uniqueLocal) address/);
    }
    // Loopback: only the exact host:port entries allowed, not the address on another port
    // nor another loopback address on an allowed port.
    const listed = hooks.allowedTargets.split(',');
    const port = Number(listed[0]?.split(':')[1]);
    const notListed = Array.from({ length: listed.length + 1 }, (_, i) => port + 1 + i).find((p) => !listed.includes(`127.0.0.1:${p}`));
    for (const url of [`http://127.0.0.1:${notListed}/hook`, `http://127.0.0.2:${port}/hook`, `http://[::1]:${port}/hook`]) {
      const res = await api('POST', '/v1/webhooks', { url, events: ['x'] });
      expect([url, res.status, res.body.code]).toEqual([url, 400, 'INVALID_WEBHOOK_URL']);
      expect(String((res.body.errors as string[])[0])).toMatch(/is a loopback address not in the allowed targets/);
    }
    const bad = await api('POST', '/v1/webhooks', { url: 'https://example.com', events: ['not a code name'], batch: { max_events: 0, max_wait_ms: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/neither a code_name nor a Relay kind/), expect.stringMatching(/batch.max_events/)]),
    );
  });

  it('CRUD is team-scoped and the secret is only shown at creation and rotation', async () => {
    const r = hooks.take();
    const created = await endpoint({ url: r.url, events: ['crud_test', 'delivery.failed'], contact_fields: ['email'] });
    expect(created.secret).toMatch(/^whsec_/);
    const got = await api('GET', `/v1/webhooks/${created.id}`);
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.body)).not.toContain(created.secret);
    expect(got.body.data).toMatchObject({
      events: ['crud_test', 'delivery.failed'],
      status: 'enabled',
      signature: 'standard',
      success_contract: '2xx',
      batch: null,
    });
    const other = await relay.addTeam();
    expect((await api('GET', `/v1/webhooks/${created.id}`, undefined, other.apiKey)).status).toBe(404);
    expect((await api('DELETE', `/v1/webhooks/${created.id}`, undefined, other.apiKey)).status).toBe(404);
    const patched = await api('PATCH', `/v1/webhooks/${created.id}`, { status: 'disabled', description: 'paused' });
    expect(patched.body.data).toMatchObject({ status: 'disabled', description: 'paused' });
    expect((await api('DELETE', `/v1/webhooks/${created.id}`)).status).toBe(200);
    expect((await api('GET', `/v1/webhooks/${created.id}`)).status).toBe(404);
  });

  it('signs with Standard Webhooks (verified by the standardwebhooks package), and with both secrets during a rotation', async () => {
    await eventType('sig_test');
    const r = hooks.take();
    const ep = await endpoint({ url: r.url, events: ['sig_test'], contact_fields: ['email'] });
    expect((await api('PUT', '/v1/contacts/c-sig', { email: 'c1@example.com' })).status).toBeLessThan(300);
    const eventId = await trigger('sig_test', 1);
    const first = await eventually(async () => r.requests[0]);
    const verified = new Webhook(ep.secret).verify(first.body, first.headers as Record<string, string>) as Record<string, unknown>;
    expect(verified).toMatchObject({
      action: 'sig_test',
      event_id: eventId,
      code_name: 'sig_test',
      kind: 'subscription',
      contact: { base: ['c-sig'], fields: [{ email: 'c1@example.com' }], target: 'contact' },
      payload: { metaData: { order_id: 1 } },
    });
    expect(() => new Webhook('whsec_' + Buffer.alloc(24, 7).toString('base64')).verify(first.body, first.headers as Record<string, string>)).toThrow();

    const rotated = await api('POST', `/v1/webhooks/${ep.id}/rotate-secret`, { overlap_seconds: 3600 });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).not.toBe(ep.secret);
    await trigger('sig_test', 2);
    const second = await eventually(async () => r.requests[1]);
    expect(String(second.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(() => new Webhook(newSecret).verify(second.body, second.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook(ep.secret).verify(second.body, second.headers as Record<string, string>)).not.toThrow();
  });

  it('retries a 500 and delivers twice with the same webhook-id; attempts are listed', async () => {
    await eventType('flaky_test');
    const r = hooks.take((n) => (n === 1 ? { status: 500, body: 'boom' } : { status: 200 }));
    const ep = await endpoint({ url: r.url, events: ['flaky_test'] });
    await trigger('flaky_test', 3);
    await eventually(async () => (r.requests.length >= 2 ? true : undefined), 15000);
    expect(r.requests[0]?.headers['webhook-id']).toBe(r.requests[1]?.headers['webhook-id']);
    const attempts = await eventually(async () => {
      const res = await api('GET', `/v1/webhooks/${ep.id}/attempts`);
      const data = res.body.data as { outcome: string; http_status: number; attempt: number; response_snippet: string | null }[];
      return data.length >= 2 ? data : undefined;
    });
    expect(attempts.map((a) => [a.attempt, a.outcome, a.http_status])).toEqual([
      [2, 'succeeded', 200],
      [1, 'retrying', 500],
    ]);
    expect(attempts[1]?.response_snippet).toBe('boom');
    await new Promise((res) => setTimeout(res, 1200));
    expect(r.requests).toHaveLength(2);
  });

  it('a receiver down for the whole test ends in the dead-letter topic after the last attempt, and can be replayed', async () => {
    await eventType('down_test');
    // An allowed host:port nobody listens on.
    const down = hooks.take();
    await down.close();
    const ep = await endpoint({ url: down.url, events: ['down_test'] });
    const eventId = await trigger('down_test', 4);

    const kafka = createKafka({ brokers: relay.infra.brokers, clientId: 'e2e-dead', logger: createLogger('e2e', 'error') });
    const registry = new ContractRegistry({ url: relay.infra.registryUrl, topicPrefix: relay.topicPrefix });
    const consumer = kafka.consumer({ groupId: `e2e-dead-${Date.now()}` });
    const dead: WebhookDeadLetter[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [registry.topic('deliveries_dead')], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dead.push((await registry.decode('deliveries_dead', message.value)).value) });
    try {
      const letter = await eventually(async () => dead.find((d) => d.event_id === eventId), 20000);
      expect(letter).toMatchObject({ endpoint_id: ep.id, attempts: 3, kind: 'subscription', action: 'down_test' });
      expect(letter.last_error).toMatch(/ECONNREFUSED/);
    } finally {
      await consumer.disconnect();
    }
    const res = await api('GET', `/v1/webhooks/${ep.id}/attempts`);
    const data = res.body.data as { outcome: string; attempt: number; delivery_id: string }[];
    expect(data.map((a) => [a.attempt, a.outcome])).toEqual([
      [3, 'dead'],
      [2, 'retrying'],
      [1, 'retrying'],
    ]);
    const replay = await api('POST', `/v1/webhooks/${ep.id}/replay`, { delivery_id: data[0]?.delivery_id });
    expect(replay.status).toBe(202);
    expect(replay.body.replayed).toEqual([data[0]?.delivery_id]);
    await eventually(async () => {
      const again = await api('GET', `/v1/webhooks/${ep.id}/attempts`);
      return (again.body.data as unknown[]).length >= 4 ? true : undefined;
    }, 15000);
  });

  it('a hanging receiver does not delay deliveries to a healthy one', async () => {
    await eventType('hang_test');
    const hang = hooks.take(() => 'hang');
    const healthy = hooks.take();
    await endpoint({ url: hang.url, events: ['hang_test'], timeout_ms: 8000, max_concurrency: 1 });
    await endpoint({ url: healthy.url, events: ['hang_test'] });
    const started = Date.now();
    for (let i = 0; i < 10; i++) await trigger('hang_test', 100 + i);
    await eventually(async () => (healthy.requests.length >= 10 ? true : undefined), 7500, 50);
    // All ten reached the healthy receiver before the hanging one's 8 s timeout freed its
    // slot (on an idle machine within ~1 s; the bound leaves room for a loaded one).
    expect(Math.max(...healthy.requests.map((r) => r.at)) - started).toBeLessThan(7500);
    expect(hang.requests.length).toBe(1); // its single slot is still stuck
  });

  it('100 events for a batching endpoint arrive as one POST of {"events": [100 items]}', async () => {
    await eventType('batch_test');
    const r = hooks.take();
    const ep = await endpoint({ url: r.url, events: ['batch_test'], batch: { max_events: 100, max_wait_ms: 20000 }, contact_fields: ['email'] });
    await Promise.all(Array.from({ length: 100 }, (_, i) => trigger('batch_test', 1000 + i)));
    const post = await eventually(async () => r.requests[0], 20000);
    const verified = new Webhook(ep.secret).verify(post.body, post.headers as Record<string, string>) as { events: { action: string; contact: unknown }[] };
    expect(verified.events).toHaveLength(100);
    // Nobody known by these emails: the items say so instead of echoing the identifiers.
    expect(verified.events[0]).toMatchObject({ action: 'batch_test', contact: { base: [], fields: [], target: 'unknown' } });
    await new Promise((res) => setTimeout(res, 500));
    expect(r.requests).toHaveLength(1);
  });

  it('staging events never reach production endpoints', async () => {
    await eventType('env_test');
    const prod = hooks.take();
    const staging = hooks.take();
    await endpoint({ url: prod.url, events: ['env_test'], environment: 'production' });
    await endpoint({ url: staging.url, events: ['env_test'], environment: 'staging' });
    await trigger('env_test', 7); // the default test key is a production key
    await eventually(async () => prod.requests[0]);
    await new Promise((res) => setTimeout(res, 500));
    expect(staging.requests).toHaveLength(0);
  });
});
