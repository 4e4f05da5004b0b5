import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookSender } from './sender';
import { WebhookTargetPolicy } from './url-policy';
import { nextRetryDelay, parseRetryAfter, parseSchedule } from './schedule';
import { SecretBox, generateSigningSecret } from './secrets';
import { signatureHeaders, verifyShopimindSignature } from './signing';

describe('WebhookSender against a real local receiver', () => {
  let server: Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
      if (req.url === '/busy') return void res.writeHead(429, { 'retry-after': '7' }).end();
      if (req.url === '/big') return void res.writeHead(200).end('x'.repeat(1 << 20));
      if (req.url === '/plain') return void res.writeHead(200).end('ok');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success": true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses loopback at delivery time unless that exact host:port is allowed, by IP literal and by a name resolving to loopback', async () => {
    // Allowed: a neighbour's port, not this receiver's.
    const strict = new WebhookSender(WebhookTargetPolicy.of(`127.0.0.1:${port + 1}`, `localhost:${port + 1}`));
    const before = hits;
    const byIp = await strict.post(`http://127.0.0.1:${port}/`, '{}', {}, 2000, '2xx');
    const byName = await strict.post(`http://localhost:${port}/`, '{}', {}, 2000, '2xx');
    const byMappedIp = await strict.post(`http://[::ffff:127.0.0.1]:${port}/`, '{}', {}, 2000, '2xx');
    expect(byIp).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/URL_FORBIDDEN_ADDRESS.*loopback/) });
    expect(byName).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/URL_FORBIDDEN_ADDRESS.*loopback/) });
    expect(byMappedIp).toMatchObject({ ok: false, status: null, error: expect.stringMatching(/URL_FORBIDDEN_ADDRESS.*loopback/) });
    expect(hits).toBe(before);
    await strict.close();

    const byAddress = new WebhookSender(WebhookTargetPolicy.of(`127.0.0.1:${port}`));
    expect(await byAddress.post(`http://127.0.0.1:${port}/`, '{}', {}, 2000, 'strict')).toMatchObject({ ok: true, status: 200 });
    await byAddress.close();
    const byHostName = new WebhookSender(WebhookTargetPolicy.of(`localhost:${port}`));
    expect(await byHostName.post(`http://localhost:${port}/`, '{}', {}, 2000, 'strict')).toMatchObject({ ok: true, status: 200 });
    await byHostName.close();
    expect(hits).toBe(before + 2);
  });

  it('does not follow redirects, applies the strict contract, honours Retry-After, caps the body', async () => {
    const s = new WebhookSender(WebhookTargetPolicy.of(`127.0.0.1:${port}`));
    expect(await s.post(`http://127.0.0.1:${port}/redirect`, '{}', {}, 2000, '2xx')).toMatchObject({ ok: false, status: 302 });
    expect(await s.post(`http://127.0.0.1:${port}/plain`, '{}', {}, 2000, 'strict')).toMatchObject({
      ok: false,
      status: 200,
      error: expect.stringMatching(/STRICT_CONTRACT/),
    });
    expect(await s.post(`http://127.0.0.1:${port}/plain`, '{}', {}, 2000, '2xx')).toMatchObject({ ok: true, snippet: 'ok' });
    expect(await s.post(`http://127.0.0.1:${port}/busy`, '{}', {}, 2000, '2xx')).toMatchObject({ ok: false, status: 429, retryAfterMs: 7000 });
    const big = await s.post(`http://127.0.0.1:${port}/big`, '{}', {}, 2000, '2xx');
    expect(big.ok).toBe(true);
    expect(big.snippet?.length).toBe(1024);
    await s.close();
  });
});

describe('schedule, secrets, signatures', () => {
  it('computes retry delays with jitter and Retry-After', () => {
    const schedule = parseSchedule('5s,5m,30m,2h,5h,10h,10h');
    expect(schedule).toEqual([5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]);
    expect(nextRetryDelay(schedule, 1, null, () => 0.5)).toBe(5000);
    expect(nextRetryDelay(schedule, 1, null, () => 0)).toBe(4000);
    expect(nextRetryDelay(schedule, 1, 60000, () => 0.5)).toBe(60000);
    expect(nextRetryDelay(schedule, 8, null)).toBeNull();
    expect(parseRetryAfter('120')).toBe(120000);
    expect(parseRetryAfter(new Date(Date.now() + 10000).toUTCString())).toBeGreaterThan(8000);
  });

  it('seals secrets bound to their endpoint', () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const secret = generateSigningSecret();
    const sealed = box.seal(secret, 'ep1');
    expect(sealed.toString('utf8')).not.toContain(secret);
    expect(box.open(sealed, 'ep1')).toBe(secret);
    expect(() => box.open(sealed, 'ep2')).toThrow();
  });

  it('signs seed 001 style and verifies with the helper', () => {
    const h = signatureHeaders('shopimind', { id: 'd1', timestampSeconds: 1700000000, body: '{"a":1}', secrets: ['s3cret'] });
    expect(
      verifyShopimindSignature('s3cret', { timestamp: h['x-shopimind-timestamp'], signature: h['x-shopimind-signature'] }, '{"a":1}', {
        nowSeconds: 1700000010,
      }),
    ).toBe(true);
    expect(
      verifyShopimindSignature('s3cret', { timestamp: h['x-shopimind-timestamp'], signature: h['x-shopimind-signature'] }, '{"a":2}', {
        nowSeconds: 1700000010,
      }),
    ).toBe(false);
    expect(
      verifyShopimindSignature('s3cret', { timestamp: h['x-shopimind-timestamp'], signature: h['x-shopimind-signature'] }, '{"a":1}', {
        nowSeconds: 1700009999,
      }),
    ).toBe(false);
  });
});
