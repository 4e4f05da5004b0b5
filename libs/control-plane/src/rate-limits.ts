import type { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimit } from './rate-limit-spec';

export type RateLimitScope = 'key' | 'team';

export interface RateLimitSubject {
  scope: RateLimitScope;
  id: string;
  limit: RateLimit;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The subject that decided (the one that refused, else the one closest to its limit). */
  scope: RateLimitScope;
  limit: number;
  remaining: number;
  /** Milliseconds until the window of that subject resets. */
  resetMs: number;
}

export const RATE_LIMITS_TABLE = 'rate_limits';

/** Largest block an instance reserves at once (RELAY_RATE_LIMIT_BLOCK_MAX); 1 = every request asks the store. */
export const DEFAULT_MAX_BLOCK = 50;

/**
 * Points reserved from the shared store per round trip: a tenth of the limit, at most
 * `maxBlock`, at least 1. A tenth keeps the worst-case error (instances × block) a small
 * fraction of the limit for the few instances a deployment runs; 50 already makes the
 * round trip a 1-in-50 event. Limits under 20 get 1: exact counting, they are cheap anyway.
 */
export function blockSize(limit: RateLimit, maxBlock = DEFAULT_MAX_BLOCK): number {
  return Math.max(1, Math.min(Math.floor(limit.requests / 10), Math.floor(maxBlock)));
}

/** Builds the store-backed limiter of one (requests, window); injectable for tests. */
export type LimiterFactory = (limit: RateLimit, keyPrefix: string, first: boolean) => RateLimiterAbstract;

export interface RateLimitsOptions {
  maxBlock?: number;
  /** Defaults to rate-limiter-flexible's PostgreSQL store on `pool`. */
  limiterFactory?: LimiterFactory;
}

/** This instance's share of one subject's current window. */
interface Lease {
  /** End of the store's window on this clock (the store's `expire`). */
  windowEnd: number;
  windowMs: number;
  /** Points reserved in the store for this window and not served yet. */
  available: number;
  /** What the store had left after our last reservation (other instances may have taken some since). */
  storeRemaining: number;
  /** The store refused (part of) a reservation: nothing more this window, refuse from memory. */
  exhausted: boolean;
  refill: Promise<void> | null;
}

interface Taken {
  subject: RateLimitSubject;
  allowed: boolean;
  remaining: number;
  resetMs: number;
}

const LEASE_SWEEP_AT = 10_000;

