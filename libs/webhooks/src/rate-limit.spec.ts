import { parseEndpointInput } from './endpoint-input';
import { EndpointRateLimiters, rateLimitPeriodMs } from './rate-limit';

describe('per-endpoint rate limits', () => {
  it('reads ISO 8601 periods between 100 ms and 24 h', () => {
    expect(rateLimitPeriodMs('PT1S')).toBe(1000);
    expect(rateLimitPeriodMs('PT0.5S')).toBe(500);
    expect(rateLimitPeriodMs('PT1M')).toBe(60000);
    for (const bad of ['1s', 'PT0S', 'PT0.01S', 'P2D', '', 5, null]) expect(rateLimitPeriodMs(bad)).toBeNull();
  });

  it('validates rate_limit on create and PATCH (null clears it)', () => {
    const defaults = { environment: 'production' as const, timeoutMs: 10000 };
    const ok = parseEndpointInput({ url: 'https://x.example', events: ['a'], rate_limit: { requests: 5, per: 'PT1S' } }, false, defaults);
    expect(ok).toMatchObject({ ok: true, value: { rate_limit: { requests: 5, per: 'PT1S' } } });
    expect(parseEndpointInput({ url: 'https://x.example', events: ['a'] }, false, defaults)).toMatchObject({ ok: true, value: { rate_limit: null } });
    expect(parseEndpointInput({ rate_limit: null }, true, defaults)).toEqual({ ok: true, value: { rate_limit: null } });
    const bad = parseEndpointInput({ rate_limit: { requests: 1.5, per: 'soon' } }, true, defaults);
    expect(bad).toEqual({ ok: false, errors: [expect.stringMatching(/rate_limit.requests/), expect.stringMatching(/rate_limit.per/)] });
  });

  it('grants `requests` per window per endpoint, then says how long to wait; endpoints are independent', async () => {
    const limiters = new EndpointRateLimiters();
    const limit = { requests: 3, per: 'PT1S' };
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await limiters.take('a', limit));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBeGreaterThan(500);
    expect(waits[3]).toBeLessThanOrEqual(1000);
    expect(await limiters.take('b', limit)).toBe(0);
    expect(await limiters.take('a', null)).toBe(0); // limit removed: no waiting
  });
});
