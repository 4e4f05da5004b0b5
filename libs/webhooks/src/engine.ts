import { v7 as uuidv7 } from 'uuid';
import type { WebhookAttempt, WebhookDeadLetter, WebhookDelivery } from '@relay/contracts';
import type { OutputRecord } from '@relay/kafka';
import type { Logger, RelayMetrics } from '@relay/observability';
import { type DispatchEndpoint, type EndpointDirectory, type WebhookEndpointsRepository, signingSecrets } from './endpoints';
import { relayDelivery, requestBody } from './payload';
import type { Completion, PendingJob, PendingStore } from './pending';
import { EndpointRateLimiters } from './rate-limit';
import { nextRetryDelay } from './schedule';
import type { SendResult, WebhookSender } from './sender';
import { signatureHeaders } from './signing';

export interface DeliveryEngineOptions {
  store: PendingStore;
  directory: EndpointDirectory;
  /**
   * The database's answer to "does this endpoint exist?" for a delivery whose endpoint the
   * directory does not know: the directory is a cache and may be behind, the table is not.
   */
  endpoints: Pick<WebhookEndpointsRepository, 'get'>;
  sender: Pick<WebhookSender, 'post'>;
  /** Produces records durably (acks=all); rejects on failure. */
  produce: (records: OutputRecord[]) => Promise<void>;
  /** Delays before retries 1..n (length + 1 attempts in all). */
  schedule: readonly number[];
  /** Max deliveries held in memory per endpoint; more wait in PostgreSQL. */
  queueMax: number;
  /** Max deliveries held in memory by this instance. */
  heldMax?: number;
  pollMs: number;
  leaseMs: number;
  autoDisableMs: number;
  logger: Logger;
  metrics?: RelayMetrics;
}

interface Job extends PendingJob {
  enqueuedAt: number;
}

interface Lane {
  id: string;
  jobs: Job[];
  inFlight: number;
  timer: NodeJS.Timeout | null;
  /** Rate-limit permits taken and not used yet (see acquirePermit). */
  permits: number;
  /** A permit request is pending: the lane must not be dropped meanwhile. */
  acquiring: boolean;
}

const statusClass = (status: number | null) => (status === null ? 'none' : `${Math.floor(status / 100)}xx`);

/**
 * Sends deliveries with per-endpoint isolation, durable retries and bounded memory.
 *
 * - `accept` (called by the Kafka handler) writes the chunk to `webhook_pending` in one
 *   INSERT and returns: that row is the durable acceptance, so the offset can be
 *   committed without waiting for any HTTP. Rows the instance can hold are leased to it
 *   and pushed straight into memory (no poll latency); the rest are due now for pollers.
 * - Each endpoint has a lane (queue + in-flight count capped by its max_concurrency);
 *   lanes never wait on each other, so a hanging endpoint only ever occupies its own
 *   slots.
 * - Results are written in groups (`flush`): Kafka first (attempts, dead letters,
 *   delivery.failed), then one PostgreSQL transaction; a crash in between re-sends after
 *   the lease expires (at-least-once, same webhook-id).
 * - A poller claims due rows (retries, spills, leases of dead instances) with SKIP
 *   LOCKED, skipping endpoints whose lane is full; held rows have their lease renewed.
 */
