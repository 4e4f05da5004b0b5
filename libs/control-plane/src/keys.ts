import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ControlPlaneError } from './errors';
import { TeamChanges } from './team-changes';
import { PLAN_LIMITS, type Plan, type RateLimit } from './rate-limit-spec';

export type Environment = 'production' | 'staging';
export type KeyStatus = 'active' | 'deactivated' | 'revoked';

export interface ApiKeyPrincipal {
  keyId: string;
  teamId: string;
  environment: Environment;
  prefix: string;
  /** The key's own limit (null: none). Absent on principals built outside `verify`. */
  rateLimit?: RateLimit | null;
  /** The team's (plan) limit, shared by all of its keys (null: none). */
  teamRateLimit?: RateLimit | null;
  /**
   * The team's change sequence read while authenticating this request (after it arrived):
   * caches on the request path use it so every change answered before the request holds.
   */
  changeSeq?: number;
}

export interface Team {
  id: string;
  name: string;
  plan: Plan | null;
  rate_limit: RateLimit | null;
  created_at: string;
}

/** A key as the admin API shows it: never the key, never its digest. */
export interface ApiKeyRecord {
  id: string;
  team_id: string;
  name: string | null;
  prefix: string;
  environment: Environment;
  /** `expired` is derived: an active key whose expires_at has passed (401 like revoked). */
  status: KeyStatus | 'expired';
  rate_limit: RateLimit | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  status_changed_at: string | null;
  rotated_from: string | null;
}

export interface CreatedApiKey extends ApiKeyPrincipal {
  /** The plaintext key: shown once, never stored. */
  key: string;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** `rly_live_…` for production, `rly_test_…` for staging: people can tell keys apart. */
export function generateApiKey(environment: Environment): string {
  return `rly_${environment === 'production' ? 'live' : 'test'}_${randomBytes(24).toString('base64url')}`;
}

/** The visible part of a key, safe to log and display. */
export function keyPrefix(key: string): string {
  return key.slice(0, Math.min(key.length - 4, 16));
}

interface TeamRow {
  id: string;
  name: string;
  plan: Plan | null;
  rate_limit_requests: number | null;
  rate_limit_per_s: number | null;
  created_at: Date;
}

const limitOf = (requests: number | null, perSeconds: number | null): RateLimit | null =>
  requests !== null && perSeconds !== null ? { requests, perSeconds } : null;

const toTeam = (r: TeamRow): Team => ({
  id: r.id,
  name: r.name,
  plan: r.plan,
  rate_limit: limitOf(r.rate_limit_requests, r.rate_limit_per_s),
  created_at: r.created_at.toISOString(),
});

export class TeamsRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Idempotent on `id` (the fixed dev team). The team's limit is the explicit one, else
   * its plan's (seed 003: starter 1000/h, pro 10000/h), else none.
   */
  async create(name: string, id: string = uuidv7(), options: { plan?: Plan; rateLimit?: RateLimit | null } = {}): Promise<Team> {
    const limit = options.rateLimit ?? (options.plan ? PLAN_LIMITS[options.plan] : null);
    await this.pool.query(
      `INSERT INTO teams (id, name, plan, rate_limit_requests, rate_limit_per_s) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING`,
      [id, name, options.plan ?? null, limit?.requests ?? null, limit?.perSeconds ?? null],
    );
    const team = await this.get(id);
    if (!team) throw new ControlPlaneError('TEAM_NOT_FOUND', `Team not found: ${id}`);
    return team;
  }

  async get(id: string): Promise<Team | null> {
    const { rows } = await this.pool.query<TeamRow>('SELECT id, name, plan, rate_limit_requests, rate_limit_per_s, created_at FROM teams WHERE id = $1', [id]);
    return rows[0] ? toTeam(rows[0]) : null;
  }

  /** Newest first (ids are UUIDv7 except fixed ones like the dev team). */
  async list(limit = 200): Promise<Team[]> {
    const { rows } = await this.pool.query<TeamRow>(
      'SELECT id, name, plan, rate_limit_requests, rate_limit_per_s, created_at FROM teams ORDER BY created_at DESC, id DESC LIMIT $1',
      [limit],
    );
    return rows.map(toTeam);
  }

  async exists(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM teams WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }
}

interface KeyRow {
  id: string;
  team_id: string;
  name: string | null;
  prefix: string;
  environment: Environment;
  status: KeyStatus;
  rate_limit_requests: number | null;
  rate_limit_per_s: number | null;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  status_changed_at: Date | null;
  rotated_from: string | null;
}

const KEY_COLUMNS = `id, team_id, name, prefix, environment, status, rate_limit_requests, rate_limit_per_s,
  created_at, last_used_at, expires_at, status_changed_at, rotated_from`;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

