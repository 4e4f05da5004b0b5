import type { z } from 'zod';
import { ApiError, ZodPipe } from '@relay/http-api';
import { auditQuerySchema, createKeySchema, createTeamSchema, rotateKeySchema } from './admin.dto';
import { adminTokenMatches } from './admin-token.guard';

describe('admin token', () => {
  it('matches only the exact token, whatever the length of the guess', () => {
    const token = 'rly_admin_0123456789abcdef';
    expect(adminTokenMatches(token, token)).toBe(true);
    expect(adminTokenMatches(token, `${token}x`)).toBe(false);
    expect(adminTokenMatches(token, token.slice(0, -1))).toBe(false);
    expect(adminTokenMatches(token, '')).toBe(false);
    expect(adminTokenMatches(token, undefined)).toBe(false);
  });
});

/** What the route receives, or the 400 it answers (every reason). */
function parse<S extends z.ZodType>(schema: S, body: unknown, code: 'VALIDATION_FAILED' | 'INVALID_QUERY' = 'VALIDATION_FAILED') {
  try {
    return { ok: true as const, value: new ZodPipe(schema, code).transform(body) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { ok: false as const, status: error.statusCode, code: error.code, errors: error.errors };
  }
}

describe('admin request bodies', () => {
  it('team: name required, plan and rate_limit checked, every reason at once', () => {
    expect(parse(createTeamSchema, { name: ' Acme ' })).toEqual({ ok: true, value: { name: 'Acme', rate_limit: null } });
    expect(parse(createTeamSchema, { name: 'Acme', plan: 'starter' })).toEqual({ ok: true, value: { name: 'Acme', plan: 'starter', rate_limit: null } });
    expect(parse(createTeamSchema, { plan: 'gold', rate_limit: { requests: 1 }, extra: 1 })).toEqual({
      ok: false,
      status: 400,
      code: 'VALIDATION_FAILED',
      errors: expect.arrayContaining([
        'Unknown field: extra',
        'name is required: a string of 1 to 200 characters',
        'plan must be one of starter, pro, enterprise',
        'rate_limit.per must be an ISO 8601 duration of whole seconds up to P31D (e.g. PT1S, PT1M, PT1H, P1D)',
      ]),
    });
  });

  it('key: environment, rate limit, future expiry', () => {
    expect(parse(createKeySchema, { environment: 'staging', rate_limit: { requests: 50, per: 'PT1S' } })).toEqual({
      ok: true,
      value: { environment: 'staging', rate_limit: { requests: 50, perSeconds: 1 } },
    });
    expect(parse(createKeySchema, { environment: 'production', expires_at: '2025-01-01T00:00:00Z' })).toMatchObject({
      ok: false,
      errors: ['expires_at must be in the future'],
    });
    expect(parse(createKeySchema, { environment: 'production', expires_at: 'tomorrow' })).toMatchObject({
      ok: false,
      errors: ['expires_at must be an ISO 8601 date-time'],
    });
    expect(parse(createKeySchema, { environment: 'prod' })).toMatchObject({ ok: false, errors: ['environment must be "production" or "staging"'] });
    expect(parse(createKeySchema, undefined)).toMatchObject({ ok: false, errors: ['environment must be "production" or "staging"'] });
  });

  it('rotate: optional overlap', () => {
    expect(parse(rotateKeySchema, undefined)).toEqual({ ok: true, value: {} });
    expect(parse(rotateKeySchema, { overlap: 'PT10M' })).toEqual({ ok: true, value: { overlap: 600 } });
    expect(parse(rotateKeySchema, { overlap: '10 minutes' })).toMatchObject({
      ok: false,
      errors: ['overlap must be an ISO 8601 duration up to P31D (e.g. PT10M, PT1H)'],
    });
  });

  it('audit query: a bad limit is INVALID_QUERY, like on every list route', () => {
    expect(parse(auditQuerySchema, {}, 'INVALID_QUERY')).toEqual({ ok: true, value: { limit: 100 } });
    expect(parse(auditQuerySchema, { limit: '501' }, 'INVALID_QUERY')).toEqual({
      ok: false,
      status: 400,
      code: 'INVALID_QUERY',
      errors: ['limit must be an integer between 1 and 500'],
    });
    expect(parse(auditQuerySchema, { limit: 'x' }, 'INVALID_QUERY')).toMatchObject({ errors: ['limit must be an integer between 1 and 500'] });
  });
});
