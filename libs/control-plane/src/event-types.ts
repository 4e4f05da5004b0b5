import type { Pool, PoolClient } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { EventProperties, EventTarget, EventTypeDefinition } from '@relay/event-schema';
import { LRUCache } from 'lru-cache';
import { withTransaction } from './database';
import { ControlPlaneError } from './errors';
import { SeqCache, type TeamChanges } from './team-changes';

export interface StoredEventType {
  id: string;
  team_id: string;
  code_name: string;
  name: string;
  description: string | null;
  target: EventTarget;
  version: number;
  properties: EventProperties;
  created_at: string;
  updated_at: string;
}

/** A row as pg returns it: the timestamps as Dates. */
type Row = Omit<StoredEventType, 'created_at' | 'updated_at'> & { created_at: Date; updated_at: Date };

const SELECT = `SELECT t.id, t.team_id, t.code_name, t.name, t.description, t.target, t.version,
  v.properties, t.created_at, t.updated_at
  FROM event_types t JOIN event_type_versions v ON v.event_type_id = t.id AND v.version = t.version`;

const toStored = (r: Row): StoredEventType => ({
  ...r,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const UNIQUE_VIOLATION = '23505';

/**
 * Event types (seed 000) with immutable versions: create writes version 1, every update
 * writes version n+1 in the same transaction, delete is a soft delete that frees the
 * code_name (irreversible from the API's point of view).
 */
export class EventTypesRepository {
  constructor(private readonly pool: Pool) {}

  async create(teamId: string, def: EventTypeDefinition): Promise<StoredEventType> {
    return this.tx(async (client) => {
      const id = uuidv7();
      try {
        await client.query(
          `INSERT INTO event_types (id, team_id, code_name, name, description, target, version)
           VALUES ($1, $2, $3, $4, $5, $6, 1)`,
          [id, teamId, def.code_name, def.name, def.description ?? null, def.target],
        );
      } catch (error) {
        if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new ControlPlaneError('CODE_NAME_TAKEN', `An event type with code_name "${def.code_name}" already exists`);
        }
        throw error;
      }
      await this.insertVersion(client, id, 1, def);
      return this.getById(client, id);
    });
  }

  async get(teamId: string, codeName: string): Promise<StoredEventType | null> {
    const { rows } = await this.pool.query<Row>(`${SELECT} WHERE t.team_id = $1 AND t.code_name = $2 AND t.deleted_at IS NULL`, [teamId, codeName]);
    return rows[0] ? toStored(rows[0]) : null;
  }

  /**
   * The event type as it was at `version` (versions are immutable): what an event the
   * gateway accepted under that version must be validated against.
   */
  async getVersion(teamId: string, codeName: string, version: number): Promise<StoredEventType | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT t.id, t.team_id, t.code_name, v.name, v.description, v.target, v.version, v.properties, t.created_at, v.created_at AS updated_at
       FROM event_types t JOIN event_type_versions v ON v.event_type_id = t.id AND v.version = $3
       WHERE t.team_id = $1 AND t.code_name = $2 AND t.deleted_at IS NULL`,
      [teamId, codeName, version],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(teamId: string, limit: number, after?: string): Promise<{ data: StoredEventType[]; next_cursor: string | null }> {
    const params: unknown[] = [teamId, limit + 1];
    let where = 't.team_id = $1 AND t.deleted_at IS NULL';
    if (after) {
      params.push(after);
      where += ' AND t.id < $3';
    }
    const { rows } = await this.pool.query<Row>(`${SELECT} WHERE ${where} ORDER BY t.id DESC LIMIT $2`, params);
    const page = rows.slice(0, limit).map(toStored);
    return { data: page, next_cursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null };
  }

  /**
   * Applies `merge` to the current definition under a row lock and stores the result as
   * the next version. `merge` returns every error when the result would be invalid.
   */
  async update(
    teamId: string,
    codeName: string,
    merge: (current: EventTypeDefinition) => { ok: true; value: EventTypeDefinition } | { ok: false; errors: string[] },
  ): Promise<StoredEventType> {
    return this.tx(async (client) => {
      const { rows } = await client.query<Row>(`${SELECT} WHERE t.team_id = $1 AND t.code_name = $2 AND t.deleted_at IS NULL FOR UPDATE OF t`, [
        teamId,
        codeName,
      ]);
      const current = rows[0];
      if (!current) throw new ControlPlaneError('EVENT_TYPE_NOT_FOUND', `Event type not found: ${codeName}`);
      const merged = merge({
        name: current.name,
        code_name: current.code_name,
        ...(current.description !== null ? { description: current.description } : {}),
        target: current.target,
        properties: current.properties,
      });
      if (!merged.ok) throw new ControlPlaneError('INVALID_DEFINITION', merged.errors.join('; '), { errors: merged.errors });
      const next = merged.value;
      const version = current.version + 1;
      try {
        await client.query(
          `UPDATE event_types SET code_name = $2, name = $3, description = $4, target = $5, version = $6, updated_at = now()
           WHERE id = $1`,
          [current.id, next.code_name, next.name, next.description ?? null, next.target, version],
        );
      } catch (error) {
        if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new ControlPlaneError('CODE_NAME_TAKEN', `An event type with code_name "${next.code_name}" already exists`);
        }
        throw error;
      }
      await this.insertVersion(client, current.id, version, next);
      return this.getById(client, current.id);
    });
  }

  async delete(teamId: string, codeName: string): Promise<void> {
    const { rowCount } = await this.pool.query('UPDATE event_types SET deleted_at = now() WHERE team_id = $1 AND code_name = $2 AND deleted_at IS NULL', [
      teamId,
      codeName,
    ]);
    if (!rowCount) throw new ControlPlaneError('EVENT_TYPE_NOT_FOUND', `Event type not found: ${codeName}`);
  }

  private async insertVersion(client: PoolClient, id: string, version: number, def: EventTypeDefinition): Promise<void> {
    await client.query(
      `INSERT INTO event_type_versions (event_type_id, version, code_name, name, description, target, properties)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, version, def.code_name, def.name, def.description ?? null, def.target, JSON.stringify(def.properties)],
    );
  }

  private async getById(client: PoolClient, id: string): Promise<StoredEventType> {
    const { rows } = await client.query<Row>(`${SELECT} WHERE t.id = $1`, [id]);
    return toStored(rows[0] as Row);
  }

  private tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, work);
  }
}

