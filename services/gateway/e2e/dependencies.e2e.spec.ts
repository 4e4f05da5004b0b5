import { connect } from 'node:net';
import { Client } from 'pg';
import { eventually, startRelay, type RelayUnderTest } from '@relay/testing';

/**
 * What a client sees when the gateway cannot do its job: a slow upload is cut with 408,
 * PostgreSQL unavailable is 503 DEPENDENCY_UNAVAILABLE with Retry-After (never a bare
 * 500), and the gateway answers normally again once PostgreSQL is back.
 */
describe('gateway: request timeout and unavailable dependencies', () => {
  let relay: RelayUnderTest;

  beforeAll(async () => {
    relay = await startRelay({ services: ['gateway'], env: { RELAY_REQUEST_TIMEOUT_MS: '1000' } });
  });

  afterAll(async () => {
    await relay?.stop();
  });

  it('cuts a request whose body does not arrive within RELAY_REQUEST_TIMEOUT_MS with 408', async () => {
    const url = new URL(relay.gatewayUrl);
    const started = Date.now();
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        // Headers announce 100 bytes; one arrives, the rest never does.
        socket.write(
          `POST /v1/events/trigger/x HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${relay.apiKey}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
        );
      });
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.setTimeout(15000, () => socket.destroy(new Error('no answer within 15 s')));
    });
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response).toContain('"statusCode":408');
    expect(Date.now() - started).toBeLessThan(10000);
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE with Retry-After while PostgreSQL refuses connections, then recovers', async () => {
    const dbName = decodeURIComponent(new URL(relay.pgUrl).pathname.slice(1));
    const adminUrl = new URL(relay.pgUrl);
    adminUrl.pathname = '/postgres';
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    try {
      expect((await relay.api('GET', '/v1/webhooks')).status).toBe(200);
      // The database goes away for the gateway: existing connections cut, new ones refused.
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
      const down = await eventually(
        async () => {
          const res = await fetch(`${relay.gatewayUrl}/v1/webhooks`, { headers: { 'x-api-key': relay.apiKey } });
          return res.status === 503 ? res : undefined;
        },
        20000,
        100,
      );
      expect(down.headers.get('retry-after')).toBe('1');
      // DEPENDENCY_UNAVAILABLE for PostgreSQL's own errors; STORE_UNAVAILABLE where the
      // control-plane library already classified it.
      expect(((await down.json()) as { code: string }).code).toMatch(/^(DEPENDENCY_UNAVAILABLE|STORE_UNAVAILABLE)$/);
      // Never a 500 meanwhile.
      for (let i = 0; i < 5; i++) {
        expect((await relay.api('GET', '/v1/webhooks')).status).toBe(503);
      }
    } finally {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await eventually(async () => ((await relay.api('GET', '/v1/webhooks')).status === 200 ? true : undefined), 20000, 100);
  });
});
