import type { Pool } from 'pg';
import type { WebhookAttempt, WebhookDelivery } from '@relay/contracts';

/** A delivery taken from the pending table, with the attempts already made. */
export interface PendingJob {
  delivery: WebhookDelivery;
  attempts: number;
}

export type Completion =
  | { kind: 'succeeded'; job: PendingJob; attempt: WebhookAttempt }
  | { kind: 'retrying'; job: PendingJob; attempt: WebhookAttempt; dueAt: number }
  /**
   * `unsent`: failed without an HTTP request (its attempt record says why); the endpoint's
   * health is not touched. `gone`: the receiver answered 410 Gone; the endpoint is disabled.
   */
  | { kind: 'dead'; job: PendingJob; attempt: WebhookAttempt | null; reason: string; unsent?: boolean; gone?: boolean }
  /** Not attempted (endpoint not in the directory yet): back to the table for later, attempts unchanged. */
  | { kind: 'deferred'; job: PendingJob; dueAt: number };

/**
 * The durable retry queue and the attempt log, in PostgreSQL.
 *
 * Why PostgreSQL with `FOR UPDATE SKIP LOCKED` rather than pg-boss: the queue needs three
 * things pg-boss does not give cheaply — insertion of a whole Kafka chunk in one
 * statement in the same database as the endpoints, a lease the owner can renew in one
 * statement for thousands of rows, and claims that skip endpoints whose in-memory lane
 * is full (the memory bound). pg-boss's job-per-row API, its own schema and maintenance
 * loop would cost more statements per delivery than this table, and its retry policy
 * (retryDelay/backoff) has no place for Retry-After. The table is ~100 lines of SQL.
 */
export class PendingStore {
  constructor(
    private readonly pool: Pool,
    private readonly leaseMs: number,
    /** How long a finished delivery's id is remembered, so a late duplicate record is not sent again. */
    private readonly dedupeWindowMs = 7 * 24 * 3600 * 1000,
  ) {}

  /**
   * Inserts deliveries; the ones in `take` are leased to the caller at once (it will send
   * them from memory), the rest are due now for any instance's poller. Already-known
   * delivery ids are skipped — pending ones (Kafka redelivery) and finished ones still in
   * the dedupe window (webhook_finished: a duplicate record arriving after the delivery
   * succeeded or died is not sent again); returns the ids actually inserted.
   *
   * One narrow race is left to the receiver: a duplicate accepted in the very instant its
   * original's completion commits may be sent again, with the same webhook-id.
   */
  async accept(deliveries: readonly WebhookDelivery[], take: ReadonlySet<string>): Promise<Set<string>> {
    if (deliveries.length === 0) return new Set();
    const { rows } = await this.pool.query<{ delivery_id: string }>(
      `INSERT INTO webhook_pending (delivery_id, endpoint_id, team_id, delivery, leased, due_at)
       SELECT d.delivery_id, d.endpoint_id, d.team_id, d.delivery, d.leased,
              CASE WHEN d.leased THEN now() + ($5::bigint * interval '1 millisecond') ELSE now() END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $6::boolean[]) AS d(delivery_id, endpoint_id, team_id, delivery, leased)
       WHERE NOT EXISTS (SELECT 1 FROM webhook_finished f WHERE f.delivery_id = d.delivery_id)
       ON CONFLICT (delivery_id) DO NOTHING
       RETURNING delivery_id`,
      [
        deliveries.map((d) => d.delivery_id),
        deliveries.map((d) => d.endpoint_id),
        deliveries.map((d) => d.team_id),
        deliveries.map((d) => JSON.stringify(d)),
        this.leaseMs,
        deliveries.map((d) => take.has(d.delivery_id)),
      ],
    );
    return new Set(rows.map((r) => r.delivery_id));
  }