const toRecord = (r: KeyRow, now = Date.now()): ApiKeyRecord => ({
  id: r.id,
  team_id: r.team_id,
  name: r.name,
  prefix: r.prefix,
  environment: r.environment,
  status: r.status === 'active' && r.expires_at && r.expires_at.getTime() <= now ? 'expired' : r.status,
  rate_limit: limitOf(r.rate_limit_requests, r.rate_limit_per_s),
  created_at: r.created_at.toISOString(),
  last_used_at: iso(r.last_used_at),
  expires_at: iso(r.expires_at),
  status_changed_at: iso(r.status_changed_at),
  rotated_from: r.rotated_from,
});

/**
 * Seed 001's lifecycle as key status. `deactivated` can come back; `revoked` is terminal.
 * Repeating the current state is a no-op (safe to retry); anything else is refused.
 */
const TRANSITIONS: Record<'deactivate' | 'activate' | 'revoke', { from: KeyStatus[]; to: KeyStatus }> = {
  deactivate: { from: ['active'], to: 'deactivated' },
  activate: { from: ['deactivated'], to: 'active' },
  revoke: { from: ['active', 'deactivated'], to: 'revoked' },
};
export type KeyTransition = keyof typeof TRANSITIONS;

interface CacheEntry {
  /** null: the key exists but is not usable (deactivated, revoked, expired). */
  principal: ApiKeyPrincipal | null;
  teamId: string;
  /** The team's change sequence the entry was read at (see TeamChanges). */
  seq: number;
}

/**
 * Unknown or unusable keys are remembered briefly so a client retrying a bad key (or a
 * flood of the same few) costs no PostgreSQL lookup per request. Short and bounded:
 * - no new key can be in it: a generated key was never presented before it existed;
 * - a key that becomes usable again (activate, expiry moved) is announced by the change
 *   feed, which clears the whole negative cache on every gateway (and `invalidate` does
 *   on this one); without the feed the bound is this TTL (capped at the positive TTL);
 * - least recently used evicted past NEGATIVE_CACHE_MAX digests (~1 MB), so distinct random
 *   keys cannot grow memory; they still pay one lookup each (nothing can know them in advance).
 */
export const NEGATIVE_CACHE_MS = 2000;
export const NEGATIVE_CACHE_MAX = 10_000;
/** Usable keys held in memory at most (least recently used go first). */
export const KEY_CACHE_MAX = 100_000;
/** last_used_at is written at most once per key in this window. */
const LAST_USED_WRITE_MS = 60_000;

/**
 * API keys: stored as SHA-256 digests, looked up by digest, and compared in constant time.
 * Lookups are cached for at most `cacheMs` (a memory bound), and every use of a cached
 * entry first reads the team's change sequence (`TeamChanges`, coalesced across concurrent
 * requests): a key revoked, deactivated, re-activated or re-limited on any gateway is
 * honoured by every request that arrives after that change was answered.
 */
export class ApiKeysRepository {
  /** Digest (base64) → what it was found to be; null when `cacheMs` is 0 (nothing cached). */
  private readonly cache: LRUCache<string, CacheEntry> | null;
  /** Digests of no key (base64); null when refusals are not remembered. */
  private readonly negative: LRUCache<string, true> | null;
  /** Key ids whose last_used_at was written within LAST_USED_WRITE_MS. */
  private readonly lastUsedWritten = new LRUCache<string, true>({ max: KEY_CACHE_MAX, ttl: LAST_USED_WRITE_MS });
  private readonly changes: TeamChanges;

  constructor(
    private readonly pool: Pool,
    private readonly cacheMs = 5000,
    options: { negativeMs?: number; negativeMax?: number; changes?: TeamChanges } = {},
  ) {
    this.changes = options.changes ?? new TeamChanges(pool);
    // lru-cache reads a ttl of 0 as "never expires": a window of 0 means no cache at all.
    this.cache = cacheMs > 0 ? new LRUCache({ max: KEY_CACHE_MAX, ttl: cacheMs }) : null;
    const negativeMs = Math.min(options.negativeMs ?? NEGATIVE_CACHE_MS, cacheMs);
    this.negative = negativeMs > 0 ? new LRUCache({ max: options.negativeMax ?? NEGATIVE_CACHE_MAX, ttl: negativeMs }) : null;
  }

  /** Lookups answered by PostgreSQL (not by a cache): observable by tests. */
  lookups = 0;

