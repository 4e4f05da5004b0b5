/**
 * `npx node -r ./tools/register.js tools/bench/rate-limit.ts`: the cost of the rate-limit
 * check on the request path, against the local PostgreSQL (a fresh relay_test_* database,
 * dropped at the end). Budget: p99 ≤ 1 ms per request.
 *
 * Scenarios (each after a warm-up), first with blocks of 1 (`exact`: one round trip per
 * request, the behaviour before block reservation, RELAY_RATE_LIMIT_BLOCK_MAX=1), then with
 * the default blocks (`block`: n = min(limit/10, 50) points reserved per round trip):
 *  - key only, one request at a time: the latency one request pays;
 *  - key + team (two subjects, consumed in parallel);
 *  - key + team with 16 requests in flight on a pool of 10: what a loaded gateway pays;
 *  - 100 keys + team, 16 in flight;
 *  - 3 instances (3 RateLimits on one pool) sharing one team, 16 in flight, then paced
 *    at 2000 checks/s (open loop: what a gateway under traffic asks of the limiter);
 *  - over the limit: refused from memory, no round trip.
 * Prints p50/p99/max in µs per request, the store round trips, and `metric <name> <value>` lines.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_BLOCK, RateLimits, createPool, type RateLimitSubject } from '@relay/control-plane';
import { DEFAULT_PG_URL, createMigratedDatabase, dropTestDatabase } from '@relay/testing';

const N = 5000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(name: string, total: number, concurrency: number, once: () => Promise<unknown>): Promise<void> {
  const samples: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = process.hrtime.bigint();
        await once();
        samples.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }),
  );
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  samples.sort((x, y) => x - y);
  const [p50, p99, max] = [percentile(samples, 50), percentile(samples, 99), samples[samples.length - 1] ?? NaN];
  console.log(
    `${name.padEnd(44)} p50 ${p50.toFixed(0).padStart(6)} µs   p99 ${p99.toFixed(0).padStart(6)} µs   max ${max.toFixed(0).padStart(7)} µs   ${(total / wallS).toFixed(0)} checks/s`,
  );
  const slug = name.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
  console.log(`metric rate_limit_${slug}_p50_us ${p50.toFixed(1)}`);
  console.log(`metric rate_limit_${slug}_p99_us ${p99.toFixed(1)}`);
}

/**
 * Open loop: starts `rate` checks per second whatever the answers (a gateway receiving
 * traffic), each timed from its start. The closed loops above saturate the limiter far
 * beyond what a gateway's HTTP handling could ask of it.
 */
async function paced(name: string, total: number, rate: number, once: () => Promise<unknown>): Promise<void> {
  const samples: number[] = [];
  const pending: Promise<void>[] = [];
  const started = Date.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    for (; issued < due; issued++) {
      const t0 = process.hrtime.bigint();
      pending.push(once().then(() => void samples.push(Number(process.hrtime.bigint() - t0) / 1000)));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  samples.sort((x, y) => x - y);
  const [p50, p99, max] = [percentile(samples, 50), percentile(samples, 99), samples[samples.length - 1] ?? NaN];
  console.log(
    `${name.padEnd(44)} p50 ${p50.toFixed(0).padStart(6)} µs   p99 ${p99.toFixed(0).padStart(6)} µs   max ${max.toFixed(0).padStart(7)} µs   ${rate} checks/s offered`,
  );
  const slug = name.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
  console.log(`metric rate_limit_${slug}_p50_us ${p50.toFixed(1)}`);
  console.log(`metric rate_limit_${slug}_p99_us ${p99.toFixed(1)}`);
}

async function main(): Promise<void> {
  const url = await createMigratedDatabase(DEFAULT_PG_URL);
  const pool = createPool(url, 10);
  try {
    for (const [mode, maxBlock] of [
      ['exact', 1],
      ['block', DEFAULT_MAX_BLOCK],
    ] as const) {
      const limits = new RateLimits(pool, { maxBlock });
      const key = (): RateLimitSubject => ({ scope: 'key', id: randomUUID(), limit: { requests: 1_000_000, perSeconds: 60 } });
      const k = key();
      const team: RateLimitSubject = { scope: 'team', id: randomUUID(), limit: { requests: 1_000_000, perSeconds: 3600 } };

      await measure(`${mode}: warm-up`, 1000, 1, () => limits.consume([k, team]));
      const before = limits.reservations;
      await measure(`${mode}: key only, sequential`, N, 1, () => limits.consume([k]));
      await measure(`${mode}: key + team, sequential`, N, 1, () => limits.consume([k, team]));
      await measure(`${mode}: key + team, 16 in flight`, N * 2, 16, () => limits.consume([k, team]));
      const many = Array.from({ length: 100 }, key);
      let i = 0;
      await measure(`${mode}: 100 keys + team, 16 in flight`, N * 2, 16, () => limits.consume([many[i++ % 100] as RateLimitSubject, team]));
      const instances = [limits, new RateLimits(pool, { maxBlock }), new RateLimits(pool, { maxBlock })];
      let j = 0;
      await measure(`${mode}: 3 instances + team, 16 in flight`, N * 2, 16, () => (instances[j++ % 3] as RateLimits).consume([k, team]));
      let p = 0;
      await paced(`${mode}: 3 instances + team, 2000/s paced`, N * 2, 2000, () => (instances[p++ % 3] as RateLimits).consume([k, team]));
      const blocked: RateLimitSubject = { scope: 'key', id: randomUUID(), limit: { requests: 10, perSeconds: 3600 } };
      await measure(`${mode}: over the limit (refused from memory)`, N, 1, () => limits.consume([blocked]));
      const checks = 20 * N; // subject checks: N + 2N + 4N + 4N + 4N + 4N + N
      const trips = limits.reservations + (instances[1] as RateLimits).reservations + (instances[2] as RateLimits).reservations - before;
      console.log(`${mode}: ${trips} store round trips for ${checks} subject checks (${(checks / Math.max(1, trips)).toFixed(1)} per round trip)`);
    }
  } finally {
    await pool.end();
    await dropTestDatabase(url);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