export class DeliveryEngine {
  private readonly lanes = new Map<string, Lane>();
  private readonly held = new Set<string>();
  private completions: Completion[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private readonly log: Logger;
  private readonly heldMax: number;
  private readonly limiters = new EndpointRateLimiters();

  constructor(private readonly o: DeliveryEngineOptions) {
    this.log = o.logger.child({ component: 'delivery-engine' });
    this.heldMax = o.heldMax ?? 50000;
  }

  start(): void {
    const poll = async () => {
      if (this.stopping) return;
      try {
        await this.poll();
      } catch (error) {
        this.log.warn({ err: error }, 'claiming due deliveries failed; will retry');
      }
      if (!this.stopping) this.pollTimer = setTimeout(() => void poll(), this.o.pollMs);
    };
    this.pollTimer = setTimeout(() => void poll(), this.o.pollMs);
    this.renewTimer = setInterval(
      () => {
        this.o.store.renew([...this.held]).catch((error: unknown) => this.log.warn({ err: error }, 'lease renewal failed'));
      },
      Math.max(1000, Math.floor(this.o.leaseMs / 3)),
    );
  }

  /** Stops claiming, lets attempts in flight finish (bounded by their timeouts), flushes. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const lane of this.lanes.values()) if (lane.timer) clearTimeout(lane.timer);
    await Promise.allSettled([...this.inFlight]);
    await this.flush();
    // Jobs still queued keep their lease in PostgreSQL; they are due again once it ends.
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Durably accepts a chunk of deliveries from Kafka (see class doc). */
  async accept(deliveries: readonly WebhookDelivery[]): Promise<void> {
    const take = new Set<string>();
    const planned = new Map<string, number>();
    for (const d of deliveries) {
      const queued = (this.lanes.get(d.endpoint_id)?.jobs.length ?? 0) + (planned.get(d.endpoint_id) ?? 0);
      if (!this.stopping && queued < this.o.queueMax && this.held.size + take.size < this.heldMax && !this.held.has(d.delivery_id)) {
        take.add(d.delivery_id);
        planned.set(d.endpoint_id, (planned.get(d.endpoint_id) ?? 0) + 1);
      }
    }
    // The endpoints these deliveries name, as of every change answered before their events
    // were accepted (a secret rotated just before signs them; see EndpointDirectory).
    await this.o.directory.ensure(deliveries.map((d) => d.team_id));
    const inserted = await this.o.store.accept(deliveries, take);
    for (const d of deliveries) {
      if (inserted.has(d.delivery_id) && take.has(d.delivery_id)) this.enqueue({ delivery: d, attempts: 0 });
    }
  }

  private async poll(): Promise<void> {
    const room = this.heldMax - this.held.size;
    if (room <= 0) return;
    const full = [...this.lanes.values()].filter((l) => l.jobs.length >= this.o.queueMax).map((l) => l.id);
    const jobs = await this.o.store.claim(Math.min(room, 500), full);
    if (jobs.length > 0) {
      try {
        await this.o.directory.ensure(jobs.map((j) => j.delivery.team_id));
      } catch (error) {
        // Claimed rows are leased to this instance: sending them with the periodically
        // refreshed copy beats leaving them until the lease ends.
        this.log.warn({ err: error }, 'endpoint directory check failed; sending claimed deliveries with the last copy');
      }
    }
    for (const job of jobs) this.enqueue(job);
  }

  private enqueue(job: PendingJob): void {
    const id = job.delivery.delivery_id;
    if (this.held.has(id)) return;
    this.held.add(id);
    this.o.metrics?.webhookHeld.set(this.held.size);
    let lane = this.lanes.get(job.delivery.endpoint_id);
    if (!lane) {
      lane = { id: job.delivery.endpoint_id, jobs: [], inFlight: 0, timer: null, permits: 0, acquiring: false };
      this.lanes.set(lane.id, lane);
    }
    lane.jobs.push({ ...job, enqueuedAt: Date.now() });
    this.pump(lane);
  }

  private pump(lane: Lane): void {
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = null;
    }
    const endpoint = this.o.directory.get(lane.id);
    if (!endpoint) {
      // Unknown to the directory: ask the database (see settleMissing).
      this.settleMissing(lane.id, lane.jobs.splice(0));
      this.limiters.forget(lane.id);
      this.dropLaneIfIdle(lane);
      return;
    }
    if (endpoint.status !== 'enabled') {
      // Dead-lettered the same way as a last failed attempt, so re-enabling and replaying brings them back.
      const why = endpoint.disabled_reason ? ` (${endpoint.disabled_reason})` : '';
      for (const job of lane.jobs.splice(0)) this.failUnsent(job, 'ENDPOINT_DISABLED', `endpoint is ${endpoint.status}${why}`);
      this.limiters.forget(lane.id);
      this.dropLaneIfIdle(lane);
      return;
    }
    while (lane.inFlight < endpoint.max_concurrency && lane.jobs.length > 0) {
      let count = 1;
      if (endpoint.batch) {
        const oldest = (lane.jobs[0] as Job).enqueuedAt;
        const waitLeft = oldest + endpoint.batch.max_wait_ms - Date.now();
        if (lane.jobs.length < endpoint.batch.max_events && waitLeft > 0 && !this.stopping) {
          lane.timer = setTimeout(() => this.pump(lane), waitLeft);
          break;
        }
        count = Math.min(endpoint.batch.max_events, lane.jobs.length);
      }
      if (endpoint.rate_limit) {
        // One permit per POST (a batch is one POST). Without one, only this lane waits.
        if (lane.permits === 0) {
          this.acquirePermit(lane, endpoint);
          break;
        }
        lane.permits--;
      }
      const jobs = lane.jobs.splice(0, count);
      const sendable: Job[] = [];
      for (const job of jobs) {
        const d = job.delivery;
        if (d.team_id !== endpoint.team_id) this.failUnsent(job, 'TEAM_MISMATCH', 'delivery and endpoint belong to different teams');
        else if (d.environment !== endpoint.environment) {
          // Staging deliveries never reach production endpoints (and the other way round).
          this.failUnsent(job, 'ENVIRONMENT_MISMATCH', `${d.environment} delivery for a ${endpoint.environment} endpoint`);
        } else sendable.push(job);
      }
      if (sendable.length === 0) continue;
      lane.inFlight++;
      const running = this.attempt(endpoint, sendable)
        .catch((error: unknown) => this.log.error({ err: error, endpoint_id: endpoint.id }, 'attempt failed unexpectedly'))
        .finally(() => {
          lane.inFlight--;
          this.inFlight.delete(running);
          this.pump(lane);
        });
      this.inFlight.add(running);
    }
    this.dropLaneIfIdle(lane);
  }

