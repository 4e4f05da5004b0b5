import { quotedDatabase, type HistoryClient } from './client';
import { decodeCursor, encodeCursor } from './cursor';
import { fromSelectedRow, msToClickHouse, SELECT_COLUMNS, toEpochMs, type SelectedRow } from './rows';
import { plannedDeliveryStatus, type DeliveryView, type ScenarioRunView } from './relations';
import { HistoryValidationError, type EventHistoryPage, type EventHistoryRow, type ListEventHistoriesParams } from './types';

/** An event row with what it caused. */
export type EventHistoryWithRelations = EventHistoryRow & { scenario_runs: ScenarioRunView[]; deliveries: DeliveryView[] };

interface RunRow {
  event_id: string;
  scenario_id: string;
  scenario_name: string;
  outcome: string;
  reason: string;
  actions: string;
  contact_id: string | null;
  decided_at_ms: string | number;
}

interface DeliveryRow {
  event_id: string;
  delivery_id: string;
  endpoint_id: string;
  kind: string;
  scenario_id: string | null;
  attempts: string | number;
  last_outcome: string;
  last_http_status: number | null;
  last_error: string | null;
  first_ms: string | number;
  last_ms: string | number;
}

const iso = (ms: string | number): string => new Date(Number(ms)).toISOString();

/**
 * A delivery's status from its latest webhook_attempts outcome. `cancelled` comes from
 * the matcher's scheduler (attempt 0: a scheduled action cancelled before release), the
 * others from the dispatcher.
 */
