import { DEV_ONLY_HISTORY_TOKEN, bearerToken, historyToken, historyTokenFor, secretMatches } from './service-token';

describe('secretMatches', () => {
  const token = 'a-long-service-token-0123456789';
  it('accepts the exact token only', () => {
    expect(secretMatches(token, token)).toBe(true);
    expect(secretMatches(token, `${token}x`)).toBe(false);
    expect(secretMatches(token, token.slice(0, -1))).toBe(false);
    expect(secretMatches(token, token.toUpperCase())).toBe(false);
    expect(secretMatches(token, '')).toBe(false);
    expect(secretMatches(token, undefined)).toBe(false);
  });
});

describe('bearerToken', () => {
  it('reads Authorization: Bearer <token>, any case, trimmed', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken(['Bearer abc'])).toBeUndefined();
  });
});

describe('historyTokenFor', () => {
  it('uses the configured token without a warning', () => {
    const warnings: string[] = [];
    expect(historyTokenFor('configured-token-0123456789', 'production', (m) => warnings.push(m))).toBe('configured-token-0123456789');
    expect(warnings).toEqual([]);
  });

  it('falls back to the dev-only token with a warning outside production', () => {
    const warnings: string[] = [];
    expect(historyTokenFor(undefined, 'development', (m) => warnings.push(m))).toBe(DEV_ONLY_HISTORY_TOKEN);
    expect(warnings).toEqual([expect.stringMatching(/RELAY_HISTORY_TOKEN is not set.*DEV-ONLY/)]);
    expect(historyToken(undefined)).toBe(DEV_ONLY_HISTORY_TOKEN);
    expect(historyToken('t-0123456789abcdef')).toBe('t-0123456789abcdef');
  });

  it('refuses to start in production without a token', () => {
    expect(() => historyTokenFor(undefined, 'production', () => undefined)).toThrow(/RELAY_HISTORY_TOKEN is required when NODE_ENV=production/);
    expect(() => historyTokenFor('', 'production', () => undefined)).toThrow(/required/);
  });
});