  private dropLaneIfIdle(lane: Lane): void {
    if (lane.jobs.length === 0 && lane.inFlight === 0 && !lane.timer && !lane.acquiring) this.lanes.delete(lane.id);
  }

  /**
   * Asks the endpoint's limiter for one request (asynchronous: rate-limiter-flexible's
   * API); granted → the lane is pumped again with a permit, refused → it is pumped again
   * when the window resets. The lane's own timer is the only thing that waits.
   */
  private acquirePermit(lane: Lane, endpoint: DispatchEndpoint): void {
    if (lane.acquiring) return;
    lane.acquiring = true;
    this.limiters
      .take(endpoint.id, endpoint.rate_limit)
      .then((waitMs) => {
        lane.acquiring = false;
        if (this.lanes.get(lane.id) !== lane || this.stopping) return;
        if (waitMs === 0) {
          lane.permits++;
          this.pump(lane);
        } else if (!lane.timer) {
          lane.timer = setTimeout(() => this.pump(lane), waitMs);
        }
      })
      .catch((error: unknown) => {
        lane.acquiring = false;
        this.log.warn({ err: error, endpoint_id: lane.id }, 'rate limiter failed; retrying shortly');
        if (!lane.timer) lane.timer = setTimeout(() => this.pump(lane), 100);
      });
  }

