/**
 * Known lifecycle statuses of an event and their rank. The `events` table keeps one row
 * per event and ReplacingMergeTree(status_rank) keeps the highest rank, so a rank says
 * "this status supersedes every lower one", whatever order the stages' messages arrive in.
 *
 * Ranks are spaced by 10 so a status can be slotted between two others later. Never
 * renumber an existing status: rows already on disk carry the old number. Every status
 * has its own rank: on equal ranks ClickHouse keeps the last inserted version, which
 * would make the surviving status depend on delivery order.
 */
export const EVENT_STATUS_RANK = {
  accepted: 10, // gateway took it
  rejected: 20, // validator refused it (terminal)
  validated: 30, // validator accepted it
  unmatched: 35, // matcher decided: contact found, no scenario fired (terminal)
  no_target: 40, // no scenario listens to it (terminal)
  matched: 50, // at least one scenario matched
  scheduled: 60, // an action is scheduled for later
  delivered: 70, // webhook delivered
  failed: 80, // delivery gave up after retries
} as const;

export type EventStatus = keyof typeof EVENT_STATUS_RANK;

/** Anything the writer accepts as an instant: a Date, epoch milliseconds, or ISO 8601 text with a zone. */
export type Timestamp = Date | number | string;

/** One event status as the pipeline stages hand it to the history store. */
export interface EventHistoryInput {
  event_id: string;
  team_id: string;
  /** Default `production`. */
  environment?: string;
  code_name: string;
  /** Default `kafka`. */
  dialect?: string;
  /** A known {@link EventStatus}, or any other status together with an explicit `status_rank`. */
  status: EventStatus | (string & {});
  /** 0..255; defaults to {@link EVENT_STATUS_RANK}[status]. Higher wins. */
  status_rank?: number;
  /** Default `''`. */
  reason_code?: string;
  /** Default `[]`. */
  errors?: readonly string[];
  schema_version?: number | null;
  contact_id?: string | null;
  contact_email?: string | null;
  contact_phone?: string | null;
  visitor_id?: string | null;
  /** The Relay contact the matcher resolved the event to (set with its decision). */
  resolved_contact_id?: string | null;
  /** JSON text of the event's data. Default `{}`. Stored as is, not re-parsed. */
  payload?: string;
  /** Must be the same for every status of one event: it is part of the sorting key. */
  received_at: Timestamp;
  /** Default: now. */
  recorded_at?: Timestamp;
}

/** One event with its latest status, as read back. Timestamps are ISO 8601 UTC with milliseconds. */
export interface EventHistoryRow {
  event_id: string;
  team_id: string;
  environment: string;
  code_name: string;
  dialect: string;
  status: string;
  status_rank: number;
  reason_code: string;
  errors: string[];
  schema_version: number | null;
  contact_id: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  visitor_id: string | null;
  resolved_contact_id: string | null;
  payload: string;
  received_at: string;
  recorded_at: string;
}

export interface ListEventHistoriesParams {
  teamId: string;
  codeName?: string;
  status?: string;
  /** The contact's id as sent, or the contact the matcher resolved the event to (whatever identifier was sent). */
  contactId?: string;
  contactEmail?: string;
  contactPhone?: string;
  visitorId?: string;
  environment?: string;
  /** Inclusive lower bound on received_at. */
  from?: Timestamp;
  /** Exclusive upper bound on received_at. */
  to?: Timestamp;
  /** 1..500, default 50. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface EventHistoryPage {
  data: EventHistoryRow[];
  /** Null on the last page. */
  next_cursor: string | null;
}

export type HistoryValidationErrorCode = 'INVALID_CURSOR' | 'INVALID_LIMIT' | 'INVALID_TIMESTAMP' | 'INVALID_ROW';

/**
 * A caller mistake (bad cursor, limit, timestamp or row), thrown before anything reaches
 * ClickHouse: an API maps it to 400, a consumer to its dead-letter path, never to a retry.
 */
export class HistoryValidationError extends Error {
  override readonly name = 'HistoryValidationError';
  constructor(
    readonly code: HistoryValidationErrorCode,
    message: string,
  ) {
    super(message);
  }
}