/**
 * Read-through cache of event types for the hot path (gateway triggers, validator),
 * consistent with the team's change sequence: callers pass the sequence they read for the
 * team (`TeamChanges`) after the event arrived, and an entry loaded at an older sequence
 * is reloaded. An event type created, updated or deleted before an event was accepted is
 * therefore always seen by that event, on every instance. Misses (unknown code_names) are
 * cached the same way, so a flood of a wrong code_name costs one lookup per change.
 */
export class EventTypeCache {
  private readonly current: SeqCache<string, StoredEventType | null>;
  private readonly versions: LRUCache<string, StoredEventType>;

  constructor(
    private readonly repo: EventTypesRepository,
    private readonly changes: TeamChanges,
    options: { max?: number } = {},
  ) {
    this.current = new SeqCache({ max: options.max ?? 50000 });
    this.versions = new LRUCache({ max: options.max ?? 50000 });
  }

  /**
   * The event type as of team sequence `seq` or later; without `seq` (a caller that has not
   * read the team's sequence yet) the current one is read first.
   */
  async get(teamId: string, codeName: string, seq?: number): Promise<StoredEventType | null> {
    const atLeast = seq ?? (await this.changes.current(teamId)).seq;
    return this.current.get(`${teamId}\u0000${codeName}`, atLeast, () => this.repo.get(teamId, codeName));
  }

  /** A given version: immutable, so kept until evicted; misses are not kept. */
  async getVersion(teamId: string, codeName: string, version: number): Promise<StoredEventType | null> {
    const key = `${teamId}\u0000${codeName}\u0000${version}`;
    const hit = this.versions.get(key);
    if (hit) return hit;
    const value = await this.repo.getVersion(teamId, codeName, version);
    if (value) this.versions.set(key, value);
    return value;
  }

  /** Lookups that went to PostgreSQL (observable by tests). */
  get loads(): number {
    return this.current.loads;
  }
}