  /**
   * Claims due rows (retries, spills, expired leases of a dead instance) for this
   * instance. SKIP LOCKED lets several dispatchers poll at once without waiting on or
   * double-claiming each other's rows; pushing due_at forward makes the claim a lease.
   *
   * Fairness: among the oldest `limit × 10` due rows, rows are taken round-robin across
   * endpoints (each endpoint's 1st row, then each one's 2nd, …: row_number per endpoint),
   * so one endpoint's backlog no longer fills a whole poll ahead of another endpoint's
   * retry, while a lone endpoint still gets the full `limit`. The candidate window bounds
   * the cost (an index range of at most limit × 10 rows, whatever the backlog); an
   * endpoint whose retry is newer than another's 10 × limit older due rows still waits
   * behind them (until that lane is full and excluded). The ids are picked first, then
   * locked by primary key (FOR UPDATE cannot sit beside a window function); a concurrent
   * poller that picked the same ids skips them and gets the rest next poll.
   */
  async claim(limit: number, excludeEndpoints: readonly string[]): Promise<PendingJob[]> {
    const { rows } = await this.pool.query<{ delivery: WebhookDelivery; attempts: number }>(
      `WITH picked AS (
         SELECT ARRAY(
           SELECT delivery_id FROM (
             SELECT delivery_id, due_at, row_number() OVER (PARTITION BY endpoint_id ORDER BY due_at) AS nth
             FROM (SELECT delivery_id, endpoint_id, due_at FROM webhook_pending
                   WHERE due_at <= now() AND NOT (endpoint_id = ANY($3::text[]))
                   ORDER BY due_at LIMIT $1 * 10) oldest) ranked
           ORDER BY nth, due_at LIMIT $1) AS ids),
       locked AS (
         SELECT delivery_id FROM webhook_pending
         WHERE delivery_id = ANY((SELECT ids FROM picked)::text[]) AND due_at <= now()
         FOR UPDATE SKIP LOCKED)
       UPDATE webhook_pending p SET leased = true, due_at = now() + ($2::bigint * interval '1 millisecond')
       FROM locked l WHERE p.delivery_id = l.delivery_id
       RETURNING p.delivery, p.attempts`,
      [limit, this.leaseMs, excludeEndpoints],
    );
    return rows.map((r) => ({ delivery: r.delivery, attempts: r.attempts }));
  }

  /** Extends the lease of rows still held in memory (only while leased: see complete). */
  async renew(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(
      `UPDATE webhook_pending SET due_at = now() + ($2::bigint * interval '1 millisecond') WHERE delivery_id = ANY($1::text[]) AND leased`,
      [ids, this.leaseMs],
    );
  }

