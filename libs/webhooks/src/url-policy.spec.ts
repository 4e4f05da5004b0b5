import type { LookupAddress } from 'node:dns';
import { UrlPolicyError, WebhookTargetPolicy, assertDeliverableUrl } from './url-policy';

/** A resolver answering fixed addresses, as a DNS name under an attacker's control can. */
const resolvesTo =
  (...addresses: string[]) =>
  (): Promise<LookupAddress[]> =>
    Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

async function refusal(url: string, policy: WebhookTargetPolicy, resolve = resolvesTo('93.184.216.34')): Promise<string | null> {
  try {
    await assertDeliverableUrl(url, policy, resolve);
    return null;
  } catch (error) {
    if (error instanceof UrlPolicyError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

describe('WebhookTargetPolicy', () => {
  const none = new WebhookTargetPolicy();

  it('allows global unicast and refuses every other range by default', () => {
    expect(none.refusal('93.184.216.34', 443)).toBeNull();
    expect(none.refusal('2606:2800:220:1:248:1893:25c8:1946', 443)).toBeNull();
    expect(none.refusal('127.0.0.1', 80)).toMatch(/127\.0\.0\.1:80 is a loopback address/);
    expect(none.refusal('::1', 80)).toMatch(/\[::1\]:80 is a loopback address/);
    expect(none.refusal('169.254.169.254', 80)).toMatch(/linkLocal/);
    expect(none.refusal('::ffff:10.0.0.1', 80)).toMatch(/private/);
    expect(none.refusal('100.100.100.200', 80)).toMatch(/carrierGradeNat/);
    expect(none.refusal('fd00::1', 80)).toMatch(/uniqueLocal/);
    expect(none.refusal('not-an-ip', 80)).toMatch(/not an IP address/);
  });

  it('allows an exact host:port and nothing next to it', () => {
    const policy = WebhookTargetPolicy.of('127.0.0.1:41234');
    expect(policy.refusal('127.0.0.1', 41234)).toBeNull();
    // Same address, another port; another loopback address, same port; a private address.
    expect(policy.refusal('127.0.0.1', 41235)).toMatch(/loopback/);
    expect(policy.refusal('127.0.0.2', 41234)).toMatch(/loopback/);
    expect(policy.refusal('10.0.0.1', 41234)).toMatch(/private/);
    expect(policy.refusal('::1', 41234)).toMatch(/loopback/);
  });

  it('matches IPv6 entries, and never lets another spelling of an address borrow its entry', () => {
    const v6 = WebhookTargetPolicy.of('[::1]:8080', '[fd00::1]:9000');
    expect(v6.refusal('::1', 8080)).toBeNull();
    expect(v6.refusal('fd00::1', 9000)).toBeNull();
    expect(v6.refusal('::1', 8081)).toMatch(/loopback/);
    expect(v6.refusal('fd00::2', 9000)).toMatch(/uniqueLocal/);
    const v4 = WebhookTargetPolicy.of('127.0.0.1:8080');
    // IPv4-mapped IPv6 reaches 127.0.0.1 but is not the entry as written.
    expect(v4.refusal('::ffff:127.0.0.1', 8080)).toMatch(/::ffff:127\.0\.0\.1\]:8080 is a loopback/);
    expect(v4.literalRefusal('http://[::ffff:127.0.0.1]:8080/')).toMatch(/loopback/);
    expect(v4.literalRefusal('http://2130706433:8080/')).toMatch(/loopback/);
    expect(v4.literalRefusal('http://0x7f.1:8080/')).toMatch(/loopback/);
    expect(v4.literalRefusal('http://127.0.0.1:8080/hook')).toBeNull();
    expect(v4.literalRefusal('http://127.0.0.1/hook')).toMatch(/127\.0\.0\.1:80 is a loopback/);
    expect(v4.literalRefusal('http://localhost:8080/')).toBeNull(); // a name: judged at lookup
  });

  it('allows a listed name on its port whatever it resolves to, and only that name', () => {
    const policy = WebhookTargetPolicy.of('Hooks.Internal:8443');
    expect(policy.refusal('10.1.2.3', 8443, 'hooks.internal')).toBeNull();
    expect(policy.refusal('10.1.2.3', 8444, 'hooks.internal')).toMatch(/private/);
    expect(policy.refusal('10.1.2.3', 8443, 'other.internal')).toMatch(/private/);
  });
});

describe('assertDeliverableUrl (endpoint creation)', () => {
  const policy = WebhookTargetPolicy.of('127.0.0.1:41234', '[::1]:41234');

  it('accepts an allowed host:port, by IP literal in either family', async () => {
    expect(await refusal('http://127.0.0.1:41234/hook', policy)).toBeNull();
    expect(await refusal('http://[::1]:41234/hook', policy)).toBeNull();
    expect(await refusal('https://example.com/hook', policy)).toBeNull();
  });

  it('refuses other spellings of an allowed address', async () => {
    expect(await refusal('http://[::ffff:127.0.0.1]:41234/hook', policy)).toMatch(/^URL_FORBIDDEN_ADDRESS: .*loopback/);
    expect(await refusal('http://2130706433:41234/hook', policy)).toMatch(/^URL_FORBIDDEN_ADDRESS: .*loopback/);
    expect(await refusal('http://127.1:41234/hook', policy)).toMatch(/^URL_FORBIDDEN_ADDRESS: .*loopback/);
  });

  it('refuses the same host on another port, including the scheme default', async () => {
    expect(await refusal('http://127.0.0.1:41235/hook', policy)).toMatch(/^URL_FORBIDDEN_ADDRESS: .*127\.0\.0\.1:41235 is a loopback address/);
    expect(await refusal('http://127.0.0.1/hook', policy)).toMatch(/127\.0\.0\.1:80 is a loopback/);
    expect(await refusal('https://[::1]/hook', policy)).toMatch(/\[::1\]:443 is a loopback/);
  });

  it('refuses a name resolving to a private address (DNS rebinding), unless that address and port are allowed', async () => {
    expect(await refusal('http://rebind.example:41234/', policy, resolvesTo('10.0.0.5'))).toMatch(/^URL_FORBIDDEN_ADDRESS: .*10\.0\.0\.5:41234 is a private/);
    expect(await refusal('http://rebind.example:8080/', policy, resolvesTo('169.254.169.254'))).toMatch(/linkLocal/);
    // One public and one private answer: refused (which one is used would be a coin toss).
    expect(await refusal('http://mixed.example:41234/', policy, resolvesTo('93.184.216.34', '10.0.0.5'))).toMatch(/private/);
    // Even to the allowed address and port: the entry lists 127.0.0.1, not this name.
    expect(await refusal('http://receiver.test:41234/', policy, resolvesTo('127.0.0.1'))).toMatch(/127\.0\.0\.1:41234 is a loopback/);
    // A listed name is trusted whatever it resolves to.
    expect(await refusal('http://hooks.internal:8443/', WebhookTargetPolicy.of('hooks.internal:8443'), resolvesTo('10.0.0.5'))).toBeNull();
  });

  it('keeps the syntax rules', async () => {
    expect(await refusal('ftp://127.0.0.1:41234/', policy)).toMatch(/^URL_SCHEME/);
    expect(await refusal('http://user:pw@127.0.0.1:41234/', policy)).toMatch(/^URL_INVALID/);
    expect(await refusal('http://nowhere.invalid:41234/', policy, () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' })))).toMatch(
      /^URL_UNRESOLVABLE/,
    );
  });
});
