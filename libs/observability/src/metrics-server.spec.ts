import { createServer } from 'node:net';
import { RelayMetrics } from './metrics';
import { serveMetrics } from './metrics-server';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('serveMetrics', () => {
  it('serves GET /metrics on its own port, on loopback by default, and 404 for anything else', async () => {
    const metrics = new RelayMetrics('spec');
    metrics.ingested.inc({ dialect: 'shopimind', outcome: 'accepted' });
    const server = await serveMetrics(metrics.registry, await freePort());
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${server.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/relay_events_ingested_total\{dialect="shopimind",outcome="accepted",service="spec"\} 1/);
      expect((await fetch(`${server.url}/health/ready`)).status).toBe(404);
      expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});
