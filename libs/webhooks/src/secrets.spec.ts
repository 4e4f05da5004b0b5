import { DEV_ONLY_SECRET_KEY, secretKeyFor } from './secrets';

describe('secretKeyFor', () => {
  const key = 'ab'.repeat(32);

  it('uses a configured key silently, in any environment', () => {
    const warnings: string[] = [];
    expect(secretKeyFor(key, 'production', (m) => warnings.push(m))).toEqual(Buffer.from(key, 'hex'));
    expect(warnings).toEqual([]);
  });

  it('falls back to the dev-only key with a warning outside production', () => {
    const warnings: string[] = [];
    expect(secretKeyFor(undefined, 'development', (m) => warnings.push(m))).toEqual(DEV_ONLY_SECRET_KEY);
    expect(warnings).toEqual([expect.stringMatching(/DEV-ONLY key/)]);
  });

  it('refuses to run in production without a key', () => {
    expect(() => secretKeyFor(undefined, 'production', () => undefined)).toThrow(/required when NODE_ENV=production/);
    expect(() => secretKeyFor('', 'production', () => undefined)).toThrow(/required/);
  });
});
