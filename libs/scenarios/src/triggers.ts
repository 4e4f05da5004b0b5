import type { Pool } from 'pg';
import type { JsonMap } from './model';

/**
 * The matcher's trigger rows, read for what the event history does not hold. Trigger
 * status and counts come from the history (`triggerStatus` in @relay/history-store);
 * this row says how the matcher resolved the contact.
 */
export class TriggersRepository {
  constructor(private readonly pool: Pool) {}

  /** The contact the matcher resolved: id, how (matched_by), identifier conflicts, created. Null for no_target or unknown events. */
  async resolvedContact(teamId: string, id: string): Promise<JsonMap | null> {
    const { rows } = await this.pool.query<{ contact: JsonMap | null }>(`SELECT details->'contact' AS contact FROM triggers WHERE team_id = $1 AND id = $2`, [
      teamId,
      id,
    ]);
    return rows[0]?.contact ?? null;
  }
}
