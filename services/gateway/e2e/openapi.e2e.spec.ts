import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ERROR_CODES } from '@relay/http-api';
import { REPO_ROOT, startRelay, type RelayUnderTest } from '@relay/testing';

const CHECKED_IN = path.join(REPO_ROOT, 'docs', 'openapi.json');
const ADMIN_TOKEN = 'rly_admin_openapi_0123456789abcdef';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  parameters?: { name: string; in: string; required?: boolean }[];
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

/**
 * The contract: the running gateway's OpenAPI document is the checked-in docs/openapi.json
 * (so a change to the contract shows in review; RELAY_UPDATE_OPENAPI=1 rewrites it), every
 * operation documents how to authenticate and what it answers, and real answers — valid and
 * invalid input, on every route — match the document (ajv).
 */
describe('OpenAPI contract of the gateway', () => {
  let relay: RelayUnderTest;
  let doc: Document;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();

  beforeAll(async () => {
    // The validator and history too: the history and trigger routes answer from what they recorded.
    relay = await startRelay({
      services: ['gateway', 'validator', 'history'],
      env: { RELAY_ADMIN_TOKEN: ADMIN_TOKEN, RELAY_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1:9' },
    });
    const res = await fetch(`${relay.gatewayUrl}/docs-json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
    ajv.addSchema({ components: doc.components }, 'doc');
  }, 180000);

  afterAll(async () => {
    await relay?.stop();
  }, 60000);

  const operations = () =>
    Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => ({ path: p, method: m, op: item[m] as Operation })));
  const business = () => operations().filter((o) => /^\/(v1|admin|api\/v1|http\/v1)\//.test(o.path));

  it('is the checked-in docs/openapi.json', () => {
    const served = `${JSON.stringify(doc, null, 2)}\n`;
    if (process.env.RELAY_UPDATE_OPENAPI === '1') writeFileSync(CHECKED_IN, served);
    expect(JSON.parse(readFileSync(CHECKED_IN, 'utf8'))).toEqual(doc);
  });

  it('gives every operation a summary, a 2xx, documented errors in the error schema, and its security', () => {
    expect(business().length).toBeGreaterThan(40);
    const problems: string[] = [];
    for (const { path: p, method, op } of business()) {
      const at = `${method.toUpperCase()} ${p}`;
      if (!op.summary) problems.push(`${at}: no summary`);
      const statuses = Object.keys(op.responses);
      const ok = statuses.filter((s) => s.startsWith('2'));
      if (ok.length === 0) problems.push(`${at}: no 2xx`);
      for (const s of ok) {
        const content = Object.values(op.responses[s]?.content ?? {})[0] as { schema?: unknown; example?: unknown } | undefined;
        if (!content?.schema) problems.push(`${at}: ${s} without a schema`);
        if (content?.example === undefined) problems.push(`${at}: ${s} without an example`);
      }
      const takesBody = ['post', 'put', 'patch'].includes(method) && !/\/keys\/\{id\}\/(activate|deactivate|revoke)$/.test(p);
      if (takesBody && !op.requestBody) problems.push(`${at}: no request schema`);
      const errors = statuses.filter((s) => Number(s) >= 400);
      if (errors.length === 0) problems.push(`${at}: no documented error`);
      for (const s of errors) {
        const ref = (op.responses[s]?.content?.['application/json']?.schema as { $ref?: string } | undefined)?.$ref;
        if (!ref?.startsWith('#/components/schemas/')) problems.push(`${at}: ${s} without the error schema`);
      }
      if (p !== '/http/v1/collect' && !op.security?.length) problems.push(`${at}: no security requirement`);
      if (op.parameters?.some((h) => h.in === 'header' && h.name.toLowerCase() === 'idempotency-key' && h.required))
        problems.push(`${at}: Idempotency-Key required`);
    }
    expect(problems).toEqual([]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['admin-token', 'api-key', 'api-key-bearer', 'spm-api-key']);
    expect(doc.paths['/admin/v1/teams']?.get?.security).toEqual([{ 'admin-token': [] }]);
    expect(doc.paths['/v1/events']?.get?.security).toEqual([{ 'api-key': [] }, { 'api-key-bearer': [] }, { 'spm-api-key': [] }]);
  });

  it('documents the health routes with a summary and their answers, and they answer as documented (/metrics is on the internal metrics port, not here)', async () => {
    const others = operations().filter((o) => !/^\/(v1|admin|api\/v1|http\/v1)\//.test(o.path));
    expect(others.map((o) => `${o.method} ${o.path}`).sort()).toEqual(['get /health/live', 'get /health/ready']);
    for (const { path: p, op } of others) {
      expect({ p, summary: Boolean(op.summary) }).toEqual({ p, summary: true });
      expect({ p, schema: Boolean(Object.values(op.responses['200']?.content ?? {})[0]?.schema) }).toEqual({ p, schema: true });
      expect({ p, errors: Object.keys(op.responses).some((s) => Number(s) >= 400) }).toEqual({ p, errors: true });
    }
    expect((await call('get', '/health/live', '/health/live', undefined, {})).status).toBe(200);
    expect((await call('get', '/health/ready', '/health/ready', undefined, {})).status).toBe(200);
    expect((await fetch(`${relay.gatewayUrl}/metrics`)).status).toBe(404);
    const metrics = await fetch(`${relay.gatewayMetricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('lists every registered code in the error schema', () => {
    const error = doc.components.schemas.Error as { properties: { code: { enum: string[] } } };
    expect(error.properties.code.enum.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  /** Per operation, the status classes it answered in this run (valid input: 2xx, invalid: 4xx). */
  const answers = new Map<string, Set<string>>();

  /** Calls the gateway and checks the answer against the operation's documented response for its status. */
  async function call(
    method: (typeof METHODS)[number],
    template: string,
    concrete: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const raw = typeof body === 'string';
    const res = await fetch(`${relay.gatewayUrl}${concrete}`, {
      method: method.toUpperCase(),
      headers: { ...(body !== undefined ? { 'content-type': raw ? 'application/x-ndjson' : 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    // An NDJSON answer (the import) is checked line by line; its last line is returned.
    const ndjson = (res.headers.get('content-type') ?? '').startsWith('application/x-ndjson');
    const lines = ndjson
      ? text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
    const parsed = (ndjson ? lines.at(-1) : text ? JSON.parse(text) : null) as Record<string, unknown>;
    const opKey = `${method} ${template}`;
    answers.set(opKey, (answers.get(opKey) ?? new Set()).add(`${String(res.status)[0]}xx`));
    const op = doc.paths[template]?.[method];
    expect({ route: `${method} ${template}`, documented: op !== undefined }).toEqual({ route: `${method} ${template}`, documented: true });
    const response = op?.responses[String(res.status)];
    const answered = { route: `${method} ${concrete}`, status: res.status };
    expect({ ...answered, documented: response !== undefined }).toEqual({ ...answered, documented: true });
    const schema = Object.values(response?.content ?? {})[0]?.schema;
    if (schema) {
      const key = `${method} ${template} ${res.status}`;
      let validate = validators.get(key);
      if (!validate) {
        validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as object);
        validators.set(key, validate);
      }
      for (const item of ndjson ? lines : [parsed]) {
        const valid = validate(item);
        expect({ route: key, valid, errors: valid ? null : { errors: validate.errors, item } }).toEqual({ route: key, valid: true, errors: null });
      }
    }
    return { status: res.status, body: parsed };
  }

  const concreteOf = (template: string) => template.replace(/\{[^}]+\}/g, 'x-unknown');

  it('answers every route without credentials with a documented 401 (or 404 on the unknown id) in the error schema', async () => {
    for (const { path: p, method, op } of business()) {
      if (!op.security?.length) continue;
      const res = await call(method, p, concreteOf(p), method === 'get' || method === 'delete' ? undefined : {}, {});
      expect({ route: `${method} ${p}`, status: res.status }).toEqual({ route: `${method} ${p}`, status: 401 });
    }
  });

  it('answers valid and invalid input on the admin, event type, webhook, scenario and contact routes as documented', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const key = { 'x-api-key': relay.apiKey };
    // admin
    expect((await call('post', '/admin/v1/teams', '/admin/v1/teams', { plan: 'gold', extra: 1 }, admin)).status).toBe(400);
    const team = await call('post', '/admin/v1/teams', '/admin/v1/teams', { name: 'Contract', plan: 'pro' }, admin);
    expect(team.status).toBe(201);
    const teamId = team.body.id as string;
    expect((await call('get', '/admin/v1/teams', '/admin/v1/teams', undefined, admin)).status).toBe(200);
    expect((await call('get', '/admin/v1/teams/{id}', `/admin/v1/teams/${teamId}`, undefined, admin)).status).toBe(200);
    expect((await call('get', '/admin/v1/teams/{id}', '/admin/v1/teams/00000000-0000-0000-0000-000000000000', undefined, admin)).status).toBe(404);
    expect((await call('post', '/admin/v1/teams/{id}/keys', `/admin/v1/teams/${teamId}/keys`, { environment: 'prod' }, admin)).status).toBe(400);
    const created = await call('post', '/admin/v1/teams/{id}/keys', `/admin/v1/teams/${teamId}/keys`, { environment: 'staging' }, admin);
    expect(created.status).toBe(201);
    const keyId = created.body.id as string;
    expect((await call('get', '/admin/v1/teams/{id}/keys', `/admin/v1/teams/${teamId}/keys`, undefined, admin)).status).toBe(200);
    expect((await call('post', '/admin/v1/keys/{id}/rotate', `/admin/v1/keys/${keyId}/rotate`, { overlap: 'soon' }, admin)).status).toBe(400);
    const second = await call('post', '/admin/v1/teams/{id}/keys', `/admin/v1/teams/${teamId}/keys`, { environment: 'production' }, admin);
    expect((await call('post', '/admin/v1/keys/{id}/rotate', `/admin/v1/keys/${second.body.id as string}/rotate`, { overlap: 'PT1M' }, admin)).status).toBe(
      201,
    );
    expect((await call('post', '/admin/v1/keys/{id}/deactivate', `/admin/v1/keys/${keyId}/deactivate`, undefined, admin)).status).toBe(200);
    expect((await call('post', '/admin/v1/keys/{id}/activate', `/admin/v1/keys/${keyId}/activate`, undefined, admin)).status).toBe(200);
    expect((await call('post', '/admin/v1/keys/{id}/revoke', `/admin/v1/keys/${keyId}/revoke`, undefined, admin)).status).toBe(200);
    expect((await call('post', '/admin/v1/keys/{id}/activate', `/admin/v1/keys/${keyId}/activate`, undefined, admin)).status).toBe(409);
    expect((await call('get', '/admin/v1/teams/{id}/audit', `/admin/v1/teams/${teamId}/audit?limit=0`, undefined, admin)).body.code).toBe('INVALID_QUERY');
    expect((await call('get', '/admin/v1/teams/{id}/audit', `/admin/v1/teams/${teamId}/audit?limit=5`, undefined, admin)).status).toBe(200);

    // event types, one code for a bad limit on every list route
    const type = { name: 'Contract order', code_name: 'contract_order', properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] } };
    expect((await call('post', '/v1/events', '/v1/events', type, key)).status).toBe(201);
    expect((await call('post', '/v1/events', '/v1/events', type, key)).status).toBe(409);
    expect((await call('post', '/v1/events', '/v1/events', { name: 1 }, key)).status).toBe(400);
    expect((await call('get', '/v1/events/{code_name}', '/v1/events/contract_order', undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/events/{code_name}', '/v1/events/nope', undefined, key)).body.code).toBe('EVENT_TYPE_NOT_FOUND');
    for (const list of ['/v1/events', '/v1/webhooks', '/v1/scenarios']) {
      expect((await call('get', list, `${list}?limit=201`, undefined, key)).body).toMatchObject({
        code: 'INVALID_QUERY',
        errors: ['limit must be an integer between 1 and 200'],
      });
      expect((await call('get', list, `${list}?limit=2`, undefined, key)).status).toBe(200);
    }

    // webhooks: one create shape, the secret beside the endpoint
    expect((await call('post', '/v1/webhooks', '/v1/webhooks', { url: 'ftp://example.com', events: ['contract_order'] }, key)).body.code).toBe(
      'INVALID_WEBHOOK_URL',
    );
    const hook = await call('post', '/v1/webhooks', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['contract_order'] }, key);
    expect(hook.status).toBe(201);
    expect(Object.keys(hook.body).sort()).toEqual(['data', 'secret', 'success']);
    expect((await call('get', '/v1/webhooks', '/v1/webhooks', undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/webhooks/{id}', `/v1/webhooks/${(hook.body.data as { id: string }).id}`, undefined, key)).body.data).toEqual(hook.body.data);
    expect((await call('patch', '/v1/webhooks/{id}', `/v1/webhooks/${(hook.body.data as { id: string }).id}`, { timeout_ms: 5 }, key)).body.code).toBe(
      'VALIDATION_FAILED',
    );
    expect((await call('patch', '/v1/webhooks/{id}', `/v1/webhooks/${(hook.body.data as { id: string }).id}`, { description: 'contract' }, key)).status).toBe(
      200,
    );
    const hookId = (hook.body.data as { id: string }).id;
    expect((await call('post', '/v1/webhooks/{id}/rotate-secret', `/v1/webhooks/${hookId}/rotate-secret`, { overlap_seconds: -1 }, key)).status).toBe(400);
    expect((await call('post', '/v1/webhooks/{id}/rotate-secret', `/v1/webhooks/${hookId}/rotate-secret`, {}, key)).status).toBe(200);
    expect((await call('get', '/v1/webhooks/{id}/attempts', `/v1/webhooks/${hookId}/attempts?before=yesterday`, undefined, key)).body.code).toBe(
      'INVALID_QUERY',
    );
    expect((await call('get', '/v1/webhooks/{id}/attempts', `/v1/webhooks/${hookId}/attempts`, undefined, key)).status).toBe(200);
    expect((await call('post', '/v1/webhooks/{id}/replay', `/v1/webhooks/${hookId}/replay`, {}, key)).status).toBe(400);
    expect((await call('post', '/v1/webhooks/{id}/replay', `/v1/webhooks/${hookId}/replay`, { delivery_id: 'none' }, key)).body.code).toBe(
      'DELIVERY_NOT_FOUND',
    );
    expect((await call('get', '/v1/webhooks/{id}', '/v1/webhooks/00000000-0000-0000-0000-000000000000', undefined, key)).body.code).toBe('WEBHOOK_NOT_FOUND');

    // scenarios: a body naming an unknown webhook is invalid, not a 404
    const scenario = { name: 'contract', code_names: ['contract_order'], actions: [{ type: 'webhook', webhook_id: '00000000-0000-0000-0000-000000000000' }] };
    expect((await call('post', '/v1/scenarios', '/v1/scenarios', scenario, key)).body.code).toBe('VALIDATION_FAILED');
    const made = await call('post', '/v1/scenarios', '/v1/scenarios', { ...scenario, actions: [{ type: 'webhook', webhook_id: hookId }] }, key);
    expect(made.status).toBe(201);
    // One create shape, get's: the scenario (with its id) under `data`.
    expect(Object.keys(made.body).sort()).toEqual(['data', 'success']);
    const scenarioId = (made.body.data as { id: string }).id;
    expect((await call('get', '/v1/scenarios/{id}', `/v1/scenarios/${scenarioId}`, undefined, key)).body.data).toEqual(made.body.data);
    expect((await call('get', '/v1/scenarios/{id}', '/v1/scenarios/x-unknown', undefined, key)).body.code).toBe('SCENARIO_NOT_FOUND');
    expect((await call('patch', '/v1/scenarios/{id}', `/v1/scenarios/${scenarioId}`, { status: 'gone' }, key)).status).toBe(400);
    expect((await call('patch', '/v1/scenarios/{id}', `/v1/scenarios/${scenarioId}`, { status: 'paused' }, key)).status).toBe(200);
    expect((await call('delete', '/v1/scenarios/{id}', `/v1/scenarios/${scenarioId}`, undefined, key)).status).toBe(200);
    expect((await call('delete', '/v1/scenarios/{id}', `/v1/scenarios/${scenarioId}`, undefined, key)).status).toBe(404);
    expect((await call('post', '/v1/webhooks/{id}/replay', `/v1/webhooks/${hookId}/replay`, { from: '2026-01-01T00:00:00Z' }, key)).status).toBe(202);
    expect((await call('delete', '/v1/webhooks/{id}', `/v1/webhooks/${hookId}`, undefined, key)).status).toBe(200);

    // contacts: a bad lookup is a query problem
    expect((await call('get', '/v1/contacts', '/v1/contacts?email=x&phone=y', undefined, key)).body.code).toBe('INVALID_QUERY');
    expect((await call('put', '/v1/contacts/{id}', '/v1/contacts/c-contract', { email: 'c@example.com' }, key)).status).toBe(201);
    expect((await call('get', '/v1/contacts', '/v1/contacts?email=c@example.com', undefined, key)).status).toBe(200);
    expect((await call('put', '/v1/contacts/{id}', '/v1/contacts/c-contract', { email: 'not an email' }, key)).status).toBe(400);
    expect((await call('post', '/v1/contacts', '/v1/contacts', { external_id: 'u-contract', email: 'u@example.com' }, key)).status).toBe(201);
    expect((await call('post', '/v1/contacts', '/v1/contacts', { nope: 1 }, key)).status).toBe(400);
    expect((await call('get', '/v1/contacts/{id}', '/v1/contacts/c-contract', undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/contacts/{id}', '/v1/contacts/x-unknown', undefined, key)).body.code).toBe('CONTACT_NOT_FOUND');
    expect((await call('post', '/v1/contacts/import', '/v1/contacts/import', '{"email":"i1@example.com"}\n{"email":"i2@example.com"}\n', key)).body.type).toBe(
      'done',
    );
    expect((await call('post', '/v1/contacts/import', '/v1/contacts/import', { email: 'json@example.com' }, key)).body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await call('delete', '/v1/contacts/{id}', '/v1/contacts/c-contract', undefined, key)).status).toBe(200);
    expect((await call('delete', '/v1/contacts/{id}', '/v1/contacts/c-contract', undefined, key)).status).toBe(404);

    // ingestion: the payload validator's own messages, in the error schema
    expect((await call('post', '/v1/events/trigger/{code_name}', '/v1/events/trigger/contract_order', { metaData: {} }, key)).status).toBe(400);
    const fired = await call(
      'post',
      '/v1/events/trigger/{code_name}',
      '/v1/events/trigger/contract_order',
      { contact: { email: 'c@example.com' }, metaData: { order_id: 1 } },
      { ...key, 'idempotency-key': 'k1' },
    );
    expect(fired.status).toBe(202);
    const eventId = fired.body.event_id as string;

    // Sendmator (seed 003): its error shape, its messages
    const sendmator = { ...key, 'x-team-id': relay.teamId };
    expect((await call('post', '/v1/events', '/v1/events', { name: 'Contract signup', code_name: 'contract_signup' }, key)).status).toBe(201);
    expect((await call('post', '/api/v1/events/send', '/api/v1/events/send', { user_info: {} }, sendmator)).body).toMatchObject({
      message: 'Event name is required',
      error: 'Bad Request',
    });
    expect(
      (await call('post', '/api/v1/events/send', '/api/v1/events/send', { event_name: 'contract_order' }, { ...key, 'x-team-id': 'other' })).body.message,
    ).toBe('Invalid team context');
    expect(
      (await call('post', '/api/v1/events/send', '/api/v1/events/send', { event_name: 'contract_signup', user_info: { email: 'c@example.com' } }, sendmator))
        .status,
    ).toBe(201);
    expect((await call('post', '/api/v1/events/trigger', '/api/v1/events/trigger', { event_name: 'nope' }, sendmator)).body.message).toBe(
      'Event type not found',
    );
    const shape = await call(
      'post',
      '/api/v1/events/send',
      '/api/v1/events/send',
      { event_name: 'contract_signup', user_info: { email: 'c@example.com', name: 5, x: 1 }, source: [], y: 2 },
      sendmator,
    );
    expect(shape.body.errors).toEqual([
      'Invalid type for property: user_info.name. Expected text, got number',
      'Unknown property: user_info.x',
      'Invalid type for property: source. Expected object, got array',
      'Unknown property: y',
    ]);
    expect(
      (
        await call(
          'post',
          '/api/v1/events/trigger',
          '/api/v1/events/trigger',
          { event_name: 'contract_signup', user_info: { email: 'c@example.com' } },
          sendmator,
        )
      ).status,
    ).toBe(200);

    // Simon (seed 002): credentials in the body; debug refusals are 412
    const simon = { partnerId: relay.teamId, partnerSecret: relay.apiKey, clientId: 'cl-1' };
    expect((await call('post', '/http/v1/collect', '/http/v1/collect', { ...simon, partnerSecret: 'wrong', type: 'track' }, {})).status).toBe(401);
    expect(
      (
        await call(
          'post',
          '/http/v1/collect',
          '/http/v1/collect',
          { ...simon, type: 'track', event: 'custom', context: { debug: true }, properties: { eventName: 'nope' } },
          {},
        )
      ).body.code,
    ).toBe('UNKNOWN_EVENT_TYPE');
    expect((await call('post', '/http/v1/collect', '/http/v1/collect', { ...simon, type: 'identify', traits: { email: 'c@example.com' } }, {})).status).toBe(
      200,
    );
    const badIdentify = await call('post', '/http/v1/collect', '/http/v1/collect', { ...simon, clientId: '', type: 'identify', traits: { email: 'nope' } }, {});
    expect(badIdentify.body.errors).toEqual(['Missing required property: clientId', 'traits.email must be a valid email address']);
    const unknownField = {
      ...simon,
      type: 'track',
      event: 'custom',
      context: { debug: true },
      properties: { eventName: 'contract_signup' },
      traits: { email: 'c@example.com' },
      extra: 1,
    };
    expect((await call('post', '/http/v1/collect', '/http/v1/collect', unknownField, {})).body).toMatchObject({
      code: 'INVALID_PAYLOAD',
      errors: ['Unknown property: extra'],
    });

    // history and triggers: the event fired above, once the history service holds it
    const deadline = Date.now() + 60000;
    let trigger = await call('get', '/v1/triggers/{id}', `/v1/triggers/${eventId}`, undefined, key);
    while (trigger.status === 404 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      trigger = await call('get', '/v1/triggers/{id}', `/v1/triggers/${eventId}`, undefined, key);
    }
    expect(trigger.status).toBe(200);
    expect((await call('get', '/api/v1/triggers/{id}', `/api/v1/triggers/${eventId}`, undefined, key)).status).toBe(200);
    expect((await call('get', '/api/v1/triggers/{id}', '/api/v1/triggers/x-unknown', undefined, key)).status).toBe(404);
    expect((await call('get', '/v1/triggers/{id}/workflow', `/v1/triggers/${eventId}/workflow`, undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/triggers/{id}/workflow', '/v1/triggers/x-unknown/workflow', undefined, key)).status).toBe(404);
    expect((await call('get', '/api/v1/triggers/{id}/workflow', `/api/v1/triggers/${eventId}/workflow`, undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/event-histories', '/v1/event-histories?limit=5', undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/event-histories', '/v1/event-histories?limit=0', undefined, key)).body.code).toBe('INVALID_QUERY');
    expect((await call('get', '/v1/event-histories/{event_id}', `/v1/event-histories/${eventId}`, undefined, key)).status).toBe(200);
    expect((await call('get', '/v1/event-histories/{event_id}', '/v1/event-histories/x-unknown', undefined, key)).body.code).toBe('EVENT_NOT_FOUND');

    // event types: change and delete
    expect((await call('patch', '/v1/events/{code_name}', '/v1/events/contract_order', { target: 'nobody' }, key)).status).toBe(400);
    expect((await call('patch', '/v1/events/{code_name}', '/v1/events/contract_order', { name: 'Contract order v2' }, key)).status).toBe(200);
    expect((await call('delete', '/v1/events/{code_name}', '/v1/events/contract_order', undefined, key)).status).toBe(200);
  });

  it('has called every operation of the document with valid input (2xx) and with invalid input (4xx)', () => {
    const missing = business()
      .map(({ path: p, method }) => `${method} ${p}`)
      .filter((op) => !(answers.get(op)?.has('2xx') && answers.get(op)?.has('4xx')))
      .map((op) => `${op}: ${[...(answers.get(op) ?? [])].join(', ') || 'never called'}`);
    expect(missing).toEqual([]);
  });
});
