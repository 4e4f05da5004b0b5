import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startRelayServices, type RelayServices } from '@relay/local-stack';
import { callJson, REPO_ROOT, instanceSpec, startRelay, type RelayUnderTest } from '@relay/testing';

const run = promisify(execFile);
const ADMIN_TOKEN = 'rly_admin_test_0123456789abcdef';
const CACHE_MS = 2000;

interface Res {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { data?: unknown };
}

/**
 * Tenancy on real PostgreSQL, Kafka and Apicurio: the admin API and CLI, the key
 * lifecycle, the revocation bound on other gateway instances, rate limits shared across
 * instances, and the audit trail.
 */
describe('tenancy: admin API, key lifecycle, rate limits, audit', () => {
  let relay: RelayUnderTest;
  let others: RelayServices;
  let gatewayB: string; // same database, key change feed on
  let gatewayC: string; // same database, feed off: the cache TTL is the only bound
  let logDir: string;
  const secrets: string[] = [ADMIN_TOKEN];

  const http = (base: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    callJson<Res['body']>(`${base}${route}`, method, body, headers);
  const admin = (method: string, route: string, body?: unknown) =>
    http(relay.gatewayUrl, method, `/admin/v1${route}`, body, { authorization: `Bearer ${ADMIN_TOKEN}` });
  const asKey = (key: string, method: string, route: string, body?: unknown, base = relay.gatewayUrl) => http(base, method, route, body, { 'x-api-key': key });
  const trigger = (key: string, base = relay.gatewayUrl) =>
    asKey(key, 'POST', '/v1/events/trigger/signup', { contact: { email: 'marie@example.com' }, metaData: { plan: 'pro' } }, base);
  const newTeam = async (body: Record<string, unknown> = {}) => {
    const res = await admin('POST', '/teams', { name: `team ${Math.random().toString(36).slice(2, 8)}`, ...body });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const newKey = async (teamId: string, body: Record<string, unknown> = {}) => {
    const res = await admin('POST', `/teams/${teamId}/keys`, { environment: 'production', ...body });
    expect(res.status).toBe(201);
    secrets.push(res.body.key as string);
    return { id: res.body.id as string, key: res.body.key as string, prefix: res.body.prefix as string };
  };
  const declareSignup = async (key: string) => {
    const res = await asKey(key, 'POST', '/v1/events', {
      name: 'Signup',
      code_name: 'signup',
      properties: { metaData: [{ name: 'plan', type: 'text', required: true }] },
    });
    expect(res.status).toBe(201);
  };
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, ['-r', path.join(REPO_ROOT, 'tools/register.js'), path.join(REPO_ROOT, 'tools/relay-cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, RELAY_ADMIN_URL: relay.gatewayUrl, RELAY_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    return stdout;
  };

  beforeAll(async () => {
    relay = await startRelay({ services: ['gateway'], env: { RELAY_ADMIN_TOKEN: ADMIN_TOKEN, RELAY_API_KEY_CACHE_MS: String(CACHE_MS) } });
    logDir = mkdtempSync(path.join(tmpdir(), 'relay-gw2-'));
    // Each on its own HTTP and metrics ports; C without the change feed.
    const [b, c] = [await instanceSpec('gateway'), await instanceSpec('gateway')];
    c.env.RELAY_API_KEY_CHANGE_FEED = 'false';
    const env = {
      RELAY_LOG_LEVEL: 'warn',
      RELAY_KAFKA_BROKERS: relay.infra.brokers.join(','),
      RELAY_REGISTRY_URL: relay.infra.registryUrl,
      RELAY_PG_URL: relay.pgUrl,
      RELAY_TOPIC_PREFIX: relay.topicPrefix,
      RELAY_HISTORY_URL: `http://127.0.0.1:${relay.ports.history}`,
      RELAY_HISTORY_TOKEN: relay.historyToken,
      RELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      RELAY_API_KEY_CACHE_MS: String(CACHE_MS),
    };
    others = await startRelayServices([b, c], { root: REPO_ROOT, logDir, env, readyTimeoutMs: 90000 });
    gatewayB = `http://127.0.0.1:${b.port}`;
    gatewayC = `http://127.0.0.1:${c.port}`;
  }, 240000);

  afterAll(async () => {
    await others?.stop();
    await relay?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }, 60000);

  it('guards /admin/v1 with the admin token (constant-time compare) and never accepts an API key there', async () => {
    expect((await http(relay.gatewayUrl, 'GET', '/admin/v1/teams')).status).toBe(401);
    expect((await http(relay.gatewayUrl, 'GET', '/admin/v1/teams', undefined, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const asApiKey = await http(relay.gatewayUrl, 'GET', '/admin/v1/teams', undefined, { authorization: `Bearer ${relay.apiKey}` });
    expect(asApiKey.status).toBe(401);
    expect(asApiKey.body).toMatchObject({ statusCode: 401, success: false, code: 'UNAUTHORIZED' });
    expect((await admin('GET', '/teams')).status).toBe(200);
  });

  it('creates teams and keys; the key is shown once, listed by prefix only, and works at once', async () => {
    const teamId = await newTeam();
    const prod = await newKey(teamId, { name: 'pos', rate_limit: { requests: 50, per: 'PT1S' } });
    expect(prod.key).toMatch(/^rly_live_[A-Za-z0-9_-]{32}$/);
    expect(prod.key.startsWith(prod.prefix)).toBe(true);
    const staging = await newKey(teamId, { environment: 'staging' });
    expect(staging.key).toMatch(/^rly_test_/);

    const list = await admin('GET', `/teams/${teamId}/keys`);
    expect(list.status).toBe(200);
    const keys = list.body.data as Record<string, unknown>[];
    expect(keys.map((k) => k.id).sort()).toEqual([prod.id, staging.id].sort());
    expect(keys.find((k) => k.id === prod.id)).toMatchObject({
      prefix: prod.prefix,
      environment: 'production',
      status: 'active',
      rate_limit: { requests: 50, per: 'PT1S' },
    });
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(prod.key);
    expect(text).not.toContain(staging.key);
    expect(text).not.toMatch(/hash/);

    expect((await asKey(prod.key, 'GET', '/v1/events')).status).toBe(200);
    expect((await admin('GET', '/teams/no-such-team/keys')).status).toBe(404);
    expect((await admin('POST', '/keys/no-such-key/revoke')).body).toMatchObject({ statusCode: 404, code: 'KEY_NOT_FOUND' });
    const bad = await admin('POST', `/teams/${teamId}/keys`, { environment: 'prod', rate_limit: { requests: 0, per: 'soon' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toHaveLength(3);
  });

  it("follows seed 001's lifecycle: deactivated → 401, re-activated → works, revoked → 401 for good", async () => {
    const teamId = await newTeam();
    const k = await newKey(teamId);
    expect((await asKey(k.key, 'GET', '/v1/events')).status).toBe(200);

    expect((await admin('POST', `/keys/${k.id}/deactivate`)).body).toMatchObject({ id: k.id, status: 'deactivated' });
    expect((await asKey(k.key, 'GET', '/v1/events')).status).toBe(401);
    expect((await admin('POST', `/keys/${k.id}/deactivate`)).status).toBe(200); // repeat: no-op

    expect((await admin('POST', `/keys/${k.id}/activate`)).body).toMatchObject({ status: 'active' });
    expect((await asKey(k.key, 'GET', '/v1/events')).status).toBe(200);
    // Repeating the current state is a no-op (safe retries), not a transition.
    const again = await admin('POST', `/keys/${k.id}/activate`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'active' });

    expect((await admin('POST', `/keys/${k.id}/revoke`)).body).toMatchObject({ status: 'revoked' });
    const after = await asKey(k.key, 'GET', '/v1/events');
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
    expect((await admin('POST', `/keys/${k.id}/activate`)).body).toMatchObject({ statusCode: 409, code: 'KEY_REVOKED' });
    expect((await admin('POST', `/keys/${k.id}/deactivate`)).body).toMatchObject({ statusCode: 409, code: 'KEY_REVOKED' });
  });

  it('rotates: without overlap the old key stops at once; with an overlap both work until it ends', async () => {
    const teamId = await newTeam();
    const k = await newKey(teamId, { rate_limit: { requests: 100, per: 'PT1M' } });
    const rotated = await admin('POST', `/keys/${k.id}/rotate`);
    expect(rotated.status).toBe(201);
    secrets.push(rotated.body.key as string);
    expect(rotated.body).toMatchObject({
      rotated_from: k.id,
      environment: 'production',
      rate_limit: { requests: 100, per: 'PT1M' },
      previous: { id: k.id, status: 'revoked' },
    });
    expect((await asKey(k.key, 'GET', '/v1/events')).status).toBe(401);
    expect((await asKey(rotated.body.key as string, 'GET', '/v1/events')).status).toBe(200);

    const k2 = await newKey(teamId);
    const soft = await admin('POST', `/keys/${k2.id}/rotate`, { overlap: 'PT1H' });
    secrets.push(soft.body.key as string);
    const stopsAt = Date.parse((soft.body.previous as { expires_at: string }).expires_at);
    expect(stopsAt - Date.now()).toBeGreaterThan(3500 * 1000);
    expect((await asKey(k2.key, 'GET', '/v1/events')).status).toBe(200);
    expect((await asKey(soft.body.key as string, 'GET', '/v1/events')).status).toBe(200);
  });

  it('a revoked key answers 401 on every other gateway instance from the first request after the revocation, change feed or not', async () => {
    const teamId = await newTeam();
    const k = await newKey(teamId);
    // Warm both instances' caches: until a change they answer from memory.
    expect((await asKey(k.key, 'GET', '/v1/events', undefined, gatewayB)).status).toBe(200);
    expect((await asKey(k.key, 'GET', '/v1/events', undefined, gatewayC)).status).toBe(200);

    expect((await admin('POST', `/keys/${k.id}/revoke`)).status).toBe(200);
    const [withFeed, withoutFeed] = await Promise.all([
      asKey(k.key, 'GET', '/v1/events', undefined, gatewayB),
      asKey(k.key, 'GET', '/v1/events', undefined, gatewayC),
    ]);
    expect(withFeed.status).toBe(401);
    expect(withoutFeed.status).toBe(401);
  });

  it('over the key limit: 429 RATE_LIMITED with Retry-After and RateLimit-*; honouring Retry-After lets the next request through', async () => {
    const teamId = await newTeam();
    const k = await newKey(teamId, { rate_limit: { requests: 3, per: 'PT2S' } });
    await declareSignup(k.key);

    // Align to a fresh window so the burst below falls inside one window.
    let first = await trigger(k.key);
    while (first.status !== 202) {
      await new Promise((r) => setTimeout(r, Number(first.headers.get('retry-after') ?? 1) * 1000));
      first = await trigger(k.key);
    }
    expect(first.headers.get('ratelimit-limit')).toBe('3');
    const statuses = [first.status];
    let limited: Res | undefined;
    for (let i = 0; i < 5 && !limited; i++) {
      const res = await trigger(k.key);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses.filter((s) => s === 202).length).toBeLessThanOrEqual(3);
    expect(limited).toBeDefined();
    const l = limited as Res;
    expect(l.body).toMatchObject({ statusCode: 429, success: false, code: 'RATE_LIMITED', errors: [expect.stringContaining('API key')] });
    const retryAfter = Number(l.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(l.headers.get('ratelimit-limit')).toBe('3');
    expect(l.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(l.headers.get('ratelimit-reset'))).toBe(retryAfter);

    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    const next = await trigger(k.key);
    expect(next.status).toBe(202);
    expect(next.headers.get('ratelimit-remaining')).toBe('2');

    const metrics = await (await fetch(`${relay.gatewayMetricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/relay_rate_limited_total\{[^}]*scope="key"[^}]*route="\/v1\/events\/trigger\/:code_name"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/relay_rate_limit_check_duration_seconds_count\{[^}]*\} [1-9]/);
  });

  it('the Simon-style collect route (key in the body) is rate limited like the others: 429 + Retry-After, bad keys not counted', async () => {
    const teamId = await newTeam();
    const k = await newKey(teamId, { rate_limit: { requests: 2, per: 'PT1M' } });
    const identify = (body: Record<string, unknown> = {}) =>
      http(relay.gatewayUrl, 'POST', '/http/v1/collect', {
        type: 'identify',
        partnerId: teamId,
        partnerSecret: k.key,
        clientId: 'c-1',
        traits: { email: 'marie@example.com' },
        ...body,
      });
    // Refused before the limiter (wrong team): does not use the key's budget.
    expect((await identify({ partnerId: relay.teamId })).status).toBe(401);
    const ok = await identify();
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-limit')).toBe('2');
    expect(ok.headers.get('ratelimit-remaining')).toBe('1');
    expect((await identify()).status).toBe(200);
    const limited = await identify();
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, success: false, code: 'RATE_LIMITED', errors: [expect.stringContaining('API key')] });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(1);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    const metrics = await (await fetch(`${relay.gatewayMetricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/relay_rate_limited_total\{[^}]*scope="key"[^}]*route="\/http\/v1\/collect"[^}]*\} [1-9]/);
  });

  it("a team's (plan) limit is shared by its keys and holds across gateway instances", async () => {
    const teamId = await newTeam({ rate_limit: { requests: 4, per: 'PT1M' } });
    const a = await newKey(teamId);
    const b = await newKey(teamId);
    await declareSignup(a.key);
    const results: Res[] = [];
    // Alternate keys and instances: per-instance or per-key counting would let 8+ through.
    for (const [key, base] of [
      [a.key, relay.gatewayUrl],
      [b.key, gatewayB],
      [a.key, gatewayC],
      [b.key, relay.gatewayUrl],
      [a.key, gatewayB],
      [b.key, gatewayC],
      [a.key, relay.gatewayUrl],
      [b.key, gatewayB],
    ] as const) {
      results.push(await trigger(key, base));
    }
    expect(results.map((r) => r.status)).toEqual([202, 202, 202, 202, 429, 429, 429, 429]);
    expect(results[4]?.body).toMatchObject({ code: 'RATE_LIMITED', errors: [expect.stringContaining('team')] });
    expect(Number(results[4]?.headers.get('retry-after'))).toBeGreaterThan(1);
    // Only ingestion is limited: reads and definitions stay available.
    expect((await asKey(a.key, 'GET', '/v1/events')).status).toBe(200);
  });

  it('enforces the payload and request limits of docs/tenancy.md with the documented statuses', async () => {
    const key = relay.apiKey;
    const defined = await asKey(key, 'POST', '/v1/events', {
      name: 'Limits',
      code_name: 'limits',
      properties: { metaData: [{ name: 'blob', type: 'json', required: false }], customData: [] },
    });
    expect(defined.status).toBe(201);
    const fire = (metaData: unknown) => asKey(key, 'POST', '/v1/events/trigger/limits', { contact: { email: 'marie@example.com' }, metaData });

    const huge = await fire({ blob: 'x'.repeat(300 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });

    const wide = await fire(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, i])));
    expect(wide.status).toBe(400);
    expect(wide.body.errors).toContain('Too many properties in metaData: 101 (at most 100)');

    let deep: unknown = 1;
    for (let i = 0; i < 11; i++) deep = { d: deep };
    const nested = await fire({ blob: deep });
    expect(nested.status).toBe(400);
    expect(String((nested.body.errors as string[])[0])).toContain('at most 10 levels of nesting');

    const many = await fire({ blob: Array.from({ length: 1001 }, (_, i) => i) });
    expect(many.status).toBe(400);
    expect(many.body.errors).toContain('Payload too large: more than 1000 keys and array elements in total');

    const tooManyFields = await asKey(key, 'POST', '/v1/events', {
      name: 'Wide',
      code_name: 'wide',
      properties: { metaData: Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, type: 'text' })) },
    });
    expect(tooManyFields.status).toBe(400);
    expect((await asKey(key, 'GET', '/v1/events?limit=201')).body).toMatchObject({ statusCode: 400, code: 'INVALID_QUERY' });
    expect((await admin('GET', `/teams/${relay.teamId}/audit?limit=501`)).status).toBe(400);
  });

  it('the CLI mirrors the admin API (--json) and prints tables', async () => {
    const team = JSON.parse(await cli('teams', 'create', 'CLI team', '--plan', 'starter', '--json')) as Record<string, unknown>;
    expect(team).toMatchObject({ name: 'CLI team', plan: 'starter', rate_limit: { requests: 1000, per: 'PT1H' } });
    const teamId = team.id as string;
    const key = JSON.parse(await cli('keys', 'create', '--team', teamId, '--env', 'staging', '--rate-limit', '50/PT1S', '--json')) as Record<string, unknown>;
    secrets.push(key.key as string);
    expect(key).toMatchObject({ environment: 'staging', status: 'active', rate_limit: { requests: 50, per: 'PT1S' } });
    expect(key.key).toMatch(/^rly_test_/);
    expect((await asKey(key.key as string, 'GET', '/v1/events')).status).toBe(200);

    const listed = await cli('keys', 'list', '--team', teamId);
    expect(listed).toContain(key.prefix as string);
    expect(listed).not.toContain(key.key as string);
    expect(JSON.parse(await cli('keys', 'deactivate', key.id as string, '--json'))).toMatchObject({ status: 'deactivated' });
    expect(JSON.parse(await cli('keys', 'activate', key.id as string, '--json'))).toMatchObject({ status: 'active' });
    const rotated = JSON.parse(await cli('keys', 'rotate', key.id as string, '--json')) as Record<string, unknown>;
    secrets.push(rotated.key as string);
    expect(JSON.parse(await cli('keys', 'revoke', rotated.id as string, '--json'))).toMatchObject({ status: 'revoked' });
    const audit = JSON.parse(await cli('audit', '--team', teamId, '--json')) as { data: { action: string }[] };
    expect(audit.data.map((e) => e.action)).toEqual(['key.revoked', 'key.rotated', 'key.activated', 'key.deactivated', 'key.created', 'team.created']);
    await expect(cli('keys', 'activate', rotated.id as string)).rejects.toMatchObject({ stderr: expect.stringContaining('409 KEY_REVOKED') });
  });

  it('the audit trail records who changed what and when, per team, and holds no secret', async () => {
    const teamId = await newTeam();
    const k = await newKey(teamId, { name: 'erp' });
    await declareSignup(k.key);
    expect((await asKey(k.key, 'PATCH', '/v1/events/signup', { name: 'Sign-up' })).status).toBe(200);
    expect((await asKey(k.key, 'DELETE', '/v1/events/signup')).status).toBe(200);
    await admin('POST', `/keys/${k.id}/deactivate`);

    const trail = await admin('GET', `/teams/${teamId}/audit`);
    expect(trail.status).toBe(200);
    const entries = trail.body.data as Record<string, unknown>[];
    expect(entries.map((e) => [e.action, e.actor, e.actor_type])).toEqual([
      ['key.deactivated', 'admin', 'admin'],
      ['event_type.deleted', k.prefix, 'api_key'],
      ['event_type.updated', k.prefix, 'api_key'],
      ['event_type.created', k.prefix, 'api_key'],
      ['key.created', 'admin', 'admin'],
      ['team.created', 'admin', 'admin'],
    ]);
    expect(entries[2]).toMatchObject({ target_type: 'event_type', details: { code_name: 'signup', version: 2, changed: ['name'] } });
    for (const e of entries) expect(Date.parse(e.created_at as string)).toBeGreaterThan(Date.now() - 120000);

    // Per team: another team's trail has none of these.
    const other = await admin('GET', `/teams/${relay.teamId}/audit`);
    expect((other.body.data as Record<string, unknown>[]).some((e) => e.target_id === k.id)).toBe(false);

    // Never a secret, in any team's trail written by this spec.
    const teams = (await admin('GET', '/teams')).body.data as { id: string }[];
    for (const t of teams) {
      const text = JSON.stringify((await admin('GET', `/teams/${t.id}/audit?limit=500`)).body);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/rly_(live|test)_[A-Za-z0-9_-]{32}/);
    }
  });
});
