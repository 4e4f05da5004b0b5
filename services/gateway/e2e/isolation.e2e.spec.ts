import { callJson, eventually, startRelay, type RelayUnderTest } from '@relay/testing';

interface Res {
  status: number;
  body: Record<string, unknown> & { data?: unknown };
}

/**
 * Two teams × every public route: nothing one team wrote is visible to, changeable by or
 * triggerable by the other, and another team's ids answer 404 (never 403: no existence
 * leak). The last test fails when a route appears that this suite does not walk yet.
 */
describe('isolation between teams', () => {
  let relay: RelayUnderTest;
  let a: { teamId: string; apiKey: string };
  let b: { teamId: string; apiKey: string };
  let staging: { teamId: string; apiKey: string };
  let eventA: string;

  const call = (key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> =>
    callJson<Res['body']>(`${relay.gatewayUrl}${path}`, method, body, { 'x-api-key': key, ...headers });
  const definition = (codeName: string) => ({
    name: `Type ${codeName}`,
    code_name: codeName,
    properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] },
  });
  const payload = { contact: { email: 'marie@example.com' }, metaData: { order_id: 1 } };
  const codeNames = async (key: string) => ((await call(key, 'GET', '/v1/events?limit=200')).body.data as { code_name: string }[]).map((t) => t.code_name);

  /** Route templates (OpenAPI) this suite walks; the admin surface is cross-team by design (admin token). */
  const WALKED = new Set([
    'POST /v1/events',
    'GET /v1/events',
    'GET /v1/events/{code_name}',
    'PATCH /v1/events/{code_name}',
    'DELETE /v1/events/{code_name}',
    'POST /v1/events/trigger/{code_name}',
    'GET /v1/event-histories',
    'GET /v1/event-histories/{event_id}',
    'POST /api/v1/events/send',
    'POST /api/v1/events/trigger',
    'POST /http/v1/collect',
    'POST /v1/webhooks',
    'GET /v1/webhooks',
    'GET /v1/webhooks/{id}',
    'PATCH /v1/webhooks/{id}',
    'DELETE /v1/webhooks/{id}',
    'POST /v1/webhooks/{id}/rotate-secret',
    'GET /v1/webhooks/{id}/attempts',
    'POST /v1/webhooks/{id}/replay',
    'POST /v1/scenarios',
    'GET /v1/scenarios',
    'GET /v1/scenarios/{id}',
    'PATCH /v1/scenarios/{id}',
    'DELETE /v1/scenarios/{id}',
    'POST /v1/contacts',
    'GET /v1/contacts',
    'PUT /v1/contacts/{id}',
    'GET /v1/contacts/{id}',
    'DELETE /v1/contacts/{id}',
    'POST /v1/contacts/import',
    'GET /v1/triggers/{id}',
    'GET /v1/triggers/{id}/workflow',
    'GET /api/v1/triggers/{id}',
    'GET /api/v1/triggers/{id}/workflow',
  ]);

  /** Never called: the suite runs without the dispatcher (what crosses is decided by the matcher, checked through triggers). */
  const receiverUrl = 'http://127.0.0.1:9/a-hook';

  beforeAll(async () => {
    // Every stage that decides what a team sees; the dispatcher only sends what the matcher
    // decided (its own e2e covers that). Loopback URLs are refused by default (SSRF guard):
    // the endpoints below use 127.0.0.1:9, allowed by exact host:port, and are never called.
    relay = await startRelay({
      services: ['gateway', 'validator', 'matcher', 'history'],
      env: { RELAY_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1:9' },
    });
    a = { teamId: relay.teamId, apiKey: relay.apiKey };
    b = await relay.addTeam();
    staging = await relay.addTeam('staging');
    for (const key of [a.apiKey, staging.apiKey]) expect((await call(key, 'POST', '/v1/events', definition('a_only'))).status).toBe(201);
    expect((await call(a.apiKey, 'POST', '/v1/events', definition('shared_name'))).status).toBe(201);
    const fired = await call(a.apiKey, 'POST', '/v1/events/trigger/a_only', payload);
    expect(fired.status).toBe(202);
    eventA = fired.body.event_id as string;
  }, 180000);

  afterAll(async () => {
    await relay?.stop();
  }, 60000);

  it("event types: the other team's code_names are free, invisible and unknown (404)", async () => {
    // Same code_name in another team: its own namespace, not a 409.
    expect((await call(b.apiKey, 'POST', '/v1/events', definition('shared_name'))).status).toBe(201);
    expect(await codeNames(b.apiKey)).toEqual(['shared_name']);
    expect((await codeNames(a.apiKey)).sort()).toEqual(['a_only', 'shared_name']);

    const get = await call(b.apiKey, 'GET', '/v1/events/a_only');
    expect(get.status).toBe(404);
    expect(get.body).toMatchObject({ success: false, code: 'EVENT_TYPE_NOT_FOUND' });
    expect((await call(b.apiKey, 'PATCH', '/v1/events/a_only', { name: 'hijacked' })).status).toBe(404);
    expect((await call(b.apiKey, 'DELETE', '/v1/events/a_only')).status).toBe(404);
    // B's change of its own shared_name leaves A's untouched.
    expect((await call(b.apiKey, 'PATCH', '/v1/events/shared_name', { name: 'B version' })).status).toBe(200);

    const still = await call(a.apiKey, 'GET', '/v1/events/a_only');
    expect(still.body.data).toMatchObject({ name: 'Type a_only', version: 1 });
    expect((await call(a.apiKey, 'GET', '/v1/events/shared_name')).body.data).toMatchObject({ name: 'Type shared_name', version: 1 });
  });

  it("ingestion: a key cannot trigger another team's event type on any dialect", async () => {
    const trigger = await call(b.apiKey, 'POST', '/v1/events/trigger/a_only', payload);
    expect(trigger.status).toBe(404);
    expect(trigger.body).toMatchObject({ code: 'EVENT_TYPE_NOT_FOUND' });

    const send = { event_name: 'a_only', user_info: { email: 'marie@example.com' }, event_data: { order_id: 1 } };
    expect((await call(b.apiKey, 'POST', '/api/v1/events/send', send, { 'x-team-id': b.teamId })).status).toBe(404);
    // Claiming the other team in X-Team-ID is refused (seed 003: invalid team context).
    const claimed = await call(b.apiKey, 'POST', '/api/v1/events/send', send, { 'x-team-id': a.teamId });
    expect(claimed.status).toBe(401);

    const collect = (partnerId: string) => ({
      type: 'track',
      partnerId,
      partnerSecret: b.apiKey,
      clientId: 'c-1',
      properties: { eventName: 'a_only', order_id: 1 },
      traits: { email: 'marie@example.com' },
      context: { debug: true },
    });
    const collectOwn = await call(b.apiKey, 'POST', '/http/v1/collect', collect(b.teamId));
    expect(collectOwn.status).toBeGreaterThanOrEqual(400);
    expect(collectOwn.status).not.toBe(403);
    expect((await call(b.apiKey, 'POST', '/http/v1/collect', collect(a.teamId))).status).toBe(401);
  });

  it("history: another team's events are invisible, their ids answer 404", async () => {
    const row = await eventually(async () => {
      const res = await call(a.apiKey, 'GET', `/v1/event-histories/${eventA}`);
      return res.status === 200 ? (res.body.data as Record<string, unknown>) : undefined;
    }, 60000);
    expect(row).toMatchObject({ team_id: a.teamId, environment: 'production' });

    expect((await call(b.apiKey, 'GET', `/v1/event-histories/${eventA}`)).status).toBe(404);
    const listB = await call(b.apiKey, 'GET', '/v1/event-histories?limit=100');
    expect(listB.status).toBe(200);
    expect(JSON.stringify(listB.body)).not.toContain(eventA);
    const listBFiltered = await call(b.apiKey, 'GET', '/v1/event-histories?code_name=a_only');
    expect(listBFiltered.body.data).toEqual([]);
  });

  it('staging and production are recorded on every event (envelope.environment)', async () => {
    const fired = await call(staging.apiKey, 'POST', '/v1/events/trigger/a_only', payload);
    expect(fired.status).toBe(202);
    const row = await eventually(async () => {
      const res = await call(staging.apiKey, 'GET', `/v1/event-histories/${fired.body.event_id as string}`);
      return res.status === 200 ? (res.body.data as Record<string, unknown>) : undefined;
    }, 60000);
    expect(row).toMatchObject({ team_id: staging.teamId, environment: 'staging' });
  });

  it("webhooks: B cannot read, change, delete, rotate, replay or list A's endpoint, nor use it in a scenario", async () => {
    const created = await call(a.apiKey, 'POST', '/v1/webhooks', { url: receiverUrl, events: ['shared_name'] });
    expect(created.status).toBe(201);
    const wA = (created.body.data as { id: string }).id;
    expect(created.body.secret).toEqual(expect.any(String));
    const own = await call(b.apiKey, 'POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/b-hook', events: ['shared_name'] });
    expect(own.status).toBe(201);
    const wB = (own.body.data as { id: string }).id;

    for (const [method, path, body] of [
      ['GET', `/v1/webhooks/${wA}`, undefined],
      ['PATCH', `/v1/webhooks/${wA}`, { url: 'http://127.0.0.1:9/hijacked' }],
      ['POST', `/v1/webhooks/${wA}/rotate-secret`, {}],
      ['GET', `/v1/webhooks/${wA}/attempts`, undefined],
      ['POST', `/v1/webhooks/${wA}/replay`, { from: new Date(Date.now() - 3600_000).toISOString() }],
      ['DELETE', `/v1/webhooks/${wA}`, undefined],
    ] as const) {
      const res = await call(b.apiKey, method, path, body);
      expect({ method, path, status: res.status, code: res.body?.code }).toEqual({ method, path, status: 404, code: 'WEBHOOK_NOT_FOUND' });
    }
    const listB = await call(b.apiKey, 'GET', '/v1/webhooks?limit=200');
    expect(listB.status).toBe(200);
    expect((listB.body.data as { id: string }[]).map((w) => w.id)).toEqual([wB]);
    const listA = (await call(a.apiKey, 'GET', '/v1/webhooks?limit=200')).body.data as { id: string; url: string }[];
    expect(listA.map((w) => w.id)).toEqual([wA]);
    // Untouched by B's attempts (URL not hijacked, still there after B's DELETE).
    expect(listA[0]?.url).toBe(receiverUrl);

    // B cannot point its own scenario at A's endpoint: A's id is unknown to B (never 403).
    const borrow = await call(b.apiKey, 'POST', '/v1/scenarios', {
      name: 'borrow',
      code_names: ['shared_name'],
      actions: [{ type: 'webhook', webhook_id: wA }],
    });
    expect(borrow.status).toBe(400);
    // A body naming an unknown webhook is invalid (WEBHOOK_NOT_FOUND is the 404 of a path id).
    expect(borrow.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [`Webhook endpoint not found: ${wA}`] });
  });

  it("scenarios: B cannot read, change, delete or list A's scenario; A's scenario never fires on B's event of the same code_name", async () => {
    const wA = ((await call(a.apiKey, 'GET', '/v1/webhooks?limit=200')).body.data as { id: string }[])[0]?.id as string;
    expect(wA).toBeDefined();
    const created = await call(a.apiKey, 'POST', '/v1/scenarios', {
      name: 'A on shared_name',
      code_names: ['shared_name', 'dry_shared'],
      actions: [{ type: 'webhook', webhook_id: wA }],
    });
    expect(created.status).toBe(201);
    const sA = (created.body.data as { id: string }).id;

    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { status: 'paused' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await call(b.apiKey, method, `/v1/scenarios/${sA}`, body);
      expect({ method, status: res.status, code: res.body?.code }).toEqual({ method, status: 404, code: 'SCENARIO_NOT_FOUND' });
    }
    const listB = await call(b.apiKey, 'GET', '/v1/scenarios?limit=200');
    expect(listB.status).toBe(200);
    expect(listB.body.data).toEqual([]);
    expect((await call(b.apiKey, 'GET', '/v1/scenarios?code_name=shared_name')).body.data).toEqual([]);
    const still = await call(a.apiKey, 'GET', `/v1/scenarios/${sA}`);
    expect(still.body.data).toMatchObject({ id: sA, status: 'active', version: 1 });
    expect(((await call(a.apiKey, 'GET', '/v1/scenarios?limit=200')).body.data as { id: string }[]).map((s) => s.id)).toEqual([sA]);

    // Dry run (seed 003's synchronous trigger): B's report never names A's scenario, A's
    // event types are unknown to B, and B cannot claim A's team.
    if ((await codeNames(b.apiKey)).includes('shared_name') === false) {
      expect((await call(b.apiKey, 'POST', '/v1/events', definition('shared_name'))).status).toBe(201);
    }
    // Seed 003's event_data maps to customData: a type both teams declare that way.
    const sendable = { name: 'Dry', code_name: 'dry_shared', properties: { customData: [{ name: 'order_id', type: 'number', required: true }] } };
    for (const key of [a.apiKey, b.apiKey]) expect((await call(key, 'POST', '/v1/events', sendable)).status).toBe(201);
    const dry = (eventName: string, team: string) =>
      call(
        b.apiKey,
        'POST',
        '/api/v1/events/trigger',
        { event_name: eventName, user_info: { email: 'marie@example.com' }, event_data: { order_id: 1 } },
        { 'x-team-id': team },
      );
    const dryOwn = await dry('dry_shared', b.teamId);
    expect(dryOwn.status).toBe(200);
    expect(JSON.stringify(dryOwn.body)).not.toContain(sA);
    expect(JSON.stringify(dryOwn.body)).not.toContain('A on shared_name');
    expect((await dry('a_only', b.teamId)).status).toBe(404);
    expect((await dry('dry_shared', a.teamId)).status).toBe(401);

    // Triggers: B fires its own shared_name first, then A fires A's. A's scenario and
    // endpoint see A's event only; each team's trigger status is invisible to the other.
    const firedB = await call(b.apiKey, 'POST', '/v1/events/trigger/shared_name', payload);
    expect(firedB.status).toBe(202);
    const eventB = firedB.body.event_id as string;
    const firedA = await call(a.apiKey, 'POST', '/v1/events/trigger/shared_name', payload);
    expect(firedA.status).toBe(202);
    const eventA2 = firedA.body.event_id as string;

    const statusA = await eventually(async () => {
      const res = await call(a.apiKey, 'GET', `/v1/triggers/${eventA2}`);
      return res.status === 200 && res.body.started_at != null ? res.body : undefined;
    }, 60000);
    expect(statusA).toMatchObject({ id: eventA2 });
    // The workflow follows the event history, whose scenario runs land a moment after the status.
    const workflowA = await eventually(async () => {
      const res = await call(a.apiKey, 'GET', `/v1/triggers/${eventA2}/workflow`);
      return res.status === 200 && (res.body.scenarios as unknown[]).length > 0 ? res.body : undefined;
    }, 30000);
    expect((workflowA.scenarios as { scenario_id: string }[]).map((s) => s.scenario_id)).toEqual([sA]);

    for (const path of [`/v1/triggers/${eventA2}`, `/v1/triggers/${eventA2}/workflow`, `/api/v1/triggers/${eventA2}`, `/api/v1/triggers/${eventA2}/workflow`]) {
      const res = await call(b.apiKey, 'GET', path);
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status: 404, code: 'TRIGGER_NOT_FOUND' });
    }
    for (const path of [`/v1/triggers/${eventB}`, `/api/v1/triggers/${eventB}/workflow`]) {
      expect({ path, status: (await call(a.apiKey, 'GET', path)).status }).toEqual({ path, status: 404 });
    }
    // B's own trigger is visible to B and matched none of A's scenarios.
    const statusB = await eventually(async () => {
      const res = await call(b.apiKey, 'GET', `/v1/triggers/${eventB}`);
      return res.status === 200 ? res.body : undefined;
    }, 60000);
    expect(statusB).toMatchObject({ id: eventB });
    const workflowB = await call(b.apiKey, 'GET', `/v1/triggers/${eventB}/workflow`);
    if (workflowB.status === 200) expect(JSON.stringify(workflowB.body)).not.toContain(sA);
    else expect(workflowB.status).toBe(404);
  });

  it("contacts: B cannot read, find, change or delete A's contact; the same identifiers are B's own namespace", async () => {
    const created = await call(a.apiKey, 'POST', '/v1/contacts', {
      email: 'only-a@example.com',
      name: 'Only A',
      external_id: 'ext-a',
      custom_data: { tier: 'gold' },
    });
    expect(created.status).toBe(201);
    const cA = (created.body.data as { id: string }).id;

    expect((await call(b.apiKey, 'GET', `/v1/contacts/${cA}`)).body).toMatchObject({ statusCode: 404, code: 'CONTACT_NOT_FOUND' });
    for (const query of ['email=only-a@example.com', 'external_id=ext-a']) {
      expect({ query, status: (await call(b.apiKey, 'GET', `/v1/contacts?${query}`)).status }).toEqual({ query, status: 404 });
    }
    expect((await call(b.apiKey, 'DELETE', `/v1/contacts/${cA}`)).status).toBe(404);

    // PUT by id upserts into B's namespace: a new contact of B's, nothing of A's shows through.
    const put = await call(b.apiKey, 'PUT', `/v1/contacts/${cA}`, { email: 'b-own@example.com' });
    expect([200, 201]).toContain(put.status);
    expect(put.body.data).toMatchObject({ email: 'b-own@example.com' });
    expect(JSON.stringify(put.body)).not.toMatch(/only-a@example\.com|Only A|ext-a|gold/);
    // The same email in B is B's own contact, not A's.
    const sameEmail = await call(b.apiKey, 'POST', '/v1/contacts', { email: 'only-a@example.com' });
    expect(sameEmail.status).toBe(201);
    expect(JSON.stringify(sameEmail.body)).not.toMatch(/Only A|ext-a|gold/);

    const stillA = await call(a.apiKey, 'GET', `/v1/contacts/${cA}`);
    expect(stillA.status).toBe(200);
    expect(stillA.body.data).toMatchObject({ id: cA, email: 'only-a@example.com', name: 'Only A', external_id: 'ext-a', custom_data: { tier: 'gold' } });
    expect((await call(a.apiKey, 'GET', '/v1/contacts?email=b-own@example.com')).status).toBe(404);

    // Bulk import (NDJSON): the same rules, line by line.
    const importAs = async (key: string, lines: unknown[]) => {
      const res = await fetch(`${relay.gatewayUrl}/v1/contacts/import`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/x-ndjson' },
        body: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
      });
      expect(res.status).toBe(200);
      const out = (await res.text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string });
      expect(out[out.length - 1]?.type).toBe('done');
    };
    await importAs(a.apiKey, [{ email: 'imported-a@example.com', name: 'Imported A' }]);
    expect((await call(a.apiKey, 'GET', '/v1/contacts?email=imported-a@example.com')).status).toBe(200);
    expect((await call(b.apiKey, 'GET', '/v1/contacts?email=imported-a@example.com')).status).toBe(404);
    await importAs(b.apiKey, [{ id: cA, email: 'b-import@example.com', name: 'B import' }]);
    expect((await call(a.apiKey, 'GET', `/v1/contacts/${cA}`)).body.data).toMatchObject({ email: 'only-a@example.com', name: 'Only A' });
    expect((await call(a.apiKey, 'GET', '/v1/contacts?email=b-import@example.com')).status).toBe(404);
  });

  const served = async (): Promise<string[]> => {
    const doc = (await (await fetch(`${relay.gatewayUrl}/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  };
  /** Not team data: operators' endpoints (admin token) and probes. */
  const infrastructure = (route: string) => / \/(admin\/v1\/|metrics$|health\/)/.test(route);

  it("routes by id (resources of other features): another team's or an unknown id answers 404, never 403 or 2xx", async () => {
    // The foreign id is a real id of team A wherever A has one (event ids); elsewhere an
    // id that exists in no team: both must look the same to B.
    const byId = (await served())
      .filter((r) => /\{[a-z_]+\}/.test(r) && !WALKED.has(r) && !infrastructure(r))
      // Upserts last: a PUT may create B's own record under that id, which a later GET would then rightly find.
      .sort((x, y) => Number(x.startsWith('PUT ')) - Number(y.startsWith('PUT ')));
    for (const route of byId) {
      const [method, template] = route.split(' ') as [string, string];
      const url = template.replace(/\{[a-z_]+\}/g, eventA);
      const res = await call(b.apiKey, method, url, method === 'GET' || method === 'DELETE' ? undefined : {});
      // PUT by id is an upsert into the caller's own namespace (contacts by external id): it
      // may create B's own record; it must never reveal A's (no 403, no 409 on A's id).
      const allowed = method === 'PUT' ? [200, 201, 400, 404] : [400, 404];
      expect({ route, status: res.status, ok: allowed.includes(res.status) }).toEqual({ route, status: res.status, ok: true });
    }
  });

  it('walks every public route the gateway serves (fails when a new route is not covered here)', async () => {
    const routes = await served();
    // Routes by id of other features get the probe above; their list/create routes must be walked here.
    const uncovered = routes.filter((r) => !WALKED.has(r) && !infrastructure(r) && !/\{[a-z_]+\}/.test(r));
    expect(uncovered).toEqual([]);
    expect(routes.length).toBeGreaterThanOrEqual(WALKED.size);
  });
});