  /**
   * Records finished attempts in one transaction: attempts logged, succeeded and dead rows
   * removed (dead ones kept in webhook_dead for replay), retrying rows released with their
   * next due time, endpoint health stamped. Returns endpoints it auto-disabled: no success
   * for `autoDisableMs` while failing, or a 410 Gone from the receiver — in that case the
   * endpoint's other waiting deliveries are made due now, so they fail (ENDPOINT_DISABLED,
   * with the reason) within a poll instead of at their next retry time.
   */
  async complete(items: readonly Completion[], autoDisableMs: number): Promise<{ id: string; team_id: string; environment: string; reason: string }[]> {
    const attempts = items.flatMap((c) => ((c.kind === 'succeeded' || c.kind === 'retrying' || c.kind === 'dead') && c.attempt ? [c.attempt] : []));
    const retrying = items.flatMap((c) =>
      c.kind === 'retrying'
        ? [{ id: c.job.delivery.delivery_id, attempts: c.job.attempts + 1, dueAt: c.dueAt, error: c.attempt.error }]
        : c.kind === 'deferred'
          ? [{ id: c.job.delivery.delivery_id, attempts: c.job.attempts, dueAt: c.dueAt, error: 'endpoint not found yet' }]
          : [],
    );
    const dead = items.filter((c): c is Extract<Completion, { kind: 'dead' }> => c.kind === 'dead');
    const succeededEndpoints = [...new Set(items.filter((c) => c.kind === 'succeeded').map((c) => c.job.delivery.endpoint_id))];
    const failedEndpoints = [
      ...new Set(items.filter((c) => (c.kind === 'retrying' || (c.kind === 'dead' && !c.unsent)) && c.attempt).map((c) => c.job.delivery.endpoint_id)),
    ];
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (attempts.length > 0) {
        await client.query(
          `INSERT INTO webhook_attempts (attempt_id, delivery_id, endpoint_id, team_id, event_id, attempt, outcome, http_status, latency_ms, error, response_snippet, attempted_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::int[], $10::text[], $11::text[],
                                $12::timestamptz[])
           ON CONFLICT (attempt_id) DO NOTHING`,
          [
            attempts.map((a) => a.attempt_id),
            attempts.map((a) => a.delivery_id),
            attempts.map((a) => a.endpoint_id),
            attempts.map((a) => a.team_id),
            attempts.map((a) => a.event_id),
            attempts.map((a) => a.attempt),
            attempts.map((a) => a.outcome),
            attempts.map((a) => a.http_status),
            attempts.map((a) => a.latency_ms),
            attempts.map((a) => a.error),
            attempts.map((a) => a.response_snippet),
            attempts.map((a) => new Date(a.attempted_at)),
          ],
        );
      }
      const finished = items.flatMap((c) => (c.kind === 'succeeded' || c.kind === 'dead' ? [{ id: c.job.delivery.delivery_id, outcome: c.kind }] : []));
      if (finished.length > 0) {
        await client.query('DELETE FROM webhook_pending WHERE delivery_id = ANY($1::text[])', [finished.map((f) => f.id)]);
        // The tombstones that keep a late duplicate of these deliveries from being sent again.
        await client.query(
          `INSERT INTO webhook_finished (delivery_id, outcome)
           SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT (delivery_id) DO UPDATE SET outcome = EXCLUDED.outcome, finished_at = now()`,
          [finished.map((f) => f.id), finished.map((f) => f.outcome)],
        );
      }
      if (retrying.length > 0) {
        await client.query(
          `UPDATE webhook_pending p SET attempts = r.attempts, due_at = r.due_at, leased = false, last_error = r.last_error
           FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[]) AS r(delivery_id, attempts, due_at, last_error)
           WHERE p.delivery_id = r.delivery_id`,
          [retrying.map((r) => r.id), retrying.map((r) => r.attempts), retrying.map((r) => new Date(r.dueAt)), retrying.map((r) => r.error)],
        );
      }
      if (dead.length > 0) {
        await client.query(
          `INSERT INTO webhook_dead (delivery_id, endpoint_id, team_id, delivery, attempts, last_error)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::text[])
           ON CONFLICT (delivery_id) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, failed_at = now()`,
          [
            dead.map((c) => c.job.delivery.delivery_id),
            dead.map((c) => c.job.delivery.endpoint_id),
            dead.map((c) => c.job.delivery.team_id),
            dead.map((c) => JSON.stringify(c.job.delivery)),
            dead.map((c) => c.job.attempts + (c.attempt && !c.unsent ? 1 : 0)),
            dead.map((c) => c.reason),
          ],
        );
      }
      if (succeededEndpoints.length > 0) {
        await client.query('UPDATE webhook_endpoints SET last_success_at = now() WHERE id = ANY($1::text[])', [succeededEndpoints]);
      }
      let disabled: { id: string; team_id: string; environment: string; reason: string }[] = [];
      const goneEndpoints = [...new Set(dead.filter((c) => c.gone).map((c) => c.job.delivery.endpoint_id))];
      if (goneEndpoints.length > 0) {
        const res = await client.query<{ id: string; team_id: string; environment: string; reason: string }>(
          `UPDATE webhook_endpoints SET status = 'auto-disabled', updated_at = now(), disabled_reason = 'the receiver answered 410 Gone'
           WHERE id = ANY($1::text[]) AND status = 'enabled'
           RETURNING id, team_id, environment, disabled_reason AS reason`,
          [goneEndpoints],
        );
        disabled = res.rows;
        await client.query(`UPDATE webhook_pending SET due_at = now() WHERE endpoint_id = ANY($1::text[]) AND NOT leased`, [goneEndpoints]);
      }
      if (failedEndpoints.length > 0) {
        await client.query('UPDATE webhook_endpoints SET last_failure_at = now() WHERE id = ANY($1::text[])', [failedEndpoints]);
        // No success for autoDisableMs (counted from creation or re-enabling when there was
        // never one) while failing: the endpoint is switched off and its owner told.
        const res = await client.query<{ id: string; team_id: string; environment: string; reason: string }>(
          `UPDATE webhook_endpoints SET status = 'auto-disabled', updated_at = now(),
             disabled_reason = 'no successful delivery for ' || ($2::bigint / 1000) || ' s'
           WHERE id = ANY($1::text[]) AND status = 'enabled'
             AND COALESCE(last_success_at, created_at) < now() - ($2::bigint * interval '1 millisecond')
           RETURNING id, team_id, environment, disabled_reason AS reason`,
          [failedEndpoints, autoDisableMs],
        );
        disabled = disabled.concat(res.rows);
      }
      await client.query('COMMIT');
      return disabled;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes attempts and dead deliveries older than the retention, and tombstones older
   * than the dedupe window (run periodically by the dispatcher).
   */
  async prune(retentionMs: number): Promise<void> {
    await this.pool.query(`DELETE FROM webhook_finished WHERE finished_at < now() - ($1::bigint * interval '1 millisecond')`, [this.dedupeWindowMs]);
    await this.pool.query(`DELETE FROM webhook_attempts WHERE attempted_at < now() - ($1::bigint * interval '1 millisecond')`, [retentionMs]);
    await this.pool.query(`DELETE FROM webhook_dead WHERE failed_at < now() - ($1::bigint * interval '1 millisecond')`, [retentionMs]);
  }
}

export interface AttemptView {
  attempt_id: string;
  delivery_id: string;
  event_id: string | null;
  attempt: number;
  outcome: string;
  http_status: number | null;
  latency_ms: number;
  error: string | null;
  response_snippet: string | null;
  attempted_at: string;
}

/** The gateway's reads and replays (team-scoped through the endpoint). */
export class WebhookActivityRepository {
  constructor(private readonly pool: Pool) {}

