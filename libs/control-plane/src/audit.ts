import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';

export type ActorType = 'admin' | 'api_key' | 'system';

export interface AuditActor {
  type: ActorType;
  /** `admin`, a key prefix (`rly_live_AbCdEfG`), or a system component's name. Never a secret. */
  name: string;
}

export interface AuditInput {
  teamId: string;
  actor: AuditActor;
  /** `<resource>.<verb>`: `event_type.created`, `key.revoked`, `webhook.updated`… */
  action: string;
  target: { type: string; id?: string | null };
  /** What changed. Redacted before it is stored: see `redactSecrets`. */
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: string;
  team_id: string;
  actor: string;
  actor_type: ActorType;
  action: string;
  target_type: string;
  target_id: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

// Field names that hold secrets anywhere in a change description (webhook signing
// secrets, API keys, tokens, passwords, digests). Matched on the whole name or a
// `_`/`-` separated suffix, so `key_id`, `prefix` or `api_key_prefix` stay visible.
const SECRET_NAME = /(^|[_-])(key|api_?key|secret|signing_?secret|token|access_?token|password|passwd|hash|key_?hash|authorization|credentials?)$/i;
// Values that look like a Relay key or an `Authorization` value, whatever the field name.
const SECRET_VALUE = /rly_(live|test)_[A-Za-z0-9_-]{8,}|^(Bearer|Basic)\s+\S+/;
export const REDACTED = '[redacted]';

/**
 * A copy of `value` without secrets: fields whose name says "secret" and strings that look
 * like credentials are replaced by `[redacted]`. Depth-bounded so a cyclic or huge
 * description cannot stall a request.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_NAME.test(k) ? REDACTED : redactSecrets(v, depth + 1);
    }
    return out;
  }
  return value;
}

interface Row extends Omit<AuditEntry, 'created_at'> {
  created_at: Date;
}

/** The audit trail: append-only, one row per change, read per team newest first. */
export class AuditRepository {
  constructor(private readonly pool: Pool) {}

  async record(input: AuditInput): Promise<AuditEntry> {
    const details = redactSecrets(input.details ?? {}) as Record<string, unknown>;
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO audit_log (id, team_id, actor, actor_type, action, target_type, target_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING id, team_id, actor, actor_type, action, target_type, target_id, details, created_at`,
      [uuidv7(), input.teamId, input.actor.name, input.actor.type, input.action, input.target.type, input.target.id ?? null, JSON.stringify(details)],
    );
    const row = rows[0] as Row;
    return { ...row, created_at: row.created_at.toISOString() };
  }

  /** Newest first, keyset-paginated on the UUIDv7 id; optional filter on the action's resource (`key`, `event_type`…). */
  async list(
    teamId: string,
    options: { limit?: number; cursor?: string; targetType?: string } = {},
  ): Promise<{ data: AuditEntry[]; next_cursor: string | null }> {
    const limit = options.limit ?? 100;
    const params: unknown[] = [teamId, limit + 1];
    let where = 'team_id = $1';
    if (options.cursor) {
      params.push(options.cursor);
      where += ` AND id < $${params.length}`;
    }
    if (options.targetType) {
      params.push(options.targetType);
      where += ` AND target_type = $${params.length}`;
    }
    const { rows } = await this.pool.query<Row>(
      `SELECT id, team_id, actor, actor_type, action, target_type, target_id, details, created_at
       FROM audit_log WHERE ${where} ORDER BY id DESC LIMIT $2`,
      params,
    );
    const page = rows.slice(0, limit).map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
    return { data: page, next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null };
  }
}
