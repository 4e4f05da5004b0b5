import { EVENT_STATUS_RANK, HistoryValidationError, type EventHistoryInput, type EventHistoryRow, type Timestamp } from './types';

// DateTime64 covers 1900..2299, but the TTL goes through toDateTime (1970..2106) and a
// timestamp outside this window is a producer bug rather than history.
const MIN_MS = 0;
const MAX_MS = Date.UTC(2100, 0, 1);
// Text without an explicit zone would be read in the process's local zone by Date.parse.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Epoch milliseconds of a {@link Timestamp}; throws HistoryValidationError for anything ambiguous or out of range. */
export function toEpochMs(value: Timestamp, field: string): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && ISO_WITH_ZONE.test(value)) ms = Date.parse(value);
  else ms = Number.NaN;
  if (!Number.isInteger(ms) || ms < MIN_MS || ms >= MAX_MS) {
    throw new HistoryValidationError('INVALID_TIMESTAMP', `${field}: expected a Date, epoch ms or ISO 8601 text with a zone, got ${String(value)}`);
  }
  return ms;
}

/**
 * The DateTime64(3) text form `YYYY-MM-DD hh:mm:ss.SSS` (UTC). Every ClickHouse version
 * parses it the same way in JSONEachRow and in query parameters, unlike bare numbers
 * (seconds or milliseconds depending on version and settings) or ISO text (needs
 * date_time_input_format=best_effort).
 */
export function msToClickHouse(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * The row exactly as sent in a JSONEachRow insert: the columns read back, with the
 * timestamps in ClickHouse's DateTime64 text form (see msToClickHouse).
 */
export type EventInsertRow = EventHistoryRow;

function requireText(row: EventHistoryInput, field: 'event_id' | 'team_id' | 'code_name' | 'status'): string {
  const v = row[field];
  if (typeof v !== 'string' || v.length === 0) {
    throw new HistoryValidationError('INVALID_ROW', `${field} must be a non-empty string (event_id=${String(row.event_id)})`);
  }
  return v;
}

function optionalText(value: string | null | undefined, field: string, fallback: string | null): string | null {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new HistoryValidationError('INVALID_ROW', `${field} must be a string`);
  return value;
}

function rankOf(row: EventHistoryInput, status: string): number {
  const known = Object.prototype.hasOwnProperty.call(EVENT_STATUS_RANK, status) ? EVENT_STATUS_RANK[status as keyof typeof EVENT_STATUS_RANK] : undefined;
  const rank = row.status_rank ?? known;
  if (rank === undefined) {
    throw new HistoryValidationError('INVALID_ROW', `status ${status} has no known rank; pass status_rank (event_id=${row.event_id})`);
  }
  if (!Number.isInteger(rank) || rank < 0 || rank > 255) {
    throw new HistoryValidationError('INVALID_ROW', `status_rank must be an integer 0..255, got ${rank}`);
  }
  return rank;
}

/**
 * Validates and normalises one input row. Done when a row is handed over (not when its
 * batch is sent) so one bad row fails its caller at once instead of poisoning a batch
 * that would then fail on every retry.
 */
export function toInsertRow(row: EventHistoryInput, now: number = Date.now()): EventInsertRow {
  const status = requireText(row, 'status');
  const schemaVersion = row.schema_version ?? null;
  if (schemaVersion !== null && (!Number.isInteger(schemaVersion) || schemaVersion < 0 || schemaVersion > 0xffffffff)) {
    throw new HistoryValidationError('INVALID_ROW', `schema_version must be a UInt32, got ${schemaVersion}`);
  }
  const errors: readonly unknown[] = row.errors ?? [];
  if (!Array.isArray(errors) || !errors.every((e): e is string => typeof e === 'string')) {
    throw new HistoryValidationError('INVALID_ROW', 'errors must be an array of strings');
  }
  return {
    event_id: requireText(row, 'event_id'),
    team_id: requireText(row, 'team_id'),
    environment: optionalText(row.environment, 'environment', 'production') ?? 'production',
    code_name: requireText(row, 'code_name'),
    dialect: optionalText(row.dialect, 'dialect', 'kafka') ?? 'kafka',
    status,
    status_rank: rankOf(row, status),
    reason_code: optionalText(row.reason_code, 'reason_code', '') ?? '',
    errors: errors.map(String),
    schema_version: schemaVersion,
    contact_id: optionalText(row.contact_id, 'contact_id', null),
    contact_email: optionalText(row.contact_email, 'contact_email', null),
    contact_phone: optionalText(row.contact_phone, 'contact_phone', null),
    visitor_id: optionalText(row.visitor_id, 'visitor_id', null),
    resolved_contact_id: optionalText(row.resolved_contact_id, 'resolved_contact_id', null),
    payload: optionalText(row.payload, 'payload', '{}') ?? '{}',
    received_at: msToClickHouse(toEpochMs(row.received_at, 'received_at')),
    recorded_at: msToClickHouse(row.recorded_at === undefined ? now : toEpochMs(row.recorded_at, 'recorded_at')),
  };
}

/** Columns read back; timestamps as epoch ms so the result does not depend on date_time_output_format. */
export const SELECT_COLUMNS = `event_id, team_id, environment, code_name, dialect, status, status_rank, reason_code,
  errors, schema_version, contact_id, contact_email, contact_phone, visitor_id, resolved_contact_id, payload,
  toUnixTimestamp64Milli(received_at) AS received_at_ms, toUnixTimestamp64Milli(recorded_at) AS recorded_at_ms`;

/** A row of SELECT_COLUMNS in JSONEachRow; 64-bit integers arrive quoted or not depending on output_format_json_quote_64bit_integers. */
export interface SelectedRow extends Omit<EventHistoryRow, 'received_at' | 'recorded_at'> {
  received_at_ms: string | number;
  recorded_at_ms: string | number;
}

export function fromSelectedRow(r: SelectedRow): { row: EventHistoryRow; receivedAtMs: number } {
  const { received_at_ms, recorded_at_ms, ...rest } = r;
  const receivedAtMs = Number(received_at_ms);
  return {
    row: {
      ...rest,
      received_at: new Date(receivedAtMs).toISOString(),
      recorded_at: new Date(Number(recorded_at_ms)).toISOString(),
    },
    receivedAtMs,
  };
}
