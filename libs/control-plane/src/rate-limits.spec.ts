import { RateLimiterMemory } from 'rate-limiter-flexible';
import { blockSize, RateLimits, type LimiterFactory, type RateLimitSubject } from './rate-limits';

/**
 * The block-reservation logic, with the library's in-memory store standing in for the
 * shared PostgreSQL table (same consume(key, n) semantics; one store shared by several
 * RateLimits = several gateway instances). The PostgreSQL path is covered by
 * tenancy.e2e.spec.ts and measured by tools/bench/rate-limit.ts.
 */
function sharedStore(delayMs = 0): { factory: LimiterFactory; calls: () => number } {
  const stores = new Map<string, RateLimiterMemory>();
  let calls = 0;
  const factory: LimiterFactory = (limit, keyPrefix) => {
    let store = stores.get(keyPrefix);
    if (!store) {
      store = new RateLimiterMemory({ keyPrefix, points: limit.requests, duration: limit.perSeconds });
      const consume = store.consume.bind(store);
      store.consume = (key, points, options) => {
        calls++;
        // A store round trip: answers after a timer, never within the caller's turn.
        if (delayMs === 0) return consume(key, points, options);
        return new Promise((r) => setTimeout(r, delayMs)).then(() => consume(key, points, options));
      };
      stores.set(keyPrefix, store);
    }
    return store;
  };
  return { factory, calls: () => calls };
}

const team = (requests: number, perSeconds = 3600): RateLimitSubject => ({ scope: 'team', id: 'team-1', limit: { requests, perSeconds } });

describe('rate limits served from reserved blocks', () => {
  it('sizes blocks at a tenth of the limit, capped, at least 1', () => {
    expect(blockSize({ requests: 4, perSeconds: 60 })).toBe(1);
    expect(blockSize({ requests: 19, perSeconds: 60 })).toBe(1);
    expect(blockSize({ requests: 200, perSeconds: 60 })).toBe(20);
    expect(blockSize({ requests: 1000, perSeconds: 3600 })).toBe(50);
    expect(blockSize({ requests: 1000, perSeconds: 3600 }, 1)).toBe(1);
  });

  it('touches the store about once per block, and never makes a request wait once warm', async () => {
    const store = sharedStore(2);
    const limits = new RateLimits(null, { limiterFactory: store.factory });
    const subject = team(1_000_000);
    let waited = 0;
    for (let i = 0; i < 1000; i++) {
      const pending = limits.consume([subject]);
      // Served from the block, it resolves before the event loop's next turn (no I/O);
      // a request that waits for the store needs its 2 ms timer.
      let done = false;
      void pending.then(() => (done = true));
      await new Promise((r) => setImmediate(r));
      if (!done) waited++;
      expect((await pending)?.allowed).toBe(true);
      // Gives background top-ups their round trip, as real traffic spacing would.
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 3));
    }
    // 1000 requests, blocks of 50 topped up at half: ~40 reservations, not 1000.
    expect(store.calls()).toBeLessThanOrEqual(1000 / 25 + 1);
    expect(store.calls()).toBeGreaterThanOrEqual(1000 / 50);
    // Only the very first request of the window waited for the store.
    expect(waited).toBe(1);
  });

  it('three instances sharing one limit never admit more than the limit and lose at most (instances − 1) × block', async () => {
    const store = sharedStore();
    const instances = [0, 1, 2].map(() => new RateLimits(null, { limiterFactory: store.factory }));
    const subject = team(1000); // block 50
    let admitted = 0;
    let refusedAt = -1;
    // Round robin, with some concurrency on each instance.
    for (let round = 0; round < 500; round++) {
      const decisions = await Promise.all(instances.flatMap((rl) => [rl.consume([subject]), rl.consume([subject])]));
      for (const d of decisions) {
        if (d?.allowed) admitted++;
        else if (refusedAt < 0) refusedAt = admitted;
      }
    }
    expect(admitted).toBeLessThanOrEqual(1000);
    expect(admitted).toBeGreaterThanOrEqual(1000 - 2 * blockSize(subject.limit));
    // Once refused, the window stays refused with the time to its end.
    const last = await instances[0]?.consume([subject]);
    expect(last).toMatchObject({ allowed: false, scope: 'team', limit: 1000, remaining: 0 });
    expect(last?.resetMs).toBeGreaterThan(3500 * 1000);
  });

  it('with uneven traffic the busy instance gets the points idle ones do not hold (blocks shrink near the limit)', async () => {
    const store = sharedStore();
    const [busy, idle] = [new RateLimits(null, { limiterFactory: store.factory }), new RateLimits(null, { limiterFactory: store.factory })];
    const subject = team(200); // block 20
    expect((await idle?.consume([subject]))?.allowed).toBe(true); // idle holds up to 19 unused points
    let admitted = 1;
    for (let i = 0; i < 300; i++) if ((await busy?.consume([subject]))?.allowed) admitted++;
    expect(admitted).toBeLessThanOrEqual(200);
    expect(admitted).toBeGreaterThanOrEqual(200 - blockSize(subject.limit));
  });

  it('limits under 20 count every request exactly across instances (block of 1, no prefetch)', async () => {
    const store = sharedStore();
    const instances = [0, 1, 2].map(() => new RateLimits(null, { limiterFactory: store.factory }));
    const subject = team(4, 60);
    const statuses: boolean[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await instances[i % 3]?.consume([subject]))?.allowed ?? false);
    expect(statuses).toEqual([true, true, true, true, false, false, false, false]);
    expect(store.calls()).toBeLessThanOrEqual(8);
  });

  it('reports RateLimit-* values: remaining counts the unserved points of the block', async () => {
    const store = sharedStore();
    const limits = new RateLimits(null, { limiterFactory: store.factory });
    const key: RateLimitSubject = { scope: 'key', id: 'k', limit: { requests: 3, perSeconds: 2 } };
    expect(await limits.consume([key])).toMatchObject({ allowed: true, scope: 'key', limit: 3, remaining: 2 });
    expect(await limits.consume([key])).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limits.consume([key])).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await limits.consume([key]);
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused?.resetMs).toBeGreaterThan(0);
    expect(refused?.resetMs).toBeLessThanOrEqual(2000);
  });

  it('drops leftover points when the window ends and reserves again in the next one', async () => {
    const store = sharedStore();
    const limits = new RateLimits(null, { limiterFactory: store.factory });
    const subject = team(100, 1); // block 10, 1 s window
    let first = 0;
    for (let i = 0; i < 150; i++) if ((await limits.consume([subject]))?.allowed) first++;
    expect(first).toBe(100);
    await new Promise((r) => setTimeout(r, 1100));
    let second = 0;
    for (let i = 0; i < 150; i++) if ((await limits.consume([subject]))?.allowed) second++;
    expect(second).toBe(100);
  });

  it('concurrent first requests share one reservation', async () => {
    const store = sharedStore();
    const limits = new RateLimits(null, { limiterFactory: store.factory });
    const subject = team(1000);
    const decisions = await Promise.all(Array.from({ length: 40 }, () => limits.consume([subject])));
    expect(decisions.every((d) => d?.allowed)).toBe(true);
    expect(store.calls()).toBeLessThanOrEqual(2);
  });
});
