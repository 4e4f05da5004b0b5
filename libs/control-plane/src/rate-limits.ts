import type { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
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

/**
 * Requests-per-window limits shared by every gateway instance, with rate-limiter-flexible's
 * PostgreSQL store (fixed windows; one atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING`
 * per subject and request, in an UNLOGGED table).
 *
 * Why PostgreSQL: the limits must hold across gateway instances, so the counters live in a
 * store they all share, and PostgreSQL is the one the gateway already depends on (no
 * Redis to run). Two library features keep it cheap and available:
 * - `inMemoryBlockOnConsumed`: once a subject has used its window, this instance refuses
 *   it from memory until the window ends, so a client hammering past its limit costs no
 *   database round trips (that is when load is highest);
 * - `insuranceLimiter`: if PostgreSQL errors, an in-memory limiter with the same limit
 *   decides for this instance (limits then hold per instance rather than globally) instead
 *   of failing requests that the rest of the pipeline could still accept.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterPostgres>();

  constructor(private readonly pool: Pool) {}

  /**
   * Consumes one request from every subject (in parallel: one round trip of latency).
   * Allowed only if every subject allows it; a refused request still counts against the
   * subjects that allowed it, which errs on the side of the limit.
   */
  async consume(subjects: readonly RateLimitSubject[]): Promise<RateLimitDecision | null> {
    if (subjects.length === 0) return null;
    const results = await Promise.all(
      subjects.map(async (subject) => {
        const limiter = this.limiter(subject.limit);
        try {
          const res = await limiter.consume(`${subject.scope}:${subject.id}`, 1);
          return { subject, res, allowed: true };
        } catch (rejection) {
          // rate-limiter-flexible rejects with a RateLimiterRes when over the limit; with
          // an insurance limiter configured, store errors never reach here.
          if (rejection instanceof RateLimiterRes) return { subject, res: rejection, allowed: false };
          throw rejection;
        }
      }),
    );
    const refused = results.filter((r) => !r.allowed).sort((a, b) => b.res.msBeforeNext - a.res.msBeforeNext)[0];
    const decisive =
      refused ??
      [...results].sort((a, b) => a.res.remainingPoints / a.subject.limit.requests - b.res.remainingPoints / b.subject.limit.requests)[0];
    if (!decisive) return null;
    return {
      allowed: !refused,
      scope: decisive.subject.scope,
      limit: decisive.subject.limit.requests,
      remaining: refused ? 0 : decisive.res.remainingPoints,
      resetMs: Math.max(0, decisive.res.msBeforeNext),
    };
  }

  /** One limiter per distinct (requests, window): the library fixes both per instance. */
  private limiter(limit: RateLimit): RateLimiterPostgres {
    const id = `${limit.requests}r${limit.perSeconds}s`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterPostgres({
        storeClient: this.pool,
        storeType: 'pool',
        tableName: RATE_LIMITS_TABLE,
        tableCreated: true, // created by the control-plane migration (UNLOGGED)
        // Expired rows of the whole table are swept every 5 minutes; one sweeper per process is enough.
        clearExpiredByTimeout: this.limiters.size === 0,
        keyPrefix: id,
        points: limit.requests,
        duration: limit.perSeconds,
        inMemoryBlockOnConsumed: limit.requests,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: id, points: limit.requests, duration: limit.perSeconds }),
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}
