import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { RateLimitView as RateLimit } from '@relay/control-plane';
import { type SecretBox, generateSigningSecret } from './secrets';
import type { SignatureScheme } from './signing';

/** Relay's own event kinds an endpoint can subscribe to, next to code_names. */
export const RELAY_KINDS = ['event.rejected', 'delivery.failed', 'endpoint.disabled'] as const;
export type RelayKind = (typeof RELAY_KINDS)[number];

export type EndpointStatus = 'enabled' | 'disabled' | 'auto-disabled';
export type Environment = 'production' | 'staging';

/** An endpoint as the API shows it (never with its secret). */
export interface WebhookEndpoint {
  id: string;
  team_id: string;
  url: string;
  description: string | null;
  events: string[];
  contact_fields: string[];
  batch: { max_events: number; max_wait_ms: number } | null;
  environment: Environment;
  signature: SignatureScheme;
  success_contract: '2xx' | 'strict';
  status: EndpointStatus;
  timeout_ms: number;
  max_concurrency: number;
  rate_limit: RateLimit | null;
  disabled_reason: string | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  secret_rotation_ends_at: string | null;
  created_at: string;
  updated_at: string;
}

/** What the dispatcher needs: the endpoint plus its signing secrets, decrypted. */
export interface DispatchEndpoint extends WebhookEndpoint {
  secret: string;
  /** The secret replaced by the last rotation, signing too until `expiresAt` (epoch ms). */
  previousSecret: { secret: string; expiresAt: number } | null;
}

/**
 * The secrets that sign a request sent at `now`: the current one, plus the previous one
 * while the rotation's overlap lasts. Decided at signing time, not when the endpoint was
 * loaded, so the overlap ends on time to the millisecond.
 */
export function signingSecrets(endpoint: Pick<DispatchEndpoint, 'secret' | 'previousSecret'>, now: number): string[] {
  const previous = endpoint.previousSecret;
  return previous && previous.expiresAt > now ? [endpoint.secret, previous.secret] : [endpoint.secret];
}

/** What a client sets on an endpoint: the API shape minus what Relay derives or tracks. */
/** A PATCH: only the fields present change (a field parsed as absent may be `undefined`). */
export type EndpointPatch = { [K in keyof EndpointInput]?: EndpointInput[K] | undefined };

export type EndpointInput = Pick<
  WebhookEndpoint,
  | 'url'
  | 'description'
  | 'events'
  | 'contact_fields'
  | 'batch'
  | 'environment'
  | 'signature'
  | 'success_contract'
  | 'timeout_ms'
  | 'max_concurrency'
  | 'rate_limit'
> & { status: 'enabled' | 'disabled' };

/**
 * What `contact_fields` may name (seed 004's "contact fields supplied in createWebhook"):
 * a profile field of the contact, or one key of its custom data as `custom_data.<key>`.
 */