  async attempts(endpointId: string, limit: number, before?: string, deliveryId?: string): Promise<AttemptView[]> {
    const { rows } = await this.pool.query<AttemptView & { attempted_at: Date }>(
      `SELECT attempt_id, delivery_id, event_id, attempt, outcome, http_status, latency_ms, error, response_snippet, attempted_at
       FROM webhook_attempts WHERE endpoint_id = $1 AND ($2::timestamptz IS NULL OR attempted_at < $2) AND ($4::text IS NULL OR delivery_id = $4)
       ORDER BY attempted_at DESC, attempt_id DESC LIMIT $3`,
      [endpointId, before ?? null, limit, deliveryId ?? null],
    );
    return rows.map((r) => ({ ...r, attempted_at: (r.attempted_at as unknown as Date).toISOString() }));
  }

  /**
   * Puts dead deliveries back in the pending queue, due now, attempts reset: one by id, or
   * every delivery of the endpoint that died in [from, to). Same delivery_id, so the
   * receiver sees the same webhook-id.
   */
  async replay(endpointId: string, selector: { deliveryId: string } | { from: Date; to: Date }): Promise<string[]> {
    const byId = 'deliveryId' in selector;
    const { rows } = await this.pool.query<{ delivery_id: string }>(
      `WITH moved AS (
         DELETE FROM webhook_dead WHERE delivery_id IN (
           SELECT delivery_id FROM webhook_dead WHERE endpoint_id = $1
             AND ${byId ? 'delivery_id = $2' : 'failed_at >= $2 AND failed_at < $3'}
           ORDER BY failed_at LIMIT 10000)
         RETURNING delivery_id, endpoint_id, team_id, delivery)
       INSERT INTO webhook_pending (delivery_id, endpoint_id, team_id, delivery, due_at)
       SELECT delivery_id, endpoint_id, team_id, delivery, now() FROM moved
       ON CONFLICT (delivery_id) DO NOTHING
       RETURNING delivery_id`,
      byId ? [endpointId, selector.deliveryId] : [endpointId, selector.from, selector.to],
    );
    return rows.map((r) => r.delivery_id);
  }
}
