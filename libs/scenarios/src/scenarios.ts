import type { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ScenariosError } from './errors';
import type { Scenario, ScenarioAction, ScenarioDefinition, ScenarioPatch } from './model';

/** A row as pg returns it: timestamps as Dates, the BIGINT cooldown_ms as text. */
type Row = Omit<Scenario, 'cooldown_ms' | 'created_at' | 'updated_at'> & { cooldown_ms: string | null; created_at: Date; updated_at: Date };

const COLUMNS = 'id, team_id, name, code_names, status, tags, filter, cooldown, cooldown_ms, actions, variables, version, created_at, updated_at';

const toScenario = (r: Row): Scenario => ({
  ...r,
  cooldown_ms: r.cooldown_ms === null ? null : Number(r.cooldown_ms),
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

/**
 * Notified by a trigger on every scenario change (payload team_id) for outside listeners;
 * matchers do not depend on it: they follow the team's change sequence (team_changes).
 */
export const SCENARIOS_CHANNEL = 'relay_scenarios';

/**
 * Scenarios of a team. Deletion is soft (the row keeps cooldown history and trigger
 * details meaningful); a trigger in the migration cancels pending scheduled actions when
 * a scenario stops being active and notifies the matchers.
 */
export class ScenariosRepository {
  constructor(private readonly pool: Pool) {}

  async create(teamId: string, def: ScenarioDefinition): Promise<Scenario> {
    await this.checkWebhooks(teamId, def.actions);
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO scenarios (id, team_id, name, code_names, status, tags, filter, cooldown, cooldown_ms, actions, variables)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${COLUMNS}`,
      [
        uuidv7(),
        teamId,
        def.name,
        def.code_names,
        def.status,
        JSON.stringify(def.tags),
        def.filter === null ? null : JSON.stringify(def.filter),
        def.cooldown,
        def.cooldown_ms,
        JSON.stringify(def.actions),
        JSON.stringify(def.variables),
      ],
    );
    return toScenario(rows[0] as Row);
  }

  async get(teamId: string, id: string): Promise<Scenario | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM scenarios WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL`, [teamId, id]);
    return rows[0] ? toScenario(rows[0]) : null;
  }

  /** Newest first; `cursor` is the last id of the previous page (ids are UUIDv7, time-ordered). */
  async list(teamId: string, opts: { limit: number; cursor?: string; codeName?: string }): Promise<{ data: Scenario[]; next_cursor: string | null }> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM scenarios
        WHERE team_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR $3 = ANY (code_names))
        ORDER BY id DESC LIMIT $4`,
      [teamId, opts.cursor ?? null, opts.codeName ?? null, opts.limit + 1],
    );
    const data = rows.slice(0, opts.limit).map(toScenario);
    return { data, next_cursor: rows.length > opts.limit ? (data[data.length - 1]?.id ?? null) : null };
  }

  /** Every live scenario of a team (what a matcher caches per team). */
  async listForTeam(teamId: string): Promise<Scenario[]> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM scenarios WHERE team_id = $1 AND deleted_at IS NULL`, [teamId]);
    return rows.map(toScenario);
  }

  async update(teamId: string, id: string, patch: ScenarioPatch): Promise<Scenario> {
    if (patch.actions) await this.checkWebhooks(teamId, patch.actions);
    const set: string[] = [];
    const params: unknown[] = [teamId, id];
    const put = (column: string, value: unknown) => {
      params.push(value);
      set.push(`${column} = $${params.length}`);
    };
    if (patch.name !== undefined) put('name', patch.name);
    if (patch.code_names !== undefined) put('code_names', patch.code_names);
    if (patch.status !== undefined) put('status', patch.status);
    if (patch.tags !== undefined) put('tags', JSON.stringify(patch.tags));
    if (patch.filter !== undefined) put('filter', patch.filter === null ? null : JSON.stringify(patch.filter));
    if (patch.cooldown !== undefined) {
      put('cooldown', patch.cooldown);
      put('cooldown_ms', patch.cooldown_ms ?? null);
    }
    if (patch.actions !== undefined) put('actions', JSON.stringify(patch.actions));
    if (patch.variables !== undefined) put('variables', JSON.stringify(patch.variables));
    const { rows } = await this.pool.query<Row>(
      `UPDATE scenarios SET ${[...set, 'version = version + 1', 'updated_at = now()'].join(', ')}
        WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
      params,
    );
    if (!rows[0]) throw new ScenariosError('SCENARIO_NOT_FOUND', [`Scenario not found: ${id}`]);
    return toScenario(rows[0]);
  }

  async delete(teamId: string, id: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      `UPDATE scenarios SET deleted_at = now(), updated_at = now(), version = version + 1
        WHERE team_id = $1 AND id = $2 AND deleted_at IS NULL`,
      [teamId, id],
    );
    if (!rowCount) throw new ScenariosError('SCENARIO_NOT_FOUND', [`Scenario not found: ${id}`]);
  }

  /**
   * The dispatcher owns webhook endpoints (table `webhook_endpoints`); scenarios only
   * reference them by id. They are checked when that table exists in this database, so
   * the two features deploy in any order; a deployment without it just stores the id.
   */
  private async checkWebhooks(teamId: string, actions: ScenarioAction[]): Promise<void> {
    const ids = [...new Set(actions.map((a) => a.webhook_id))];
    const { rows: exists } = await this.pool.query<{ t: string | null }>(`SELECT to_regclass('webhook_endpoints')::text AS t`);
    if (!exists[0]?.t) return;
    let found: Set<string>;
    try {
      const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM webhook_endpoints WHERE team_id = $1 AND id = ANY ($2)', [teamId, ids]);
      found = new Set(rows.map((r) => r.id));
    } catch (error) {
      if ((error as { code?: string }).code === '42703') return; // a different shape: do not guess
      throw error;
    }
    const missing = ids.filter((i) => !found.has(i));
    if (missing.length)
      throw new ScenariosError(
        'WEBHOOK_NOT_FOUND',
        missing.map((m) => `Webhook endpoint not found: ${m}`),
      );
  }
}
