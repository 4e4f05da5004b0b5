import type { Pool } from 'pg';
import type { JsonMap } from './model';

/** What the matcher recorded in PostgreSQL when it decided an event (its `triggers` row). */
export interface TriggerDecision {
  /** When the matcher decided. */
  decided_at: Date;
  /**
   * True when the matcher reported nothing about the event to history: the contact was
   * found but no scenario subscribes to the event type, so no outcome was produced.
   */
  silent: boolean;
  /** The contact it resolved: id, how (matched_by), identifier conflicts, created. Null for no_target. */
  contact: JsonMap | null;
}

/**
 * The matcher's trigger rows, read for what the event history does not hold. Trigger
 * status and counts come from the history (`triggerStatus` in @relay/history-store);
 * this row says how the matcher resolved the contact, and whether it decided an event
 * it never reports to history (see `silent`).
 */
export class TriggersRepository {
  constructor(private readonly pool: Pool) {}

  async decision(teamId: string, id: string): Promise<TriggerDecision | null> {
    const { rows } = await this.pool.query<{ completed_at: Date; silent: boolean; contact: JsonMap | null }>(
      `SELECT completed_at, details->'contact' AS contact,
              (outcome = 'unmatched' AND jsonb_array_length(details->'scenarios') = 0) AS silent
         FROM triggers WHERE team_id = $1 AND id = $2`,
      [teamId, id],
    );
    const row = rows[0];
    return row ? { decided_at: row.completed_at, silent: row.silent, contact: row.contact } : null;
  }
}
