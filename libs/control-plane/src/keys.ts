import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';

export type Environment = 'production' | 'staging';

export interface ApiKeyPrincipal {
  keyId: string;
  teamId: string;
  environment: Environment;
  prefix: string;
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

export class TeamsRepository {
  constructor(private readonly pool: Pool) {}

  async create(name: string, id: string = uuidv7()): Promise<{ id: string; name: string }> {
    await this.pool.query('INSERT INTO teams (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, name]);
    return { id, name };
  }

  async exists(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM teams WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }
}

interface CacheEntry {
  principal: ApiKeyPrincipal | null;
  until: number;
}

/**
 * API keys: stored as SHA-256 digests, looked up by digest, and compared in constant time.
 * Successful lookups are cached for `cacheMs`, which is the bound on how long a revoked
 * key keeps working on a gateway instance.
 */
export class ApiKeysRepository {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly cacheMs = 5000,
  ) {}

  async create(
    teamId: string,
    environment: Environment,
    options: { key?: string; name?: string; expiresAt?: Date } = {},
  ): Promise<CreatedApiKey> {
    const key = options.key ?? generateApiKey(environment);
    const id = uuidv7();
    const prefix = keyPrefix(key);
    await this.pool.query(
      `INSERT INTO api_keys (id, team_id, prefix, key_hash, environment, name, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, teamId, prefix, digest(key), environment, options.name ?? null, options.expiresAt ?? null],
    );
    return { keyId: id, teamId, environment, prefix, key };
  }

  /** Idempotent: makes sure `key` exists for the team (used for the fixed dev key). */
  async ensure(teamId: string, environment: Environment, key: string, name: string): Promise<ApiKeyPrincipal> {
    const found = await this.verify(key);
    if (found) return found;
    const created = await this.create(teamId, environment, { key, name });
    return { keyId: created.keyId, teamId, environment, prefix: created.prefix };
  }

  async verify(key: string): Promise<ApiKeyPrincipal | null> {
    if (!key || key.length > 256) return null;
    const hash = digest(key);
    const cacheKey = hash.toString('base64');
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.until > now) return cached.principal;

    const { rows } = await this.pool.query<{
      id: string;
      team_id: string;
      environment: Environment;
      prefix: string;
      key_hash: Buffer;
    }>(
      `SELECT id, team_id, environment, prefix, key_hash FROM api_keys
       WHERE key_hash = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > now())`,
      [hash],
    );
    const row = rows[0];
    // The index lookup already matched the digest; the constant-time comparison keeps the
    // final decision free of timing differences whatever the storage does.
    const principal =
      row && row.key_hash.length === hash.length && timingSafeEqual(row.key_hash, hash)
        ? { keyId: row.id, teamId: row.team_id, environment: row.environment, prefix: row.prefix }
        : null;
    if (principal) {
      this.cache.set(cacheKey, { principal, until: now + this.cacheMs });
      this.touch(principal.keyId, now);
    }
    return principal;
  }

  /** last_used_at, written at most once a minute per key and off the request path. */
  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < 60000) return;
    this.lastUsedWritten.set(keyId, now);
    this.pool.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]).catch(() => undefined);
  }
}