/**
 * Requests-per-window limits shared by every gateway instance, with rate-limiter-flexible's
 * PostgreSQL store (fixed windows, one atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING`
 * per reservation, in an UNLOGGED table), served from **reserved blocks**.
 *
 * Why PostgreSQL: the limits must hold across gateway instances, so the counters live in a
 * store they all share, and PostgreSQL is the one the gateway already depends on (no Redis).
 *
 * Why blocks: a round trip per request costs ~150 µs at p50 and several ms at p99 on a
 * busy machine, over the 1 ms budget, and serialises on one hot team row. So each instance
 * reserves `blockSize(limit)` points at once (`consume(key, n)`) and serves requests from
 * that block in memory; when half of it is used it tops the block up in the background,
 * so requests wait on the store only for the first request of a window (or when the
 * prefetch has not come back). The block is hand-rolled on top of the library because it
 * has no notion of leasing points; the counting, windows and atomicity stay the library's.
 *
 * Accuracy (documented in docs/tenancy.md):
 * - every point served was counted by the store in the window it was served in, so an
 *   instance never serves more than it reserved; leftover points are dropped when the
 *   store's window ends. The only over-admission is at the window edge: the store's
 *   window end is known to this instance within one round trip, so leftover points may be
 *   served that late: at most instances × n per window (in practice ~0);
 * - unused reserved points count against the limit: a busy instance can be refused while
 *   others still hold unused points: under-admission of at most (instances − 1) × n.
 *   Near the end of the limit blocks shrink to half of what the store has left, which
 *   keeps that small.
 *
 * Two library features keep it cheap and available:
 * - `inMemoryBlockOnConsumed`: once a subject has used its window, this instance refuses
 *   it from memory until the window ends;
 * - `insuranceLimiter`: if PostgreSQL errors, an in-memory limiter with the same limit
 *   decides for this instance (limits then hold per instance) instead of failing requests.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly leases = new Map<string, Lease>();
  private readonly maxBlock: number;
  private readonly factory: LimiterFactory;
  /** Reservations sent to the store (a test and bench observable: ~1 per block). */
  reservations = 0;

  constructor(pool: Pool | null, options: RateLimitsOptions = {}) {
    this.maxBlock = Math.max(1, options.maxBlock ?? DEFAULT_MAX_BLOCK);
    if (options.limiterFactory) this.factory = options.limiterFactory;
    else if (pool) this.factory = postgresLimiter(pool);
    else throw new Error('RateLimits needs a pool or a limiterFactory');
  }

  /**
   * Consumes one request from every subject. Allowed only if every subject allows it; a
   * refused request still counts against the subjects that allowed it, which errs on the
   * side of the limit. Resolves without any I/O while this instance's blocks last.
   */
  async consume(subjects: readonly RateLimitSubject[]): Promise<RateLimitDecision | null> {
    if (subjects.length === 0) return null;
    const results = await Promise.all(subjects.map(async (s) => this.take(s)));
    const refused = results.filter((r) => !r.allowed).sort((a, b) => b.resetMs - a.resetMs)[0];
    const decisive = refused ?? [...results].sort((a, b) => a.remaining / a.subject.limit.requests - b.remaining / b.subject.limit.requests)[0];
    if (!decisive) return null;
    return {
      allowed: !refused,
      scope: decisive.subject.scope,
      limit: decisive.subject.limit.requests,
      remaining: refused ? 0 : decisive.remaining,
      resetMs: Math.max(0, decisive.resetMs),
    };
  }

  /** One request from one subject: synchronous while the lease has points. */
  private take(subject: RateLimitSubject): Taken | Promise<Taken> {
    const lease = this.lease(subject);
    const now = Date.now();
    if (lease.windowEnd <= now) this.expire(lease);
    if (lease.available > 0) return this.serve(subject, lease, now);
    if (lease.exhausted) return { subject, allowed: false, remaining: 0, resetMs: lease.windowEnd - now };
    return this.takeAfterReservation(subject, lease);
  }

  private async takeAfterReservation(subject: RateLimitSubject, lease: Lease): Promise<Taken> {
    // Each pass waits for one reservation: it either brings points (served to the waiters
    // in arrival order), or says the window is used up, or belongs to a window that has
    // ended (dropped, so ask again in the new one).
    for (;;) {
      // Awaited through lease.refill (shared with the other waiters), which reserve() sets.
      await (lease.refill ?? this.reserve(subject, lease, this.nextBlock(subject, lease)));
      const now = Date.now();
      if (lease.windowEnd <= now) this.expire(lease);
      if (lease.available > 0) return this.serve(subject, lease, now);
      if (lease.exhausted) return { subject, allowed: false, remaining: 0, resetMs: lease.windowEnd - now };
    }
  }

  private serve(subject: RateLimitSubject, lease: Lease, now: number): Taken {
    lease.available--;
    const block = blockSize(subject.limit, this.maxBlock);
    // Top the block up in the background at half, so the next requests never wait. Not
    // for blocks of 1: prefetching a point nobody may use would refuse another instance.
    if (block > 1 && lease.available <= block / 2 && !lease.refill && !lease.exhausted) {
      this.reserve(subject, lease, this.nextBlock(subject, lease)).catch(() => undefined);
    }
    return { subject, allowed: true, remaining: Math.max(0, lease.storeRemaining + lease.available), resetMs: lease.windowEnd - now };
  }

  /** Tops up to a full block, but never more than half of what the store has left. */
  private nextBlock(subject: RateLimitSubject, lease: Lease): number {
    const full = blockSize(subject.limit, this.maxBlock) - lease.available;
    return Math.max(1, Math.min(full, Math.ceil(lease.storeRemaining / 2)));
  }

  /** Starts one reservation (at most one in flight per lease); waiters await `lease.refill`. */
  private reserve(subject: RateLimitSubject, lease: Lease, points: number): Promise<void> {
    const limiter = this.limiter(subject.limit);
    this.reservations++;
    const done = limiter.consume(`${subject.scope}:${subject.id}`, points).then(
      (res) => this.apply(lease, points, points, res),
      (rejection: unknown) => {
        // Over the limit the library rejects with a RateLimiterRes whose consumedPoints
        // includes ours: the part of the block under the limit is still ours. Refused from
        // its in-memory block, consumedPoints is 0 and nothing was counted.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const before = rejection.consumedPoints - points;
        const granted = rejection.consumedPoints > 0 ? Math.max(0, Math.min(points, subject.limit.requests - before)) : 0;
        this.apply(lease, points, granted, rejection);
      },
    );
    const settled = done.finally(() => {
      if (lease.refill === settled) lease.refill = null;
    });
    lease.refill = settled;
    // Waiters see the rejection through `lease.refill`; a background top-up has no waiter.
    void settled.catch(() => undefined);
    return settled;
  }

  private apply(lease: Lease, requested: number, granted: number, res: RateLimiterRes): void {
    const now = Date.now();
    const end = now + Math.max(0, res.msBeforeNext);
    // Windows are at least a second apart: ends closer than half a window are the same one.
    const sameWindow = Math.abs(end - lease.windowEnd) < lease.windowMs / 2;
    if (!sameWindow) {
      // An answer about a window older than the one we hold arrived late: its points are void.
      if (end < lease.windowEnd) return;
      lease.available = 0;
      lease.exhausted = false;
    }
    lease.windowEnd = end;
    lease.available += granted;
    lease.storeRemaining = Math.max(0, res.remainingPoints);
    if (granted < requested) lease.exhausted = true;
  }

  private expire(lease: Lease): void {
    lease.available = 0;
    lease.exhausted = false;
    lease.storeRemaining = Number.POSITIVE_INFINITY;
  }

  private lease(subject: RateLimitSubject): Lease {
    const id = `${subject.scope}:${subject.id}:${subject.limit.requests}r${subject.limit.perSeconds}s`;
    let lease = this.leases.get(id);
    if (!lease) {
      if (this.leases.size >= LEASE_SWEEP_AT) this.sweep();
      lease = {
        windowEnd: 0,
        windowMs: subject.limit.perSeconds * 1000,
        available: 0,
        storeRemaining: Number.POSITIVE_INFINITY,
        exhausted: false,
        refill: null,
      };
      this.leases.set(id, lease);
    }
    return lease;
  }

  /** Bounds memory: drops leases whose window has ended (their points are void anyway). */
  private sweep(): void {
    const now = Date.now();
    for (const [id, lease] of this.leases) if (lease.windowEnd <= now && !lease.refill) this.leases.delete(id);
  }

  /** One limiter per distinct (requests, window): the library fixes both per instance. */
  private limiter(limit: RateLimit): RateLimiterAbstract {
    const id = `${limit.requests}r${limit.perSeconds}s`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = this.factory(limit, id, this.limiters.size === 0);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}

const postgresLimiter =
  (pool: Pool): LimiterFactory =>
  (limit, keyPrefix, first) =>
    new RateLimiterPostgres({
      storeClient: pool,
      storeType: 'pool',
      tableName: RATE_LIMITS_TABLE,
      tableCreated: true, // created by the control-plane migration (UNLOGGED)
      // Expired rows of the whole table are swept every 5 minutes; one sweeper per process is enough.
      clearExpiredByTimeout: first,
      keyPrefix,
      points: limit.requests,
      duration: limit.perSeconds,
      inMemoryBlockOnConsumed: limit.requests,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points: limit.requests, duration: limit.perSeconds }),
    });
