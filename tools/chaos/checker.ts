import type { LedgerEntry } from './ledger';
import type { ReceivedRequest } from './receiver';

/** A webhook every (non-poison) event of a row owes: to this endpoint, of this delivery kind. */
export interface OwedDelivery {
  /** Receiver path of the endpoint. */
  path: string;
  endpointId: string;
  kind: 'subscription' | 'scenario_action';
  /**
   * Events acknowledged at or after this time (epoch ms) may owe nothing here: the endpoint
   * was disabled (410 Gone), and a stage applies the endpoint's state as of when it handles
   * the event, so a delivery may never have been created. A delivery that *was* created
   * must still end delivered or `failed` with a reason.
   */
  skippableFrom?: number;
}

/** What the history API returns of one event (the fields the checker reads). */
export interface HistoryEvent {
  event_id: string;
  status: string;
  deliveries?: { endpoint_id: string | null; kind: string; status: string; last_error: string | null }[];
}

export interface Verdict {
  acked: number;
  /** Acknowledged, yet neither in history nor in a dead-letter topic. */
  lost: number;
  /** A webhook owed that the receiver never answered 2xx, and not `failed` with a reason in history. */
  undelivered: number;
  /** Extra deliveries of one (event, endpoint, kind) under a webhook-id already different from the first. */
  foreignDupes: number;
  /** Same webhook-id delivered again (allowed: receivers deduplicate on it), counted for the report. */
  sameIdDupes: number;
  /** A few ids per kind of problem, for the report. */
  examples: { lost: string[]; undelivered: string[]; foreignDupes: string[] };
}

/**
 * The checker: compares the ledger of one row with history, the dead-letter topic and the
 * receiver log. Pure, so its counting rules have their own unit spec.
 */
export function judge(input: {
  entries: LedgerEntry[];
  history: Map<string, HistoryEvent>;
  /** `<partition>:<offset>` of records of the ingested topic found in the DLQ. */
  deadLettered: Set<string>;
  requests: ReceivedRequest[];
  owed: OwedDelivery[];
}): Verdict {
  const verdict: Verdict = {
    acked: input.entries.length,
    lost: 0,
    undelivered: 0,
    foreignDupes: 0,
    sameIdDupes: 0,
    examples: { lost: [], undelivered: [], foreignDupes: [] },
  };
  const note = (list: string[], id: string) => {
    if (list.length < 3) list.push(id);
  };
  const paths = new Set(input.owed.map((o) => o.path));
  // (path, event, kind) → webhook-ids answered, and whether one was answered 2xx.
  const seen = new Map<string, { ids: string[]; ok: boolean }>();
  for (const r of input.requests) {
    if (!paths.has(r.path)) continue;
    for (const item of r.items) {
      const key = `${r.path}|${item.eventId}|${item.kind}`;
      let s = seen.get(key);
      if (!s) seen.set(key, (s = { ids: [], ok: false }));
      s.ids.push(r.webhookId);
      if (r.status >= 200 && r.status < 300) s.ok = true;
    }
  }
  const wanted = new Set(input.entries.map((e) => e.eventId));
  for (const [key, s] of seen) {
    if (!wanted.has(key.split('|')[1] ?? '')) continue;
    const distinct = new Set(s.ids).size;
    verdict.foreignDupes += distinct - 1;
    verdict.sameIdDupes += s.ids.length - distinct;
    if (distinct > 1) note(verdict.examples.foreignDupes, key);
  }
  for (const entry of input.entries) {
    const inDlq = entry.offset !== undefined && input.deadLettered.has(`${entry.partition}:${entry.offset}`);
    const row = input.history.get(entry.eventId);
    if (!row && !inDlq) {
      verdict.lost++;
      note(verdict.examples.lost, entry.eventId);
    }
    if (!entry.owesWebhooks) continue;
    for (const owed of input.owed) {
      if (seen.get(`${owed.path}|${entry.eventId}|${owed.kind}`)?.ok) continue;
      const failedWithReason = row?.deliveries?.some(
        (d) => d.endpoint_id === owed.endpointId && d.kind === owed.kind && d.status === 'failed' && !!d.last_error,
      );
      if (failedWithReason) continue;
      const created = row?.deliveries?.some((d) => d.endpoint_id === owed.endpointId && d.kind === owed.kind);
      const attempted = seen.has(`${owed.path}|${entry.eventId}|${owed.kind}`);
      if (owed.skippableFrom !== undefined && entry.ackedAt >= owed.skippableFrom && !created && !attempted) continue;
      verdict.undelivered++;
      note(verdict.examples.undelivered, `${entry.eventId}@${owed.path}/${owed.kind}`);
    }
  }
  return verdict;
}

/** Per contact, events must arrive in the order they were acknowledged: returns the number of inversions seen at one endpoint. */
export function orderInversions(entries: LedgerEntry[], requests: ReceivedRequest[], path: string, kind: string): number {
  const byId = new Map(entries.map((e) => [e.eventId, e]));
  const last = new Map<number, number>();
  let inversions = 0;
  for (const r of requests) {
    if (r.path !== path || r.status < 200 || r.status >= 300) continue;
    for (const item of r.items) {
      const e = item.kind === kind ? byId.get(item.eventId) : undefined;
      if (!e) continue;
      const prev = last.get(e.contact);
      if (prev !== undefined && e.seq < prev) inversions++;
      else last.set(e.contact, e.seq);
    }
  }
  return inversions;
}
