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
    relay = await startRelay({ services: ['gateway'], env: { RELAY_ADMIN_TOKEN: ADMIN_TOKEN, RELAY_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1:9' } });
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
      if (!statuses.some((s) => s.startsWith('2'))) problems.push(`${at}: no 2xx`);
      const errors = statuses.filter((s) => Number(s) >= 400);
      if (errors.length === 0) problems.push(`${at}: no documented error`);
      for (const s of errors) {
        const ref = (op.responses[s]?.content?.['application/json']?.schema as { $ref?: string } | undefined)?.$ref;
        if (!ref?.startsWith('#/components/schemas/')) problems.push(`${at}: ${s} without the error schema`);
      }
      if (p !== '/http/v1/collect' && !(op.security?.length)) problems.push(`${at}: no security requirement`);
      if (op.parameters?.some((h) => h.in === 'header' && h.name.toLowerCase() === 'idempotency-key' && h.required)) problems.push(`${at}: Idempotency-Key required`);
    }
    expect(problems).toEqual([]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['admin-token', 'api-key', 'api-key-bearer', 'spm-api-key']);
    expect(doc.paths['/admin/v1/teams']?.get?.security).toEqual([{ 'admin-token': [] }]);
    expect(doc.paths['/v1/events']?.get?.security).toEqual([{ 'api-key': [] }, { 'api-key-bearer': [] }, { 'spm-api-key': [] }]);
  });

  it('lists every registered code in the error schema', () => {
    const error = doc.components.schemas.Error as { properties: { code: { enum: string[] } } };
    expect(error.properties.code.enum.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  /** Calls the gateway and checks the answer against the operation's documented response for its status. */
  async function call(
    method: (typeof METHODS)[number],
    template: string,
    concrete: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${relay.gatewayUrl}${concrete}`, {
      method: method.toUpperCase(),
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const parsed = (text ? JSON.parse(text) : null) as Record<string, unknown>;
    const op = doc.paths[template]?.[method];
    expect({ route: `${method} ${template}`, documented: op !== undefined }).toEqual({ route: `${method} ${template}`, documented: true });
    const response = op?.responses[String(res.status)];
    const answered = { route: `${method} ${concrete}`, status: res.status };
    expect({ ...answered, documented: response !== undefined }).toEqual({ ...answered, documented: true });
    const schema = response?.content?.['application/json']?.schema;
    if (schema) {
      const key = `${method} ${template} ${res.status}`;
      let validate = validators.get(key);
      if (!validate) {
        validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')) as object);
        validators.set(key, validate);
      }
      expect({ route: key, valid: validate(parsed), errors: validate.errors ?? null }).toMatchObject({ valid: true });
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
      expect((await call('get', list, `${list}?limit=201`, undefined, key)).body).toMatchObject({ code: 'INVALID_QUERY', errors: ['limit must be an integer between 1 and 200'] });
      expect((await call('get', list, `${list}?limit=2`, undefined, key)).status).toBe(200);
    }

    // webhooks: one create shape, the secret beside the endpoint
    expect((await call('post', '/v1/webhooks', '/v1/webhooks', { url: 'ftp://example.com', events: ['contract_order'] }, key)).body.code).toBe('INVALID_WEBHOOK_URL');
    const hook = await call('post', '/v1/webhooks', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['contract_order'] }, key);
    expect(hook.status).toBe(201);
    expect(Object.keys(hook.body).sort()).toEqual(['data', 'secret', 'success']);
    const hookId = (hook.body.data as { id: string }).id;
    expect((await call('post', '/v1/webhooks/{id}/rotate-secret', `/v1/webhooks/${hookId}/rotate-secret`, { overlap_seconds: -1 }, key)).status).toBe(400);
    expect((await call('post', '/v1/webhooks/{id}/rotate-secret', `/v1/webhooks/${hookId}/rotate-secret`, {}, key)).status).toBe(200);
    expect((await call('get', '/v1/webhooks/{id}/attempts', `/v1/webhooks/${hookId}/attempts?before=yesterday`, undefined, key)).body.code).toBe('INVALID_QUERY');
    expect((await call('get', '/v1/webhooks/{id}/attempts', `/v1/webhooks/${hookId}/attempts`, undefined, key)).status).toBe(200);
    expect((await call('post', '/v1/webhooks/{id}/replay', `/v1/webhooks/${hookId}/replay`, {}, key)).status).toBe(400);
    expect((await call('post', '/v1/webhooks/{id}/replay', `/v1/webhooks/${hookId}/replay`, { delivery_id: 'none' }, key)).body.code).toBe('DELIVERY_NOT_FOUND');
    expect((await call('get', '/v1/webhooks/{id}', '/v1/webhooks/00000000-0000-0000-0000-000000000000', undefined, key)).body.code).toBe('WEBHOOK_NOT_FOUND');

    // scenarios: a body naming an unknown webhook is invalid, not a 404
    const scenario = { name: 'contract', code_names: ['contract_order'], actions: [{ type: 'webhook', webhook_id: '00000000-0000-0000-0000-000000000000' }] };
    expect((await call('post', '/v1/scenarios', '/v1/scenarios', scenario, key)).body.code).toBe('VALIDATION_FAILED');
    const made = await call('post', '/v1/scenarios', '/v1/scenarios', { ...scenario, actions: [{ type: 'webhook', webhook_id: hookId }] }, key);
    expect(made.status).toBe(201);
    expect((await call('delete', '/v1/webhooks/{id}', `/v1/webhooks/${hookId}`, undefined, key)).status).toBe(200);

    // contacts: a bad lookup is a query problem
    expect((await call('get', '/v1/contacts', '/v1/contacts?email=x&phone=y', undefined, key)).body.code).toBe('INVALID_QUERY');
    expect((await call('put', '/v1/contacts/{id}', '/v1/contacts/c-contract', { email: 'c@example.com' }, key)).status).toBe(201);
    expect((await call('get', '/v1/contacts', '/v1/contacts?email=c@example.com', undefined, key)).status).toBe(200);

    // ingestion: the payload validator's own messages, in the error schema
    expect((await call('post', '/v1/events/trigger/{code_name}', '/v1/events/trigger/contract_order', { metaData: {} }, key)).status).toBe(400);
    expect((await call('post', '/v1/events/trigger/{code_name}', '/v1/events/trigger/contract_order', { contact: { email: 'c@example.com' }, metaData: { order_id: 1 } }, { ...key, 'idempotency-key': 'k1' })).status).toBe(202);
  });
});