  /**
   * Deliveries whose endpoint the directory does not know. The directory is a cache: the
   * endpoint may have been created a moment ago. The database decides — present: the
   * deliveries wait a second for the directory (no attempt counted); absent (deleted):
   * they fail with ENDPOINT_NOT_FOUND. If the database cannot be asked, they wait too.
   */
  private settleMissing(endpointId: string, jobs: Job[]): void {
    if (jobs.length === 0) return;
    const byTeam = new Map<string, Job[]>();
    for (const job of jobs) byTeam.set(job.delivery.team_id, [...(byTeam.get(job.delivery.team_id) ?? []), job]);
    const running = (async () => {
      for (const [teamId, group] of byTeam) {
        let exists = true;
        try {
          exists = (await this.o.endpoints.get(teamId, endpointId)) !== null;
        } catch (error) {
          this.log.warn({ err: error, endpoint_id: endpointId }, 'could not look the endpoint up; deliveries wait');
        }
        for (const job of group) {
          if (exists) this.complete({ kind: 'deferred', job, dueAt: Date.now() + 1000 });
          else this.failUnsent(job, 'ENDPOINT_NOT_FOUND', `endpoint ${endpointId} does not exist (deleted)`);
        }
      }
    })()
      .catch((error: unknown) => this.log.error({ err: error, endpoint_id: endpointId }, 'settling deliveries of a missing endpoint failed'))
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /**
   * Fails a delivery without an HTTP request, never silently: a `dead` attempt (attempt =
   * attempts made so far, no status, latency 0, error = the code and reason) goes to the
   * attempts topic and so to history, the delivery is dead-lettered (replayable), and it is
   * counted in relay_webhook_unsent_total{reason}. The endpoint's health is not touched.
   */
  private failUnsent(job: Job, code: string, message: string): void {
    const d = job.delivery;
    const error = `${code}: ${message}`;
    const attempt: WebhookAttempt = {
      ...this.attemptRecord(job, d.endpoint_id, Date.now()),
      attempt: job.attempts,
      outcome: 'dead',
      http_status: null,
      latency_ms: 0,
      error,
      response_snippet: null,
    };
    this.o.metrics?.webhookUnsent.inc({ reason: code });
    this.o.metrics?.deliveries.inc({ kind: d.kind, result: 'dead' });
    this.log.warn({ delivery_id: d.delivery_id, endpoint_id: d.endpoint_id, reason: error }, 'delivery failed without an attempt');
    this.complete({ kind: 'dead', job, attempt, reason: error, unsent: true });
  }

  /** The fields of an attempt record every outcome shares. */
  private attemptRecord(
    job: Job,
    endpointId: string,
    attemptedAt: number,
  ): Omit<WebhookAttempt, 'attempt' | 'outcome' | 'http_status' | 'latency_ms' | 'error' | 'response_snippet'> {
    return {
      attempt_id: uuidv7(),
      delivery_id: job.delivery.delivery_id,
      team_id: job.delivery.team_id,
      endpoint_id: endpointId,
      event_id: job.delivery.event_id,
      attempted_at: attemptedAt,
      // Carried so history can answer "time from event to delivery" per kind/scenario
      // without joining PostgreSQL.
      kind: job.delivery.kind,
      environment: job.delivery.environment,
      code_name: job.delivery.code_name,
      scenario_id: job.delivery.scenario_id,
      occurred_at: job.delivery.occurred_at,
      delivery_created_at: job.delivery.created_at,
    };
  }

  private async attempt(endpoint: DispatchEndpoint, jobs: Job[]): Promise<void> {
    const deliveries = jobs.map((j) => j.delivery);
    const { id, body } = requestBody(deliveries, endpoint.contact_fields, endpoint.batch !== null);
    const headers = signatureHeaders(endpoint.signature, {
      id,
      timestampSeconds: Math.floor(Date.now() / 1000),
      body,
      secrets: signingSecrets(endpoint, Date.now()),
    });
    const attemptedAt = Date.now();
    const result: SendResult = await this.o.sender.post(endpoint.url, body, headers, endpoint.timeout_ms, endpoint.success_contract);
    const now = Date.now();
    for (const job of jobs) {
      const number = job.attempts + 1;
      // 410 Gone: the receiver says this endpoint is gone for good (Standard Webhooks):
      // no retry, and the endpoint is disabled with the reason (see PendingStore.complete).
      const gone = result.status === 410;
      const delay = result.ok || gone ? null : nextRetryDelay(this.o.schedule, number, result.retryAfterMs);
      const outcome = result.ok ? 'succeeded' : delay === null ? 'dead' : 'retrying';
      const attempt: WebhookAttempt = {
        ...this.attemptRecord(job, endpoint.id, attemptedAt),
        attempt: number,
        outcome,
        http_status: result.status,
        latency_ms: result.latencyMs,
        error: gone ? `ENDPOINT_GONE: the receiver answered 410 Gone; endpoint disabled` : result.error,
        response_snippet: result.snippet,
      };
      this.o.metrics?.webhookAttempts.inc({ outcome, status_class: statusClass(result.status) });
      this.o.metrics?.webhookAttemptSeconds.observe({ outcome }, result.latencyMs / 1000);
      if (outcome === 'succeeded') {
        this.o.metrics?.webhookDispatchSeconds.observe({ kind: job.delivery.kind }, (now - job.delivery.created_at) / 1000);
        this.o.metrics?.endToEndSeconds.observe({ kind: job.delivery.kind }, Math.max(0, now - job.delivery.occurred_at) / 1000);
        this.o.metrics?.deliveries.inc({ kind: job.delivery.kind, result: 'succeeded' });
        this.complete({ kind: 'succeeded', job, attempt });
      } else if (outcome === 'retrying') this.complete({ kind: 'retrying', job, attempt, dueAt: now + (delay as number) });
      else {
        this.o.metrics?.deliveries.inc({ kind: job.delivery.kind, result: 'dead' });
        this.complete({ kind: 'dead', job, attempt, reason: attempt.error ?? 'failed', ...(gone ? { gone: true } : {}) });
      }
    }
  }

  private complete(c: Completion): void {
    this.completions.push(c);
    if (this.completions.length >= 500) void this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), 10);
  }

  /**
   * Writes finished attempts: Kafka (attempt records, dead letters, delivery.failed
   * notifications) then PostgreSQL. Failures keep the group for the next flush; the rows
   * stay leased meanwhile, so nothing is lost or sent twice by another instance.
   */
  async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    while (this.flushing) await this.flushing;
    if (this.completions.length === 0) return;
    const group = this.completions;
    this.completions = [];
    const run = async () => {
      try {
        await this.o.produce(this.outputsFor(group));
        const disabled = await this.o.store.complete(group, this.o.autoDisableMs);
        for (const c of group) this.held.delete(c.job.delivery.delivery_id);
        this.o.metrics?.webhookHeld.set(this.held.size);
        if (disabled.length > 0) await this.announceDisabled(disabled);
      } catch (error) {
        this.log.warn({ err: error, count: group.length }, 'writing attempt results failed; retrying');
        this.completions = group.concat(this.completions);
        if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(), 1000);
      }
    };
    this.flushing = run().finally(() => (this.flushing = null));
    await this.flushing;
  }

  private outputsFor(group: readonly Completion[]): OutputRecord[] {
    const out: OutputRecord[] = [];
    for (const c of group) {
      if (c.kind === 'succeeded' || c.kind === 'retrying' || (c.kind === 'dead' && c.attempt)) {
        out.push({ topic: 'attempts', key: c.job.delivery.endpoint_id, value: c.attempt as WebhookAttempt });
      }
      if (c.kind !== 'dead') continue;
      const d = c.job.delivery;
      const dead: WebhookDeadLetter = {
        delivery_id: d.delivery_id,
        team_id: d.team_id,
        endpoint_id: d.endpoint_id,
        environment: d.environment,
        kind: d.kind,
        action: d.action,
        event_id: d.event_id,
        attempts: c.job.attempts + (c.attempt && !c.unsent ? 1 : 0),
        last_http_status: c.attempt?.http_status ?? null,
        last_error: c.reason,
        delivery_json: JSON.stringify(d),
        failed_at: Date.now(),
      };
      out.push({ topic: 'deliveries_dead', key: d.endpoint_id, value: dead });
      // A failed delivery.failed notification is not notified again: no loops.
      if (d.action === 'delivery.failed') continue;
      for (const s of this.o.directory.subscribers(d.team_id, d.environment, 'delivery.failed')) {
        const payload = {
          delivery_id: d.delivery_id,
          endpoint_id: d.endpoint_id,
          action: d.action,
          kind: d.kind,
          event_id: d.event_id,
          attempts: dead.attempts,
          last_http_status: dead.last_http_status,
          last_error: dead.last_error,
        };
        out.push({
          topic: 'deliveries',
          key: s.id,
          value: relayDelivery(
            'delivery.failed',
            { id: d.delivery_id, team_id: d.team_id, environment: d.environment, event_id: d.event_id, code_name: d.code_name },
            s.id,
            payload,
          ),
        });
      }
    }
    return out;
  }

  private async announceDisabled(disabled: readonly { id: string; team_id: string; environment: string; reason: string }[]): Promise<void> {
    const out: OutputRecord[] = [];
    for (const e of disabled) {
      this.log.warn({ endpoint_id: e.id, reason: e.reason }, 'endpoint auto-disabled');
      for (const s of this.o.directory.subscribers(e.team_id, e.environment, 'endpoint.disabled')) {
        if (s.id === e.id) continue;
        out.push({
          topic: 'deliveries',
          key: s.id,
          value: relayDelivery('endpoint.disabled', { id: `${e.id}:${Date.now()}`, team_id: e.team_id, environment: e.environment }, s.id, {
            endpoint_id: e.id,
            status: 'auto-disabled',
            reason: e.reason,
          }),
        });
      }
    }
    // Best effort: the endpoint is already disabled; losing this notice loses no delivery.
    await this.o.produce(out).catch((error: unknown) => this.log.warn({ err: error }, 'endpoint.disabled notice not produced'));
  }
}
