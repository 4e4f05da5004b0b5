import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { RateLimits, type ApiKeyPrincipal, type RateLimitDecision, type RateLimitSubject } from '@relay/control-plane';
import { RelayMetrics } from '@relay/observability';
import { ApiError } from '../http/api-error';
import { CONFIG, PG_POOL, type Config } from '../tokens';

/** The limits that apply to a key: its own and its team's (plan), each when set. */
export function subjectsOf(principal: ApiKeyPrincipal): RateLimitSubject[] {
  const subjects: RateLimitSubject[] = [];
  if (principal.rateLimit) subjects.push({ scope: 'key', id: principal.keyId, limit: principal.rateLimit });
  if (principal.teamRateLimit) subjects.push({ scope: 'team', id: principal.teamId, limit: principal.teamRateLimit });
  return subjects;
}

@Injectable()
export class RateLimitService {
  private readonly limits: RateLimits;

  constructor(
    @Inject(PG_POOL) pool: Pool,
    @Inject(CONFIG) config: Config,
    @Inject(RelayMetrics) private readonly metrics: RelayMetrics,
  ) {
    // Blocks reserved from PostgreSQL: one round trip per block, not per request (docs/tenancy.md).
    this.limits = new RateLimits(pool, { maxBlock: config.RELAY_RATE_LIMIT_BLOCK_MAX });
  }

  /** Counts one request; null when no limit applies to this key. */
  async check(principal: ApiKeyPrincipal): Promise<RateLimitDecision | null> {
    const subjects = subjectsOf(principal);
    if (subjects.length === 0) return null;
    const started = process.hrtime.bigint();
    const decision = await this.limits.consume(subjects);
    this.metrics.rateLimitCheckSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return decision;
  }

  /**
   * Counts one request and applies the outcome to the reply: `RateLimit-Limit`,
   * `RateLimit-Remaining`, `RateLimit-Reset` (seconds) always; over the limit, throws 429
   * RATE_LIMITED with `Retry-After` (seconds). For routes that authenticate in the handler
   * (a key in the body) and so cannot use `@RateLimited()`; call it right after
   * authenticating.
   */
  async enforce(principal: ApiKeyPrincipal, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const decision = await this.check(principal);
    if (!decision) return;
    const resetSeconds = Math.max(1, Math.ceil(decision.resetMs / 1000));
    // Set on the reply before the handler runs, so they go out with the 2xx as well as
    // with the 429 the error filter renders.
    void reply.header('ratelimit-limit', String(decision.limit));
    void reply.header('ratelimit-remaining', String(decision.remaining));
    void reply.header('ratelimit-reset', String(resetSeconds));
    if (decision.allowed) return;

    void reply.header('retry-after', String(resetSeconds));
    this.metrics.rateLimited.inc({ scope: decision.scope, route: request.routeOptions.url ?? 'unmatched' });
    const who = decision.scope === 'key' ? 'API key' : 'team';
    const message = `Rate limit of the ${who} exceeded (${decision.limit} requests per window); retry in ${resetSeconds} s`;
    throw new ApiError('RATE_LIMITED', [message], message);
  }
}
