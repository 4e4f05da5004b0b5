import type { Pool } from 'pg';

export const IDEMPOTENCY_WINDOW_HOURS = 24;
export const IDENTIFY_LINK_DAYS = 7;

/**
 * Idempotency keys: `claim` records (team, key) → event id unless a live claim (younger
 * than 24 h) exists, and returns the id that owns the key. One statement, so two
 * concurrent requests with the same key cannot both win.
 */
export class IdempotencyRepository {
  constructor(private readonly pool: Pool) {}

  async claim(teamId: string, key: string, eventId: string): Promise<{ eventId: string; fresh: boolean }> {
    const { rows } = await this.pool.query<{ event_id: string }>(
      `INSERT INTO idempotency_keys (team_id, key, event_id) VALUES ($1, $2, $3)
       ON CONFLICT (team_id, key) DO UPDATE SET event_id = EXCLUDED.event_id, created_at = now()
         WHERE idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})
       RETURNING event_id`,
      [teamId, key, eventId],
    );
    if (rows[0]) return { eventId: rows[0].event_id, fresh: rows[0].event_id === eventId };
    const existing = await this.pool.query<{ event_id: string }>('SELECT event_id FROM idempotency_keys WHERE team_id = $1 AND key = $2', [teamId, key]);
    return { eventId: existing.rows[0]?.event_id ?? eventId, fresh: false };
  }

  /** Claims many at once (validator batches); returns the owning event id per `team\0key`. */
  async claimMany(claims: { teamId: string; key: string; eventId: string }[]): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    if (claims.length === 0) return owners;
    // One row per key and statement: PostgreSQL refuses an INSERT … ON CONFLICT DO UPDATE
    // that proposes the same key twice ("cannot affect row a second time"), which a batch
    // holding a repeat of a key would otherwise fail on. The first claim (the earlier
    // record) is the one that can win; the repeat then finds the owner and is dropped.
    const unique = new Map<string, { teamId: string; key: string; eventId: string }>();
    for (const c of claims) if (!unique.has(`${c.teamId}\u0000${c.key}`)) unique.set(`${c.teamId}\u0000${c.key}`, c);
    const distinct = [...unique.values()];
    await this.pool.query(
      `INSERT INTO idempotency_keys (team_id, key, event_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (team_id, key) DO UPDATE SET event_id = EXCLUDED.event_id, created_at = now()
         WHERE idempotency_keys.created_at < now() - make_interval(hours => ${IDEMPOTENCY_WINDOW_HOURS})`,
      [distinct.map((c) => c.teamId), distinct.map((c) => c.key), distinct.map((c) => c.eventId)],
    );
    const { rows } = await this.pool.query<{ team_id: string; key: string; event_id: string }>(
      `SELECT team_id, key, event_id FROM idempotency_keys
       WHERE (team_id, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [distinct.map((c) => c.teamId), distinct.map((c) => c.key)],
    );
    for (const r of rows) owners.set(`${r.team_id}\u0000${r.key}`, r.event_id);
    return owners;
  }

  /** Gives a key back when the event that claimed it could not be queued. */
  async release(teamId: string, key: string, eventId: string): Promise<void> {
    await this.pool.query('DELETE FROM idempotency_keys WHERE team_id = $1 AND key = $2 AND event_id = $3', [teamId, key, eventId]);
  }
}

/** Simon-style identify links: client id → email, live for 7 days from the last identify. */
export class IdentityLinksRepository {
  constructor(private readonly pool: Pool) {}

  async link(teamId: string, clientId: string, email: string, userId: string | null): Promise<{ expiresAt: string }> {
    const { rows } = await this.pool.query<{ expires_at: Date }>(
      `INSERT INTO client_identity_links (team_id, client_id, email, user_id, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(days => ${IDENTIFY_LINK_DAYS}))
       ON CONFLICT (team_id, client_id) DO UPDATE
         SET email = EXCLUDED.email, user_id = EXCLUDED.user_id, linked_at = now(), expires_at = EXCLUDED.expires_at
       RETURNING expires_at`,
      [teamId, clientId, email, userId],
    );
    return { expiresAt: (rows[0] as { expires_at: Date }).expires_at.toISOString() };
  }

  /** Live links for these client ids of one team: client id → email. */
  async resolve(teamId: string, clientIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (clientIds.length === 0) return out;
    const { rows } = await this.pool.query<{ client_id: string; email: string }>(
      `SELECT client_id, email FROM client_identity_links
       WHERE team_id = $1 AND client_id = ANY($2::text[]) AND expires_at > now()`,
      [teamId, clientIds],
    );
    for (const r of rows) out.set(r.client_id, r.email);
    return out;
  }
}
