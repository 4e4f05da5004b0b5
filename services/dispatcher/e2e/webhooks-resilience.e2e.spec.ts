import { createHmac, timingSafeEqual } from 'node:crypto';
import { eventually, receiverPool, startRelay, type ReceiverPool, type RelayUnderTest, type Receiver } from '@relay/testing';

/** Item fields the assertions read from a POSTed body (one event per POST). */
interface Item {
  delivery_id: string;
  event_id: string;
  action: string;
  action_data: Record<string, unknown>;
  payload: unknown;
}

/** Auto-disable threshold of this spec's dispatcher (short so the test can see it). */
const AUTO_DISABLE_MS = 5000;

describe('outbound webhooks: crash recovery, rate limits, seed 001 contract, replay, health (dispatcher e2e)', () => {
  let relay: RelayUnderTest;
  const receivers: Receiver[] = [];
  /** Started before the services: they allow exactly these receivers (RELAY_WEBHOOK_ALLOWED_TARGETS). */
  let hooks: ReceiverPool;
  const receiver = (respond?: Parameters<ReceiverPool['take']>[0]) => Promise.resolve(hooks.take(respond));

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
    const res = await api('POST', `/v1/events/trigger/${code}`, { contact: { email: `c${orderId}@example.com` }, metaData: { order_id: orderId } });
    expect(res.status).toBe(202);
    return res.body.event_id as string;
  };
  /** Triggers n events, `parallel` requests at a time; returns the event ids in order. */
  const triggerMany = async (code: string, n: number, firstOrderId: number, parallel = 25) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i += parallel) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, j) => trigger(code, firstOrderId + i + j)))));
    }
    return ids;
  };
  const endpoint = async (body: Record<string, unknown>) => {
    const res = await api('POST', '/v1/webhooks', body);
    expect(res.status).toBe(201);
    return { id: (res.body.data as { id: string }).id, secret: res.body.secret as string };
  };
  const track = async (r: Promise<Receiver>) => {
    const got = await r;
    receivers.push(got);
    return got;
  };
  const item = (body: string) => JSON.parse(body) as Item;
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  /** Longer than RELAY_WEBHOOK_ENDPOINT_CACHE_MS: the dispatcher has seen new endpoints. */
  const attemptsOf = async (endpointId: string) =>
    (await api('GET', `/v1/webhooks/${endpointId}/attempts?limit=500`)).body.data as {
      delivery_id: string;
      event_id: string;
      attempt: number;
      outcome: string;
      http_status: number | null;
      error: string | null;
    }[];

  // Created first so the auto-disable window has passed by the time its test runs.
  let autoDisable: { failing: { id: string }; watcher: Receiver; createdAt: number };

  beforeAll(async () => {
    hooks = await receiverPool(8);
    relay = await startRelay({
      services: ['gateway', 'validator', 'matcher', 'dispatcher'],
      env: {
        RELAY_WEBHOOK_ALLOWED_TARGETS: hooks.allowedTargets,
        // 3 attempts, 1 s apart: short enough for the replay test, long enough that the
        // crash test's Retry-After (1 s, capped at the longest step) is honoured.
        RELAY_WEBHOOK_RETRY_SCHEDULE: '1s,1s',
        RELAY_WEBHOOK_POLL_MS: '50',
        RELAY_WEBHOOK_ENDPOINT_CACHE_MS: '200',
        // A crashed instance's deliveries come back after 3 s instead of 60 s.
        RELAY_WEBHOOK_LEASE_MS: '3000',
        RELAY_WEBHOOK_AUTO_DISABLE_MS: String(AUTO_DISABLE_MS),
      },
    });
    await eventType('health_test');
    const watcher = await track(receiver());
    await endpoint({ url: watcher.url, events: ['endpoint.disabled'] });
    // An allowed host:port nobody listens on.
    const down = hooks.take();
    await down.close();
    const failing = await endpoint({ url: down.url, events: ['health_test'] });
    autoDisable = { failing, watcher, createdAt: Date.now() };
  });

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await hooks?.close();
    await relay?.stop();
  });

  it('killing the dispatcher (SIGKILL) mid-backlog and restarting it loses no delivery', async () => {
    await eventType('crash_test');
    const statuses: number[] = [];
    // The first 20 requests answer 503 with Retry-After (durable retry rows in PostgreSQL
    // when the process dies), the rest 200 after 50 ms: ~80 deliveries/s at concurrency 4,
    // so 300 deliveries are a backlog of several seconds.
    const r = await track(
      receiver((n) => {
        const answer = n <= 20 ? { status: 503, headers: { 'retry-after': '1' }, body: 'busy' } : { status: 200, delayMs: 50 };
        statuses.push(answer.status);
        return answer;
      }),
    );
    const ep = await endpoint({ url: r.url, events: ['crash_test'], max_concurrency: 4 });
    const eventIds = await triggerMany('crash_test', 300, 10000);

    await eventually(async () => (r.requests.length >= 100 ? true : undefined), 60000, 20);
    const atKill = r.requests.length;
    await relay.services.kill('dispatcher', 'SIGKILL');
    const killedAt = Date.now();
    expect(atKill).toBeLessThan(300); // really mid-backlog
    await relay.services.start('dispatcher');
    const restartedIn = Date.now() - killedAt;

    // Delivered = answered 200 (a request the receiver saw but answered after the kill, or
    // answered 503, does not count).
    const delivered = () => new Set(r.requests.filter((_, i) => statuses[i] === 200).map((q) => item(q.body).event_id));
    await eventually(async () => (delivered().size >= 300 ? true : undefined), 90000, 100);
    const seen = delivered();
    expect(eventIds.every((id) => seen.has(id))).toBe(true);
    expect(seen.size).toBe(300);

    // One webhook-id per delivery, equal to its delivery_id, stable across retries and the crash.
    const idsByEvent = new Map<string, Set<string>>();
    for (const q of r.requests) {
      const body = item(q.body);
      expect(q.headers['webhook-id']).toBe(body.delivery_id);
      idsByEvent.set(body.event_id, (idsByEvent.get(body.event_id) ?? new Set()).add(String(q.headers['webhook-id'])));
    }
    expect([...idsByEvent.values()].every((ids) => ids.size === 1)).toBe(true);
    expect(new Set(r.requests.map((q) => q.headers['webhook-id'])).size).toBe(300);

    // Every delivery settled: nothing left pending, each with one succeeded attempt on record.
    await eventually(async () => {
      const attempts = await attemptsOf(ep.id);
      return new Set(attempts.filter((a) => a.outcome === 'succeeded').map((a) => a.delivery_id)).size === 300 ? true : undefined;
    }, 30000);
    const duplicates = r.requests.filter((_, i) => statuses[i] === 200).length - 300;
    // Numbers for the report (at-least-once: the requests in flight at the kill are re-sent).
    console.info(
      `crash test: ${atKill} requests before SIGKILL, dispatcher ready again after ${restartedIn} ms, ${r.requests.length} requests in all, ${duplicates} duplicate 200s`,
    );
  }, 180000);

  it('rate_limit {"requests": 5, "per": "PT1S"} spreads 20 deliveries over >= 3 s while another endpoint gets them at once', async () => {
    await eventType('rate_test');
    const limited = await track(receiver());
    const free = await track(receiver());
    const bad = await api('POST', '/v1/webhooks', { url: limited.url, events: ['rate_test'], rate_limit: { requests: 0, per: '1s' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.stringMatching(/rate_limit.requests/), expect.stringMatching(/rate_limit.per/)]);
    const ep = await endpoint({ url: limited.url, events: ['rate_test'], rate_limit: { requests: 5, per: 'PT1S' }, max_concurrency: 8 });
    expect((await api('GET', `/v1/webhooks/${ep.id}`)).body.data).toMatchObject({ rate_limit: { requests: 5, per: 'PT1S' } });
    await endpoint({ url: free.url, events: ['rate_test'], max_concurrency: 8 });

    const started = Date.now();
    await triggerMany('rate_test', 20, 500, 20);
    await eventually(async () => (free.requests.length >= 20 ? true : undefined), 10000, 20);
    const freeDone = Math.max(...free.requests.map((q) => q.at)) - started;
    await eventually(async () => (limited.requests.length >= 20 ? true : undefined), 15000, 20);
    const limitedDone = Math.max(...limited.requests.map((q) => q.at)) - started;
    // Fixed 1 s windows of 5: the 16th request cannot start before the 4th window.
    expect(limitedDone).toBeGreaterThanOrEqual(3000);
    // The other endpoint is not held back by the limited one.
    expect(freeDone).toBeLessThan(2500);
    console.info(`rate limit test: limited endpoint's 20th request at ${limitedDone} ms, unlimited endpoint's 20th at ${freeDone} ms`);
  });

  it('seed 001 signature (X-Shopimind-Signature = hex HMAC-SHA256 of timestamp.rawbody) and strict contract: 200 without {"success": true} is retried', async () => {
    await eventType('shop_test');
    const r = await track(receiver((n) => (n === 1 ? { status: 200, body: '{"ok":true}' } : { status: 200, body: '{"success": true}' })));
    const ep = await endpoint({ url: r.url, events: ['shop_test'], signature: 'shopimind', success_contract: 'strict' });
    const eventId = await trigger('shop_test', 42);
    await eventually(async () => (r.requests.length >= 2 ? true : undefined), 15000, 50);

    for (const q of r.requests) {
      const ts = String(q.headers['x-shopimind-timestamp']);
      expect(ts).toMatch(/^\d+$/);
      expect(Math.abs(Date.now() / 1000 - Number(ts))).toBeLessThan(300);
      const expected = createHmac('sha256', ep.secret).update(`${ts}.${q.body}`).digest();
      const given = Buffer.from(String(q.headers['x-shopimind-signature']), 'hex');
      expect(given.length === expected.length && timingSafeEqual(given, expected)).toBe(true);
      // A tampered body does not verify.
      const forged = createHmac('sha256', ep.secret).update(`${ts}.${q.body} `).digest();
      expect(timingSafeEqual(given, forged)).toBe(false);
      expect(q.headers['webhook-signature']).toBeUndefined();
      expect(item(q.body)).toMatchObject({ action: 'shop_test', event_id: eventId });
    }
    expect(r.requests[0]?.headers['webhook-id']).toBe(r.requests[1]?.headers['webhook-id']);

    const attempts = await eventually(async () => {
      const list = await attemptsOf(ep.id);
      return list.length >= 2 ? list : undefined;
    });
    expect(attempts.map((a) => [a.attempt, a.outcome, a.http_status])).toEqual([
      [2, 'succeeded', 200],
      [1, 'retrying', 200],
    ]);
    expect(attempts[1]?.error).toMatch(/STRICT_CONTRACT/);
    await sleep(1500); // past the next retry step: nothing more is sent after the success
    expect(r.requests).toHaveLength(2);
  });

  it('replays every failed delivery of a time range, and only those, with the same webhook-id', async () => {
    await eventType('replay_test');
    let healthy = false;
    const failing = new Set<number>([1, 2, 3]);
    // Fails the chosen orders until `healthy`; order 4 always succeeds (it keeps the
    // endpoint's health fresh so the short auto-disable window does not switch it off).
    const r = await track(
      receiver((_, q) => {
        const order = Number((item(q.body).payload as { metaData: { order_id: number } }).metaData.order_id);
        return !healthy && failing.has(order) ? { status: 500, body: 'down' } : { status: 200 };
      }),
    );
    const ep = await endpoint({ url: r.url, events: ['replay_test'] });
    const deadIds = async (n: number) =>
      eventually(async () => {
        const dead = (await attemptsOf(ep.id)).filter((a) => a.outcome === 'dead');
        return dead.length >= n ? dead : undefined;
      }, 20000);

    const before = await trigger('replay_test', 1);
    await deadIds(1);
    await sleep(300);
    const from = new Date();
    await sleep(300);
    const [inRange1, inRange2] = await Promise.all([trigger('replay_test', 2), trigger('replay_test', 3), trigger('replay_test', 4)]);
    const dead = await deadIds(3);
    const to = new Date(Date.now() + 1000);
    const deliveryOf = (eventId: string | undefined) => dead.find((a) => a.event_id === eventId)?.delivery_id;
    expect(deliveryOf(before)).toBeDefined();

    healthy = true;
    const countBefore = r.requests.length;
    const replay = await api('POST', `/v1/webhooks/${ep.id}/replay`, { from: from.toISOString(), to: to.toISOString() });
    expect(replay.status).toBe(202);
    expect(new Set(replay.body.replayed as string[])).toEqual(new Set([deliveryOf(inRange1), deliveryOf(inRange2)]));

    await eventually(async () => (r.requests.length >= countBefore + 2 ? true : undefined), 15000, 50);
    await sleep(500);
    const replayed = r.requests.slice(countBefore);
    expect(new Set(replayed.map((q) => item(q.body).event_id))).toEqual(new Set([inRange1, inRange2]));
    expect(new Set(replayed.map((q) => q.headers['webhook-id']))).toEqual(new Set([deliveryOf(inRange1), deliveryOf(inRange2)]));
    // The delivery that died before the range stays dead (replayable by id or another range).
    expect((await api('POST', `/v1/webhooks/${ep.id}/replay`, { delivery_id: deliveryOf(before) })).status).toBe(202);
  });

  it('an endpoint failing with no success for RELAY_WEBHOOK_AUTO_DISABLE_MS is auto-disabled and endpoint.disabled is emitted', async () => {
    const { failing, watcher, createdAt } = autoDisable;
    await sleep(Math.max(0, createdAt + AUTO_DISABLE_MS + 200 - Date.now()));
    await trigger('health_test', 1); // its first (failed) attempt finds the window over
    const notice = await eventually(
      async () => watcher.requests.find((q) => (item(q.body).payload as { endpoint_id?: string }).endpoint_id === failing.id),
      20000,
    );
    expect(item(notice.body)).toMatchObject({ action: 'endpoint.disabled', kind: 'relay', payload: { endpoint_id: failing.id, status: 'auto-disabled' } });
    const got = await api('GET', `/v1/webhooks/${failing.id}`);
    expect(got.body.data).toMatchObject({ status: 'auto-disabled', disabled_reason: `no successful delivery for ${AUTO_DISABLE_MS / 1000} s` });
    const attempts = await attemptsOf(failing.id);
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts[attempts.length - 1]?.error).toMatch(/ECONNREFUSED/);
  });
});