function deliveryStatusOf(lastOutcome: string): DeliveryView['status'] {
  switch (lastOutcome) {
    case 'succeeded':
      return 'delivered';
    case 'dead':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'retrying';
  }
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/**
 * Look-back windows a page is searched in, narrowest first, before the unbounded query.
 * The sorting key starts (team_id, code_name, received_at), so a team-wide newest-first
 * query without a time bound reads every row of the team before its LIMIT applies (10M
 * events: ~400 ms a page). Bounded by a window, the key and the monthly partitions skip
 * all older granules (~20 ms). A window holding more than a page of rows holds the page:
 * every row outside it is older than every row in it.
 */
const LOOKBACK_WINDOWS_MS = [3_600_000, 86_400_000, 7 * 86_400_000, 31 * 86_400_000];

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
   * The scenario runs and deliveries each event caused, attached to the rows (two
   * queries for the whole page, not one per row). Both tables are read FINAL so a
   * redelivered record counts once. The received_at / attempted_at bound lets
   * ClickHouse prune partitions and, for scenario_runs, read by the sorting key; the
   * event_id bloom filters do the rest. Planned deliveries not attempted yet are
   * `scheduled` or `pending` as of `now` (plannedDeliveryStatus).
   */
  async attachRelations(teamId: string, rows: readonly EventHistoryRow[], now: number = Date.now()): Promise<EventHistoryWithRelations[]> {
    if (rows.length === 0) return [];
    const db = quotedDatabase(this.#client);
    const ids = rows.map((r) => r.event_id);
    const minMs = Math.min(...rows.map((r) => Date.parse(r.received_at)));
    const maxMs = Math.max(...rows.map((r) => Date.parse(r.received_at)));
    const params = { team_id: teamId, ids, min_at: msToClickHouse(minMs), max_at: msToClickHouse(maxMs) };
    const runsRs = await this.#client.ch.query({
      query: `SELECT event_id, scenario_id, scenario_name, outcome, reason, actions, contact_id, toUnixTimestamp64Milli(decided_at) AS decided_at_ms
        FROM ${db}.scenario_runs FINAL
        WHERE team_id = {team_id:String}
          AND received_at >= {min_at:DateTime64(3, 'UTC')} AND received_at <= {max_at:DateTime64(3, 'UTC')}
          AND event_id IN {ids:Array(String)}
        ORDER BY event_id, scenario_id`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const runs = await runsRs.json<RunRow>();
    const deliveriesRs = await this.#client.ch.query({
      query: `SELECT event_id, delivery_id, any(endpoint_id) AS endpoint_id, any(kind) AS kind, any(scenario_id) AS scenario_id,
          max(attempt) AS attempts,
          argMax(outcome, (attempt, attempted_at)) AS last_outcome,
          argMax(http_status, (attempt, attempted_at)) AS last_http_status,
          argMax(error, (attempt, attempted_at)) AS last_error,
          toUnixTimestamp64Milli(min(attempted_at)) AS first_ms,
          toUnixTimestamp64Milli(max(attempted_at)) AS last_ms
        FROM ${db}.webhook_attempts FINAL
        WHERE team_id = {team_id:String}
          AND attempted_at >= {min_at:DateTime64(3, 'UTC')}
          AND event_id IN {ids:Array(String)}
        GROUP BY event_id, delivery_id
        ORDER BY event_id, first_ms`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const attempted = await deliveriesRs.json<DeliveryRow>();

    const runsBy = new Map<string, ScenarioRunView[]>();
    for (const r of runs) {
      const list = runsBy.get(r.event_id) ?? [];
      let actions: ScenarioRunView['actions'] = [];
      try {
        actions = JSON.parse(r.actions) as ScenarioRunView['actions'];
      } catch {
        actions = [];
      }
      list.push({
        scenario_id: r.scenario_id,
        name: r.scenario_name,
        outcome: r.outcome,
        reason: r.reason,
        actions,
        contact_id: r.contact_id,
        decided_at: iso(r.decided_at_ms),
      });
      runsBy.set(r.event_id, list);
    }
    const deliveriesBy = new Map<string, Map<string, DeliveryView>>();
    const slot = (eventId: string): Map<string, DeliveryView> => {
      let m = deliveriesBy.get(eventId);
      if (!m) deliveriesBy.set(eventId, (m = new Map<string, DeliveryView>()));
      return m;
    };
    for (const d of attempted) {
      slot(d.event_id).set(d.delivery_id, {
        delivery_id: d.delivery_id,
        endpoint_id: d.endpoint_id,
        kind: d.kind || null,
        scenario_id: d.scenario_id,
        status: deliveryStatusOf(d.last_outcome),
        attempts: Number(d.attempts),
        last_http_status: d.last_http_status === null ? null : Number(d.last_http_status),
        last_error: d.last_error,
        first_attempt_at: iso(d.first_ms),
        last_attempt_at: iso(d.last_ms),
        due_at: null,
      });
    }
    // Deliveries the scenario runs planned but the dispatcher has not attempted yet.
    for (const [eventId, list] of runsBy) {
      const m = slot(eventId);
      for (const run of list) {
        for (const a of run.actions) {
          if (!a.delivery_id || m.has(a.delivery_id)) continue;
          m.set(a.delivery_id, {
            delivery_id: a.delivery_id,
            endpoint_id: a.webhook_id || null,
            kind: 'scenario_action',
            scenario_id: run.scenario_id,
            status: a.status === 'scheduled' ? plannedDeliveryStatus(a.due_at, now) : 'pending',
            attempts: 0,
            last_http_status: null,
            last_error: null,
            first_attempt_at: null,
            last_attempt_at: null,
            due_at: a.due_at,
          });
        }
      }
    }
    return rows.map((row) => ({
      ...row,
      scenario_runs: runsBy.get(row.event_id) ?? [],
      deliveries: [...(deliveriesBy.get(row.event_id)?.values() ?? [])],
    }));
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
    if (params.contactId !== undefined) {
      // Events sent with this id, and events the matcher resolved to this contact whatever
      // identifier they carried (an email, a phone, an external id); both columns have a
      // bloom-filter index.
      where.push('(contact_id = {contact_id:String} OR resolved_contact_id = {contact_id:String})');
      query_params.contact_id = params.contactId;
    }
    eq(params.contactEmail, 'contact_email');
    eq(params.contactPhone, 'contact_phone');
    eq(params.visitorId, 'visitor_id');
    const fromMs = params.from === undefined ? null : toEpochMs(params.from, 'from');
    const toMs = params.to === undefined ? null : toEpochMs(params.to, 'to');
    if (fromMs !== null) {
      where.push(`received_at >= {from:DateTime64(3, 'UTC')}`);
      query_params.from = msToClickHouse(fromMs);
    }
    if (toMs !== null) {
      where.push(`received_at < {to:DateTime64(3, 'UTC')}`);
      query_params.to = msToClickHouse(toMs);
    }
    let cursorMs: number | null = null;
    if (params.cursor !== undefined) {
      const c = decodeCursor(params.cursor);
      cursorMs = c.receivedAtMs;
      // Written as a range on received_at plus a tie-break, rather than a tuple
      // comparison, so the primary key and partition pruning can use the bound.
      where.push(`received_at <= {cursor_at:DateTime64(3, 'UTC')}`, `(received_at < {cursor_at:DateTime64(3, 'UTC')} OR event_id < {cursor_id:String})`);
      query_params.cursor_at = msToClickHouse(c.receivedAtMs);
      query_params.cursor_id = c.eventId;
    }
    // Windows count back from the newest row the page may hold (the cursor, `to`, or now;
    // rows stamped in the future are above every window's lower bound anyway).
    const anchor = cursorMs ?? toMs ?? Date.now();
    let rows: ReturnType<typeof fromSelectedRow>[] = [];
    for (const window of [...LOOKBACK_WINDOWS_MS, null]) {
      const lowerMs = window === null ? null : anchor - window;
      const reachesFrom = lowerMs === null || lowerMs <= 0 || (fromMs !== null && lowerMs <= fromMs);
      const bounded = reachesFrom ? where : [...where, `received_at >= {window_from:DateTime64(3, 'UTC')}`];
      rows = await this.#page(bounded, reachesFrom ? query_params : { ...query_params, window_from: msToClickHouse(lowerMs) });
      if (rows.length > limit || reachesFrom) break;
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => r.row),
      next_cursor: rows.length > limit && last ? encodeCursor({ receivedAtMs: last.receivedAtMs, eventId: last.row.event_id }) : null,
    };
  }

  /** Up to `limit` + 1 rows, newest first: one row more than the page tells whether there is a next page. */
  async #page(where: readonly string[], query_params: Record<string, string | number>): Promise<ReturnType<typeof fromSelectedRow>[]> {
    const rs = await this.#client.ch.query({
      query: `SELECT ${SELECT_COLUMNS}
        FROM ${this.#table} FINAL
        WHERE ${where.join('\n  AND ')}
        ORDER BY received_at DESC, event_id DESC
        LIMIT {limit:UInt32}`,
      query_params,
      format: 'JSONEachRow',
    });
    return (await rs.json<SelectedRow>()).map(fromSelectedRow);
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
