import { parseCreateKey, parseCreateTeam, parseRotate } from './admin.dto';
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

describe('admin request bodies', () => {
  it('team: name required, plan and rate_limit checked', () => {
    expect(parseCreateTeam({ name: ' Acme ' })).toEqual({ ok: true, value: { name: 'Acme', rateLimit: null } });
    expect(parseCreateTeam({ name: 'Acme', plan: 'starter' })).toEqual({ ok: true, value: { name: 'Acme', plan: 'starter', rateLimit: null } });
    const bad = parseCreateTeam({ plan: 'gold', rate_limit: { requests: 1 }, extra: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors).toHaveLength(4);
  });

  it('key: environment, rate limit, future expiry', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseCreateKey({ environment: 'staging', rate_limit: { requests: 50, per: 'PT1S' } }, now)).toEqual({
      ok: true,
      value: { environment: 'staging', name: null, rateLimit: { requests: 50, perSeconds: 1 }, expiresAt: null },
    });
    const past = parseCreateKey({ environment: 'production', expires_at: '2025-01-01T00:00:00Z' }, now);
    expect(past).toEqual({ ok: false, errors: ['expires_at must be in the future'] });
    expect(parseCreateKey({ environment: 'prod' }, now).ok).toBe(false);
  });

  it('rotate: optional overlap', () => {
    expect(parseRotate(undefined)).toEqual({ ok: true, value: { overlapSeconds: 0 } });
    expect(parseRotate({ overlap: 'PT10M' })).toEqual({ ok: true, value: { overlapSeconds: 600 } });
    expect(parseRotate({ overlap: '10 minutes' }).ok).toBe(false);
  });
});