export const CONTACT_PROFILE_FIELDS = ['id', 'external_id', 'email', 'phone', 'name', 'tags'] as const;
const CUSTOM_DATA_FIELD = /^custom_data\.[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** Every reason a contact_fields list is refused (empty: valid). */
export function contactFieldErrors(fields: unknown): string[] {
  if (!Array.isArray(fields) || fields.length > 50) return ['contact_fields must be an array of at most 50 field names'];
  const errors: string[] = [];
  for (const f of fields) {
    if (typeof f !== 'string') errors.push(`contact_fields: ${JSON.stringify(f)} is not a string`);
    else if (!(CONTACT_PROFILE_FIELDS as readonly string[]).includes(f) && !CUSTOM_DATA_FIELD.test(f)) {
      errors.push(
        `contact_fields: "${f}" is neither a contact profile field (${CONTACT_PROFILE_FIELDS.join(', ')}) nor a custom data key written custom_data.<key>`,
      );
    }
  }
  return errors;
}

/** A row as pg returns it: timestamps as Dates, batch and rate limit in columns, the secrets encrypted. */
type Row = Omit<WebhookEndpoint, 'batch' | 'rate_limit' | 'last_success_at' | 'last_failure_at' | 'secret_rotation_ends_at' | 'created_at' | 'updated_at'> & {
  batch_max_events: number | null;
  batch_max_wait_ms: number | null;
  rate_limit_requests: number | null;
  rate_limit_per: string | null;
  secret_enc: Buffer;
  previous_secret_enc: Buffer | null;
  previous_secret_expires_at: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toEndpoint(r: Row, now = Date.now()): WebhookEndpoint {
  const rotating = r.previous_secret_expires_at && r.previous_secret_expires_at.getTime() > now;
  return {
    id: r.id,
    team_id: r.team_id,
    url: r.url,
    description: r.description,
    events: r.events,
    contact_fields: r.contact_fields,
    batch: r.batch_max_events ? { max_events: r.batch_max_events, max_wait_ms: r.batch_max_wait_ms ?? 0 } : null,
    environment: r.environment,
    signature: r.signature,
    success_contract: r.success_contract,
    status: r.status,
    timeout_ms: r.timeout_ms,
    max_concurrency: r.max_concurrency,
    rate_limit: r.rate_limit_requests && r.rate_limit_per ? { requests: r.rate_limit_requests, per: r.rate_limit_per } : null,
    disabled_reason: r.disabled_reason,
    last_success_at: iso(r.last_success_at),
    last_failure_at: iso(r.last_failure_at),
    secret_rotation_ends_at: rotating ? iso(r.previous_secret_expires_at) : null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

/** Endpoints in PostgreSQL, always scoped by team; secrets sealed with `SecretBox`. */
export class WebhookEndpointsRepository {
  constructor(
    private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  async create(teamId: string, input: EndpointInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const id = uuidv7();
    const secret = generateSigningSecret();
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO webhook_endpoints (id, team_id, url, description, events, contact_fields, batch_max_events, batch_max_wait_ms,
         environment, signature, success_contract, status, timeout_ms, max_concurrency, secret_enc, rate_limit_requests, rate_limit_per)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) RETURNING *`,
      [
        id,
        teamId,
        input.url,
        input.description,
        input.events,
        input.contact_fields,
        input.batch?.max_events ?? null,
        input.batch?.max_wait_ms ?? null,
        input.environment,
        input.signature,
        input.success_contract,
        input.status,
        input.timeout_ms,
        input.max_concurrency,
        this.box.seal(secret, id),
        input.rate_limit?.requests ?? null,
        input.rate_limit?.per ?? null,
      ],
    );
    return { endpoint: toEndpoint(rows[0] as Row), secret };
  }

  async get(teamId: string, id: string): Promise<WebhookEndpoint | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM webhook_endpoints WHERE team_id = $1 AND id = $2', [teamId, id]);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async list(teamId: string, limit: number, cursor?: string): Promise<{ data: WebhookEndpoint[]; next_cursor: string | null }> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM webhook_endpoints WHERE team_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [teamId, cursor ?? null, limit + 1],
    );
    const page = rows.slice(0, limit).map((r) => toEndpoint(r));
    return { data: page, next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null };
  }

  async update(teamId: string, id: string, patch: EndpointPatch): Promise<WebhookEndpoint | null> {
    const sets: string[] = [];
    const values: unknown[] = [teamId, id];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (patch.url !== undefined) set('url', patch.url);
    if (patch.description !== undefined) set('description', patch.description);
    if (patch.events !== undefined) set('events', patch.events);
    if (patch.contact_fields !== undefined) set('contact_fields', patch.contact_fields);
    if (patch.batch !== undefined) {
      set('batch_max_events', patch.batch?.max_events ?? null);
      set('batch_max_wait_ms', patch.batch?.max_wait_ms ?? null);
    }
    if (patch.rate_limit !== undefined) {
      set('rate_limit_requests', patch.rate_limit?.requests ?? null);
      set('rate_limit_per', patch.rate_limit?.per ?? null);
    }
    for (const k of ['environment', 'signature', 'success_contract', 'timeout_ms', 'max_concurrency'] as const) {
      if (patch[k] !== undefined) set(k, patch[k]);
    }
    if (patch.status !== undefined) {
      set('status', patch.status);
      // Re-enabling starts a fresh health window: the auto-disable clock counts from now.
      if (patch.status === 'enabled') sets.push('disabled_reason = NULL', 'last_failure_at = NULL', 'last_success_at = now()');
      else sets.push(`disabled_reason = 'disabled by the API'`);
    }
    sets.push('updated_at = now()');
    const { rows } = await this.pool.query<Row>(`UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE team_id = $1 AND id = $2 RETURNING *`, values);
    return rows[0] ? toEndpoint(rows[0]) : null;
  }

  async delete(teamId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM webhook_endpoints WHERE team_id = $1 AND id = $2', [teamId, id]);
    return (rowCount ?? 0) > 0;
  }

  /** New secret; the old one keeps signing (both signatures sent) for `overlapMs`. */
  async rotateSecret(teamId: string, id: string, overlapMs: number): Promise<{ endpoint: WebhookEndpoint; secret: string } | null> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<Row>('SELECT * FROM webhook_endpoints WHERE team_id = $1 AND id = $2 FOR UPDATE', [teamId, id]);
      const row = rows[0];
      if (!row) {
        await client.query('ROLLBACK');
        return null;
      }
      const secret = generateSigningSecret();
      const updated = await client.query<Row>(
        `UPDATE webhook_endpoints SET secret_enc = $3, previous_secret_enc = secret_enc,
           previous_secret_expires_at = now() + ($4::bigint * interval '1 millisecond'), updated_at = now()
         WHERE team_id = $1 AND id = $2 RETURNING *`,
        [teamId, id, this.box.seal(secret, id), overlapMs],
      );
      await client.query('COMMIT');
      return { endpoint: toEndpoint(updated.rows[0] as Row), secret };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The dispatcher's source: endpoints with their signing secrets decrypted. */
  forDispatch(): EndpointSource<DispatchEndpoint> {
    return endpointSource(this.pool, (r) => this.withSecrets(r));
  }

  private withSecrets(r: Row): DispatchEndpoint {
    const previousSecret =
      r.previous_secret_enc && r.previous_secret_expires_at
        ? { secret: this.box.open(r.previous_secret_enc, r.id), expiresAt: r.previous_secret_expires_at.getTime() }
        : null;
    return { ...toEndpoint(r), secret: this.box.open(r.secret_enc, r.id), previousSecret };
  }
}

/** Where a directory loads endpoints from (see endpointSource). */
export interface EndpointSource<E extends WebhookEndpoint> {
  /**
   * Every endpoint, and the change sequence of every team, read first: the endpoints then
   * reflect at least those sequences.
   */
  loadAll(): Promise<{ seqs: Map<string, number>; endpoints: E[] }>;
  /** One team's endpoints (the caller read the team's sequence before calling). */
  loadTeam(teamId: string): Promise<E[]>;
}

function endpointSource<E extends WebhookEndpoint>(pool: Pool, map: (r: Row) => E): EndpointSource<E> {
  return {
    async loadAll() {
      const seqRows = await pool.query<{ team_id: string; seq: string }>('SELECT team_id, seq FROM team_changes');
      const { rows } = await pool.query<Row>('SELECT * FROM webhook_endpoints');
      return { seqs: new Map(seqRows.rows.map((r) => [r.team_id, Number(r.seq)])), endpoints: rows.map(map) };
    },
    async loadTeam(teamId) {
      const { rows } = await pool.query<Row>('SELECT * FROM webhook_endpoints WHERE team_id = $1', [teamId]);
      return rows.map(map);
    },
  };
}

/** Endpoints without their secrets: what subscription fan-out needs (the matcher). */
export function subscriptionSource(pool: Pool): EndpointSource<WebhookEndpoint> {
  return endpointSource(pool, (r) => toEndpoint(r));
}

interface TeamEndpoints<E> {
  /** The team's change sequence this copy reflects. */
  seq: number;
  endpoints: E[];
}

/**
 * The dispatcher's in-memory view of endpoints, per team, consistent with each team's
 * change sequence (migration `team_changes`). Handlers call `ensure(teamIds)` with the teams
 * of the records they are about to fan out or send — after fetching them — which reads
 * the teams' current sequences (one query) and reloads every team whose copy is older
 * (one query per stale team, single flight). So an endpoint created, re-subscribed,
 * disabled, deleted or rotated before an event was accepted is seen by that event on every
 * dispatcher. `get` and `subscribers` stay synchronous for the engine's hot loop.
 * A full reload every `refreshMs` keeps endpoints of quiet teams (retries, scheduled
 * actions) current too; it never replaces a newer team copy with an older one.
 */
export class EndpointDirectory<E extends WebhookEndpoint = DispatchEndpoint> {
  private readonly teams = new Map<string, TeamEndpoints<E>>();
  private byId = new Map<string, E>();
  private bySubscription = new Map<string, E[]>();
  private readonly loading = new Map<string, { seq: number; promise: Promise<void> }>();
  private timer: NodeJS.Timeout | null = null;
  /** Team reloads caused by a newer sequence (observable by tests and metrics). */
  teamLoads = 0;

  constructor(
    private readonly source: EndpointSource<E>,
    private readonly changes: { currentMany(teamIds: Iterable<string>): Promise<Map<string, { seq: number }>> },
    private readonly refreshMs: number,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(this.onError), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reloads everything (at start and every refreshMs). */
  async refresh(): Promise<void> {
    const { seqs, endpoints } = await this.source.loadAll();
    const byTeam = new Map<string, E[]>();
    for (const e of endpoints) byTeam.set(e.team_id, [...(byTeam.get(e.team_id) ?? []), e]);
    for (const team of new Set([...seqs.keys(), ...byTeam.keys(), ...this.teams.keys()])) {
      this.install(team, seqs.get(team) ?? 0, byTeam.get(team) ?? []);
    }
    this.reindex();
  }

  /**
   * Makes the copies of these teams at least as recent as their current sequences, read
   * now — or given in `known` by a caller that read them after its events arrived.
   */
  async ensure(teamIds: Iterable<string>, known?: ReadonlyMap<string, { seq: number }>): Promise<void> {
    const ids = [...new Set(teamIds)];
    if (ids.length === 0) return;
    const current = known ?? (await this.changes.currentMany(ids));
    const waits: Promise<void>[] = [];
    for (const team of ids) {
      const seq = current.get(team)?.seq ?? 0;
      if ((this.teams.get(team)?.seq ?? -1) >= seq) continue;
      const pending = this.loading.get(team);
      if (pending && pending.seq >= seq) {
        waits.push(pending.promise);
        continue;
      }
      this.teamLoads++;
      const promise = this.source.loadTeam(team).then((endpoints) => {
        if (this.install(team, seq, endpoints)) this.reindex();
      });
      const flight = { seq, promise };
      this.loading.set(team, flight);
      void promise.finally(() => this.loading.get(team) === flight && this.loading.delete(team)).catch(() => undefined);
      waits.push(promise);
    }
    await Promise.all(waits);
  }

  /** Installs a team's copy unless a newer one is there already; true if installed. */
  private install(team: string, seq: number, endpoints: E[]): boolean {
    const existing = this.teams.get(team);
    if (existing && existing.seq > seq) return false;
    this.teams.set(team, { seq, endpoints });
    return true;
  }

  /**
   * Rebuilds the two lookup maps from the team copies. Whole-map rebuilds keep `get` and
   * `subscribers` free of per-team bookkeeping; a team change is rare next to events, and
   * the cost is linear in endpoints (fine into the tens of thousands).
   */
  private reindex(): void {
    const byId = new Map<string, E>();
    const bySubscription = new Map<string, E[]>();
    for (const { endpoints } of this.teams.values()) {
      for (const e of endpoints) {
        byId.set(e.id, e);
        if (e.status !== 'enabled') continue;
        for (const event of e.events) {
          const key = `${e.team_id}\u0000${e.environment}\u0000${event}`;
          const list = bySubscription.get(key) ?? [];
          list.push(e);
          bySubscription.set(key, list);
        }
      }
    }
    this.byId = byId;
    this.bySubscription = bySubscription;
  }

  get(id: string): E | undefined {
    return this.byId.get(id);
  }

  /** Enabled endpoints of that team AND environment subscribed to `event`. */
  subscribers(teamId: string, environment: string, event: string): readonly E[] {
    return this.bySubscription.get(`${teamId}\u0000${environment}\u0000${event}`) ?? [];
  }
}
