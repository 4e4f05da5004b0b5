import { isoDurationMs, type RateLimitView } from '@relay/control-plane';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * An endpoint's request budget: at most `requests` POSTs per `per` (ISO 8601 duration), the
 * same `{"requests", "per"}` form as an API key's limit (RateLimitView), with sub-second windows.
 */
type RateLimit = RateLimitView;

export const RATE_LIMIT_MAX_REQUESTS = 100000;
const PERIOD_MIN_MS = 100;
const PERIOD_MAX_MS = 24 * 3600 * 1000;

/** `PT1S`, `PT0.5S`, `PT1M`… in milliseconds, or null when not an ISO 8601 duration in [100 ms, 24 h]. */
export function rateLimitPeriodMs(per: unknown): number | null {
  const ms = isoDurationMs(per);
  return ms !== null && ms >= PERIOD_MIN_MS && ms <= PERIOD_MAX_MS ? ms : null;
}

/**
 * One in-memory limiter per rate-limited endpoint (rate-limiter-flexible's
 * RateLimiterMemory: fixed windows of `per`, `requests` points each). The sender asks
 * before every POST (a batch is one POST); a refusal says how long until the window
 * resets, and only that endpoint's lane waits — other endpoints never do.
 *
 * Per dispatcher instance: with N instances sending to one endpoint the ceiling is N ×
 * the limit (deliveries are keyed by endpoint, so fresh ones go to one instance; retries
 * claimed by pollers may spread). A cluster-wide limiter (RateLimiterPostgres) would cost
 * a PostgreSQL round trip per request; not worth it while one instance serves an endpoint.
 */
export class EndpointRateLimiters {
  private readonly limiters = new Map<string, { spec: string; limiter: RateLimiterMemory }>();

  /** 0 when a request may go now (and counts it), else the milliseconds to wait. */
  async take(endpointId: string, limit: RateLimit | null): Promise<number> {
    if (!limit) {
      this.limiters.delete(endpointId);
      return 0;
    }
    const spec = `${limit.requests}/${limit.per}`;
    let entry = this.limiters.get(endpointId);
    if (!entry || entry.spec !== spec) {
      const periodMs = rateLimitPeriodMs(limit.per) ?? 1000;
      entry = { spec, limiter: new RateLimiterMemory({ points: limit.requests, duration: periodMs / 1000 }) };
      this.limiters.set(endpointId, entry);
    }
    try {
      await entry.limiter.consume(endpointId, 1);
      return 0;
    } catch (error) {
      if (error instanceof RateLimiterRes) return Math.max(1, error.msBeforeNext);
      throw error;
    }
  }

  forget(endpointId: string): void {
    this.limiters.delete(endpointId);
  }
}