  async create(
    teamId: string,
    environment: Environment,
    options: { key?: string; name?: string | null; expiresAt?: Date | null; rateLimit?: RateLimit | null; rotatedFrom?: string } = {},
  ): Promise<CreatedApiKey> {
    const key = options.key ?? generateApiKey(environment);
    const id = uuidv7();
    const prefix = keyPrefix(key);
    // A chosen key (the dev key) may have been presented before it existed: usable at once here.
    this.negative?.delete(digest(key).toString('base64'));
    try {
      await this.pool.query(
        `INSERT INTO api_keys (id, team_id, prefix, key_hash, environment, name, expires_at, rate_limit_requests, rate_limit_per_s, rotated_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          id,
          teamId,
          prefix,
          digest(key),
          environment,
          options.name ?? null,
          options.expiresAt ?? null,
          options.rateLimit?.requests ?? null,
          options.rateLimit?.perSeconds ?? null,
          options.rotatedFrom ?? null,
        ],
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23503') throw new ControlPlaneError('TEAM_NOT_FOUND', `Team not found: ${teamId}`);
      throw error;
    }
    return { keyId: id, teamId, environment, prefix, key };
  }

  async get(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The team's keys, newest first; never the key or its digest. */
  async list(teamId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE team_id = $1 ORDER BY created_at DESC, id DESC`, [teamId]);
    const now = Date.now();
    return rows.map((r) => toRecord(r, now));
  }

  /**
   * Applies a lifecycle transition under a row lock. Returns the key and whether it
   * changed (false: it already was in the target state). The database trigger announces
   * the change to every gateway (LISTEN relay_api_keys); this instance drops its entry now.
   */
  async transition(id: string, action: KeyTransition): Promise<{ key: ApiKeyRecord; changed: boolean; from: KeyStatus }> {
    const rule = TRANSITIONS[action];
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1 FOR UPDATE`, [id]);
      const row = rows[0];
      if (!row) throw new ControlPlaneError('KEY_NOT_FOUND', `API key not found: ${id}`);
      const from = row.status;
      if (from === rule.to) {
        await client.query('COMMIT');
        return { key: toRecord(row), changed: false, from };
      }
      if (!rule.from.includes(from)) {
        throw new ControlPlaneError(
          from === 'revoked' ? 'KEY_REVOKED' : 'INVALID_KEY_TRANSITION',
          from === 'revoked' ? 'A revoked key cannot change state; create or rotate to a new key' : `Cannot ${action} a key that is ${from}`,
        );
      }
      const updated = await client.query<KeyRow>(`UPDATE api_keys SET status = $2, status_changed_at = now() WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [
        id,
        rule.to,
      ]);
      await client.query('COMMIT');
      this.invalidate({ keyId: id });
      return { key: toRecord(updated.rows[0] as KeyRow), changed: true, from };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * A new key with the same team, environment, name and limit. The old key keeps working
   * for `overlapSeconds` (its expires_at is brought forward to then) so clients can switch
   * without downtime; with no overlap it is revoked in the same transaction.
   */
  async rotate(id: string, overlapSeconds = 0): Promise<{ created: CreatedApiKey; old: ApiKeyRecord }> {
    const current = await this.get(id);
    if (!current) throw new ControlPlaneError('KEY_NOT_FOUND', `API key not found: ${id}`);
    if (current.status !== 'active') {
      throw new ControlPlaneError(current.status === 'revoked' ? 'KEY_REVOKED' : 'INVALID_KEY_TRANSITION', `Cannot rotate a key that is ${current.status}`);
    }
    const key = generateApiKey(current.environment);
    const newId = uuidv7();
    const prefix = keyPrefix(key);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO api_keys (id, team_id, prefix, key_hash, environment, name, expires_at, rate_limit_requests, rate_limit_per_s, rotated_from)
         SELECT $2, team_id, $3, $4, environment, name, NULL, rate_limit_requests, rate_limit_per_s, id FROM api_keys WHERE id = $1`,
        [id, newId, prefix, digest(key)],
      );
      const old =
        overlapSeconds > 0
          ? await client.query<KeyRow>(
              `UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => $2)),
                 status_changed_at = now()
               WHERE id = $1 RETURNING ${KEY_COLUMNS}`,
              [id, overlapSeconds],
            )
          : await client.query<KeyRow>(`UPDATE api_keys SET status = 'revoked', status_changed_at = now() WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [id]);
      await client.query('COMMIT');
      this.invalidate({ keyId: id });
      return {
        created: { keyId: newId, teamId: current.team_id, environment: current.environment, prefix, key },
        old: toRecord(old.rows[0] as KeyRow),
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Drops cached principals: one key's, one team's (its limit changed), or all (the
   * change feed reconnected and may have missed notifications).
   */
  invalidate(target: { keyId?: string; teamId?: string } = {}): void {
    // Any change may make a refused key usable (activate, expiry moved): forget refusals.
    this.negative?.clear();
    if (!this.cache) return;
    if (target.keyId === undefined && target.teamId === undefined) {
      this.cache.clear();
      return;
    }
    for (const [hash, entry] of this.cache.entries()) {
      if (entry.principal?.keyId === target.keyId || entry.teamId === target.teamId) this.cache.delete(hash);
    }
  }

  /** Idempotent: makes sure `key` exists for the team (used for the fixed dev key). */
  async ensure(teamId: string, environment: Environment, key: string, name: string): Promise<ApiKeyPrincipal> {
    const found = await this.verify(key);
    if (found) return found;
    const created = await this.create(teamId, environment, { key, name });
    return { keyId: created.keyId, teamId, environment, prefix: created.prefix, rateLimit: null, teamRateLimit: null };
  }

  async verify(key: string): Promise<ApiKeyPrincipal | null> {
    if (!key || key.length > 256) return null;
    const hash = digest(key);
    const cacheKey = hash.toString('base64');
    const cached = this.cache?.get(cacheKey);
    if (cached) {
      // Read-your-writes: a key (or team limit) changed since this entry was read — on any
      // gateway — is read again; otherwise the entry holds, stamped with the current sequence.
      const { seq } = await this.changes.current(cached.teamId);
      if (cached.seq >= seq) return cached.principal && { ...cached.principal, changeSeq: seq };
    }
    if (this.negative?.has(cacheKey)) return null;
    this.lookups++;

    // One statement: the key, its team's limits and the team's change sequence come from
    // the same snapshot, so the entry is exactly as recent as the sequence it records.
    const { rows } = await this.pool.query<{
      id: string;
      team_id: string;
      environment: Environment;
      prefix: string;
      key_hash: Buffer;
      usable: boolean;
      expires_at: Date | null;
      rate_limit_requests: number | null;
      rate_limit_per_s: number | null;
      team_requests: number | null;
      team_per_s: number | null;
      seq: string;
    }>(
      `SELECT k.id, k.team_id, k.environment, k.prefix, k.key_hash, k.expires_at, k.rate_limit_requests, k.rate_limit_per_s,
              (k.status = 'active' AND (k.expires_at IS NULL OR k.expires_at > now())) AS usable,
              t.rate_limit_requests AS team_requests, t.rate_limit_per_s AS team_per_s,
              COALESCE(c.seq, 0) AS seq
       FROM api_keys k JOIN teams t ON t.id = k.team_id LEFT JOIN team_changes c ON c.team_id = k.team_id
       WHERE k.key_hash = $1`,
      [hash],
    );
    const row = rows[0];
    // The index lookup already matched the digest; the constant-time comparison keeps the
    // final decision free of timing differences whatever the storage does.
    const known = row !== undefined && row.key_hash.length === hash.length && timingSafeEqual(row.key_hash, hash);
    if (!known || !row) {
      // Digests of no key at all: nothing can make them valid later (keys are generated
      // here and never presented before they exist), so only time and size bound them.
      this.negative?.set(cacheKey, true);
      return null;
    }
    const seq = Number(row.seq);
    const principal: ApiKeyPrincipal | null = row.usable
      ? {
          keyId: row.id,
          teamId: row.team_id,
          environment: row.environment,
          prefix: row.prefix,
          rateLimit: limitOf(row.rate_limit_requests, row.rate_limit_per_s),
          teamRateLimit: limitOf(row.team_requests, row.team_per_s),
        }
      : null;
    this.remember(cacheKey, { principal, teamId: row.team_id, seq }, row.usable ? row.expires_at : null);
    if (principal) this.touch(principal.keyId);
    return principal && { ...principal, changeSeq: seq };
  }

  /** Caches what a lookup found, unless a concurrent lookup already cached a newer read. */
  private remember(cacheKey: string, entry: CacheEntry, expiresAt: Date | null): void {
    if (!this.cache) return;
    const current = this.cache.get(cacheKey);
    if (current && current.seq > entry.seq) return;
    // A key that expires inside the cache window must not outlive its expiry here.
    const ttl = expiresAt ? Math.min(this.cacheMs, expiresAt.getTime() - Date.now()) : this.cacheMs;
    if (ttl >= 1) this.cache.set(cacheKey, entry, { ttl });
  }

  /** last_used_at, written at most once a minute per key and off the request path. */
  private touch(keyId: string): void {
    if (this.lastUsedWritten.has(keyId)) return;
    this.lastUsedWritten.set(keyId, true);
    this.pool.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]).catch(() => undefined);
  }
}
