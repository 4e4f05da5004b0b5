/**
 * `npx node -r ./tools/register.js tools/bench/rate-limit.ts`: the cost of the rate-limit
 * check on the request path, against the local PostgreSQL (a fresh relay_test_* database,
 * dropped at the end). Budget: p99 ≤ 1 ms per request.
 *
 * Scenarios (each after a warm-up):
 *  - key only, one request at a time: the latency one request pays;
 *  - key + team (two subjects, consumed in parallel);
 *  - key + team with 16 requests in flight on a pool of 10: what a loaded gateway pays;
 *  - over the limit: refused from memory (inMemoryBlockOnConsumed), no round trip.
 * Prints p50/p99/max in µs per request and `metric <name> <value>` lines.
 */
import { randomUUID } from 'node:crypto';
import { RateLimits, createPool, prepareDatabase, type RateLimitSubject } from '@relay/control-plane';
import { DEFAULT_PG_URL, createTestDatabase, dropTestDatabase } from '@relay/testing';

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

async function main(): Promise<void> {
  const url = await createTestDatabase(DEFAULT_PG_URL);
  const pool = createPool(url, 10);
  try {
    await prepareDatabase(url);
    const limits = new RateLimits(pool);
    const key = (): RateLimitSubject => ({ scope: 'key', id: randomUUID(), limit: { requests: 1_000_000, perSeconds: 60 } });
    const k = key();
    const team: RateLimitSubject = { scope: 'team', id: randomUUID(), limit: { requests: 1_000_000, perSeconds: 3600 } };

    await measure('warm-up', 1000, 1, () => limits.consume([k, team]));
    await measure('key only, sequential', N, 1, () => limits.consume([k]));
    await measure('key + team, sequential', N, 1, () => limits.consume([k, team]));
    await measure('key + team, 16 in flight', N * 2, 16, () => limits.consume([k, team]));
    const many = Array.from({ length: 100 }, key);
    let i = 0;
    await measure('100 keys + team, 16 in flight', N * 2, 16, () => limits.consume([many[i++ % 100] as RateLimitSubject, team]));
    const blocked: RateLimitSubject = { scope: 'key', id: randomUUID(), limit: { requests: 10, perSeconds: 3600 } };
    await measure('over the limit (refused from memory)', N, 1, () => limits.consume([blocked]));
  } finally {
    await pool.end();
    await dropTestDatabase(url);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
