import { REDACTED, redactSecrets } from './audit';
import { formatIsoDuration, parseIsoDuration, parseRateLimit } from './rate-limit-spec';

describe('ISO 8601 rate windows', () => {
  it.each([
    ['PT1S', 1],
    ['PT1M', 60],
    ['PT1H', 3600],
    ['PT1H30M', 5400],
    ['P1D', 86400],
    ['P1DT1S', 86401],
  ])('%s is %i s and formats back', (text, seconds) => {
    expect(parseIsoDuration(text)).toBe(seconds);
    expect(parseIsoDuration(formatIsoDuration(seconds))).toBe(seconds);
  });

  it.each(['', 'P', 'PT', 'PT0S', '1S', 'PT1.5S', 'P1M', 'P1Y', 'PT-1S', 'P1DT'])('refuses %j', (text) => {
    expect(parseIsoDuration(text)).toBeNull();
  });

  it('parses {"requests", "per"} and names every problem', () => {
    expect(parseRateLimit({ requests: 50, per: 'PT1S' })).toEqual({ ok: true, value: { requests: 50, perSeconds: 1 } });
    expect(parseRateLimit(undefined)).toEqual({ ok: true, value: null });
    const bad = parseRateLimit({ requests: 0, per: 'one second' });
    expect(bad).toEqual({ ok: false, errors: [expect.stringContaining('rate_limit.requests'), expect.stringContaining('rate_limit.per')] });
  });
});

describe('redactSecrets', () => {
  it('drops secret-named fields and key-looking values, keeps the rest', () => {
    const out = redactSecrets({
      key: 'rly_live_abcdefghijklmnopqrstuvwx',
      prefix: 'rly_live_abcdefg',
      key_id: '0190-key-id',
      signing_secret: 'whsec_xxx',
      nested: { api_key: 'x', password: 'p', list: ['rly_test_abcdefghijklmnop', 'fine'], authorization: 'Bearer t' },
      header: 'Bearer abc.def',
      url: 'https://example.com/hook',
    });
    expect(out).toEqual({
      key: REDACTED,
      prefix: 'rly_live_abcdefg',
      key_id: '0190-key-id',
      signing_secret: REDACTED,
      nested: { api_key: REDACTED, password: REDACTED, list: [REDACTED, 'fine'], authorization: REDACTED },
      header: REDACTED,
      url: 'https://example.com/hook',
    });
  });
});
