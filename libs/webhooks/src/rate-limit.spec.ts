import { issueMessages } from '@relay/http-api';
import { endpointCreateSchema, endpointPatchSchema } from './endpoint-input';
import { EndpointRateLimiters, rateLimitPeriodMs } from './rate-limit';

describe('per-endpoint rate limits', () => {
  it('reads ISO 8601 periods between 100 ms and 24 h', () => {
    expect(rateLimitPeriodMs('PT1S')).toBe(1000);
    expect(rateLimitPeriodMs('PT0.5S')).toBe(500);
    expect(rateLimitPeriodMs('PT1M')).toBe(60000);
    for (const bad of ['1s', 'PT0S', 'PT0.01S', 'P2D', '', 5, null]) expect(rateLimitPeriodMs(bad)).toBeNull();
  });

  it('validates rate_limit on create and PATCH (null clears it), with the reasons the API answers', () => {
    expect(endpointCreateSchema.parse({ url: 'https://x.example', events: ['a'], rate_limit: { requests: 5, per: 'PT1S' } })).toMatchObject({
      rate_limit: { requests: 5, per: 'PT1S' },
    });
    expect(endpointCreateSchema.parse({ url: 'https://x.example', events: ['a'] })).toMatchObject({ rate_limit: null });
    expect(endpointPatchSchema.parse({ rate_limit: null })).toEqual({ rate_limit: null });
    const bad = endpointPatchSchema.safeParse({ rate_limit: { requests: 1.5, per: 'soon' } });
    expect(bad.success).toBe(false);
    expect(issueMessages(bad.error!)).toEqual([expect.stringMatching(/rate_limit.requests/), expect.stringMatching(/rate_limit.per/)]);
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
