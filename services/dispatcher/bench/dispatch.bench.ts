/**
 * Dispatcher engine benchmark on real PostgreSQL and a real local HTTP receiver:
 *   npx node -r ./tools/register.js services/dispatcher/bench/dispatch.bench.ts
 * Kafka is left out on purpose (attempt records go to a counting stub): this measures
 * what the dispatcher adds — durable acceptance, per-endpoint lanes, signing, HTTP,
 * result writes — not the broker, which tools/bench measures.
 *
 * 1. throughput: N deliveries (argv[2], default 20000; RATE=n paces them) to one healthy endpoint (max_concurrency 16), accepted in
 *    chunks of 500 like the Kafka handler does; deliveries/s and p50/p99 dispatch latency
 *    (delivery created → 2xx received).
 * 2. backlog: 10k deliveries to a dead endpoint (connection refused): RSS and heap while
 *    they are retried, with the in-memory lane capped (RELAY_WEBHOOK_QUEUE_MAX).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { WebhookDelivery } from '@relay/contracts';
import { TeamChanges, createPool } from '@relay/control-plane';
import { createLogger } from '@relay/observability';
import { DEFAULT_PG_URL, createMigratedDatabase, dropTestDatabase, freePort } from '@relay/testing';
import { DeliveryEngine, EndpointDirectory, PendingStore, SecretBox, WebhookEndpointsRepository, WebhookSender, WebhookTargetPolicy } from '@relay/webhooks';

const N = Number(process.argv[2] ?? 20000);
const BACKLOG = 10000;

function delivery(endpointId: string, teamId: string): WebhookDelivery {
  const now = Date.now();
  return {
    delivery_id: randomUUID(),
    team_id: teamId,
    environment: 'production',
    endpoint_id: endpointId,
    kind: 'subscription',
    action: 'bench',
    event_id: randomUUID(),
    code_name: 'bench',
    scenario_id: null,
    action_index: null,
    contact_json: JSON.stringify({ email: 'a@b.c' }),
    payload_json: '{"metaData":{"order_id":1}}',
    occurred_at: now,
    created_at: now,
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const pgUrl = await createMigratedDatabase(DEFAULT_PG_URL);
  const pool = createPool(pgUrl, 10);
  const latencies: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { occurred_at: string };
      latencies.push(Date.now() - Date.parse(body.occurred_at));
      res.writeHead(200).end('{"success":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    await pool.query(`INSERT INTO teams (id, name) VALUES ('bench', 'bench')`);
    const repo = new WebhookEndpointsRepository(pool, new SecretBox(Buffer.alloc(32, 9)));
    const base = {
      description: null,
      events: ['bench'],
      contact_fields: [],
      batch: null,
      environment: 'production' as const,
      signature: 'standard' as const,
      success_contract: '2xx' as const,
      status: 'enabled' as const,
      timeout_ms: 10000,
      rate_limit: null,
    };
    const healthy = await repo.create('bench', { ...base, url: `http://127.0.0.1:${port}/`, max_concurrency: 16 });
    const deadPort = await freePort();
    const dead = await repo.create('bench', { ...base, url: `http://127.0.0.1:${deadPort}/`, max_concurrency: 4 });
    const directory = new EndpointDirectory(repo.forDispatch(), new TeamChanges(pool), 2000);
    await directory.start();
    let produced = 0;
    const engine = new DeliveryEngine({
      store: new PendingStore(pool, 60000),
      directory,
      endpoints: repo,
      sender: new WebhookSender(WebhookTargetPolicy.of(`127.0.0.1:${port}`, `127.0.0.1:${deadPort}`)),
      produce: async (records) => void (produced += records.length),
      schedule: [5000, 300000, 1800000],
      queueMax: Number(process.env.QUEUE_MAX ?? 1000),
      pollMs: 250,
      leaseMs: 60000,
      autoDisableMs: 10 * 24 * 3600 * 1000,
      logger: createLogger('bench', 'error'),
    });
    engine.start();

    const t0 = performance.now();
    // RATE=<deliveries/s> paces the input (latency below saturation); unset = as fast as
    // accepted (throughput; latency then is mostly queueing behind the receiver).
    const rate = Number(process.env.RATE ?? 0);
    const chunk = rate > 0 ? Math.max(1, Math.round(rate / 20)) : 500;
    for (let i = 0; i < N; i += chunk) {
      const tick = performance.now();
      await engine.accept(Array.from({ length: Math.min(chunk, N - i) }, () => delivery(healthy.endpoint.id, 'bench')));
      if (rate > 0) await new Promise((r) => setTimeout(r, Math.max(0, 50 - (performance.now() - tick))));
    }
    while (latencies.length < N) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - t0) / 1000;
    await engine.flush();
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        test: rate > 0 ? `paced ${rate}/s` : 'throughput',
        deliveries: N,
        seconds: +seconds.toFixed(2),
        deliveries_per_s: Math.round(N / seconds),
        p50_ms: pct(sorted, 50),
        p99_ms: pct(sorted, 99),
        attempt_records: produced,
      }),
    );

    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < BACKLOG; i += 500) await engine.accept(Array.from({ length: 500 }, () => delivery(dead.endpoint.id, 'bench')));
    let peakRss = 0;
    let peakHeap = 0;
    const until = Date.now() + 15000;
    while (Date.now() < until) {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { rows } = await pool.query<{ retrying: string; pending: string }>(
      `SELECT count(*) FILTER (WHERE attempts > 0) AS retrying, count(*) AS pending FROM webhook_pending`,
    );
    console.log(
      JSON.stringify({
        test: 'dead-endpoint backlog',
        deliveries: BACKLOG,
        in_memory_now: engine.heldCount,
        pending_rows: Number(rows[0]?.pending),
        rows_failed_once: Number(rows[0]?.retrying),
        rss_mb_before: Math.round(rss0 / 1048576),
        peak_rss_mb: Math.round(peakRss / 1048576),
        peak_heap_mb: Math.round(peakHeap / 1048576),
      }),
    );
    await engine.stop();
    directory.stop();
  } finally {
    server.close();
    await pool.end();
    await dropTestDatabase(pgUrl);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
