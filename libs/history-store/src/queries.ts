import { quotedDatabase, type HistoryClient } from './client';
import { decodeCursor, encodeCursor } from './cursor';
import { fromSelectedRow, msToClickHouse, SELECT_COLUMNS, toEpochMs, type SelectedRow } from './rows';
import { HistoryValidationError, type EventHistoryPage, type EventHistoryRow, type ListEventHistoriesParams } from './types';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/**
 * Reads of the `events` table. Every value from a caller is bound as a query parameter
 * (`{name:Type}`); the only text assembled here is fixed SQL fragments and the
 * validated database identifier.
 *
 * Reads use FINAL, so each event appears once with its highest-ranked status even when
 * ReplacingMergeTree has not merged its versions yet. WHERE is evaluated after FINAL
 * (optimize_move_to_prewhere_if_final is off by default), so `status = 'accepted'` does
 * not match an event whose latest status is `matched`.
 */
export class HistoryQueries {
  readonly #client: HistoryClient;
  readonly #table: string;

  constructor(client: HistoryClient) {
    this.#client = client;
    this.#table = `${quotedDatabase(client)}.events`;
  }

  /**
   * One page of a team's events, newest first (received_at desc, event_id desc).
   * Keyset pagination: the cursor is the (received_at, event_id) of the page's last row,
   * a total order, so every row is returned exactly once across pages even when many
   * share a timestamp, and rows inserted meanwhile do not shift later pages.
   */
  async listEventHistories(params: ListEventHistoriesParams): Promise<EventHistoryPage> {
    const limit = params.limit ?? DEFAULT_PAGE_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
      throw new HistoryValidationError('INVALID_LIMIT', `limit must be an integer 1..${MAX_PAGE_LIMIT}, got ${String(limit)}`);
    }
    const where = ['team_id = {team_id:String}'];
    const query_params: Record<string, string | number> = { team_id: params.teamId, limit: limit + 1 };
    const eq = (value: string | undefined, column: string): void => {
      if (value === undefined) return;
      where.push(`${column} = {${column}:String}`);
      query_params[column] = value;
    };
    eq(params.codeName, 'code_name');
    eq(params.status, 'status');
    eq(params.environment, 'environment');
    eq(params.contactId, 'contact_id');
    eq(params.contactEmail, 'contact_email');
    if (params.from !== undefined) {
      where.push(`received_at >= {from:DateTime64(3, 'UTC')}`);
      query_params.from = msToClickHouse(toEpochMs(params.from, 'from'));
    }
    if (params.to !== undefined) {
      where.push(`received_at < {to:DateTime64(3, 'UTC')}`);
      query_params.to = msToClickHouse(toEpochMs(params.to, 'to'));
    }
    if (params.cursor !== undefined) {
      const c = decodeCursor(params.cursor);
      // Written as a range on received_at plus a tie-break, rather than a tuple
      // comparison, so the primary key and partition pruning can use the bound.
      where.push(
        `received_at <= {cursor_at:DateTime64(3, 'UTC')}`,
        `(received_at < {cursor_at:DateTime64(3, 'UTC')} OR event_id < {cursor_id:String})`,
      );
      query_params.cursor_at = msToClickHouse(c.receivedAtMs);
      query_params.cursor_id = c.eventId;
    }
    // One row more than the page tells whether there is a next page.
    const rs = await this.#client.ch.query({
      query: `SELECT ${SELECT_COLUMNS}
        FROM ${this.#table} FINAL
        WHERE ${where.join('\n  AND ')}
        ORDER BY received_at DESC, event_id DESC
        LIMIT {limit:UInt32}`,
      query_params,
      format: 'JSONEachRow',
    });
    const rows = (await rs.json<SelectedRow>()).map(fromSelectedRow);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => r.row),
      next_cursor: rows.length > limit && last ? encodeCursor({ receivedAtMs: last.receivedAtMs, eventId: last.row.event_id }) : null,
    };
  }

  /** The event with its latest status, or null. */
  async getEvent(teamId: string, eventId: string): Promise<EventHistoryRow | null> {
    // ORDER BY status_rank guards against versions that FINAL cannot collapse because
    // a producer sent a different received_at (a different sorting key).
    const rs = await this.#client.ch.query({
      query: `SELECT ${SELECT_COLUMNS}
        FROM ${this.#table} FINAL
        WHERE team_id = {team_id:String} AND event_id = {event_id:String}
        ORDER BY status_rank DESC, recorded_at DESC
        LIMIT 1`,
      query_params: { team_id: teamId, event_id: eventId },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<SelectedRow>();
    return row ? fromSelectedRow(row).row : null;
  }

  /**
   * Readiness: resolves when ClickHouse answers and the `events` table exists, rejects
   * with the reason otherwise.
   */
  async ping(): Promise<void> {
    const res = await this.#client.ch.ping();
    if (!res.success) throw res.error;
    const rs = await this.#client.ch.query({
      query: `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'events'`,
      query_params: { db: this.#client.database },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: number | string }>();
    if (!row || Number(row.n) === 0) throw new Error(`history table ${this.#client.database}.events is missing; run the migrations`);
  }
}
