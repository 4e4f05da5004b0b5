import { HistoryValidationError } from './types';

/** Position after the last row of a page, in the sort order (received_at desc, event_id desc). */
export interface HistoryCursor {
  receivedAtMs: number;
  eventId: string;
}

// Opaque to clients: base64url of a small JSON object. The version field lets the
// format change without misreading cursors issued by an older build.
export function encodeCursor(c: HistoryCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, r: c.receivedAtMs, e: c.eventId }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): HistoryCursor {
  const invalid = (): HistoryValidationError => new HistoryValidationError('INVALID_CURSOR', 'cursor is not a valid history cursor');
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { v, r, e } = parsed as Record<string, unknown>;
  if (v !== 1 || typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0 || typeof e !== 'string' || e.length === 0) throw invalid();
  return { receivedAtMs: r, eventId: e };
}
