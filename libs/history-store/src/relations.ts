import { msToClickHouse, toEpochMs } from './rows';
import { HistoryValidationError, type Timestamp } from './types';

/**
 * Where a delivery the matcher planned stands before any attempt of it is recorded: a
 * delayed action whose due time is ahead is `scheduled`; one that is due, or was produced
 * at once, is `pending` (released, on its way to the dispatcher). The event history and
 * trigger tracking both use this, so they say the same thing about the same action.
 */
export function plannedDeliveryStatus(dueAt: string | null, now: number): 'scheduled' | 'pending' {
  return dueAt !== null && Date.parse(dueAt) > now ? 'scheduled' : 'pending';
}

/** One action a scenario planned for an event. */
export interface ScenarioRunActionInput {
  action_index: number;
  webhook_id: string;
  delivery_id: string | null;
  /** produced, scheduled or failed. */
  status: string;
  due_at?: Timestamp | null;
  error?: string | null;
}

/** One subscribed scenario judged for one event, as the matcher reported it. */
export interface ScenarioRunInput {
  event_id: string;
  team_id: string;
  environment?: string;
  code_name: string;
  scenario_id: string;
  scenario_name?: string;
  /** matched, scheduled, filtered, cooldown, paused, stopped, no_target, failed. */
  outcome: string;
  reason?: string;
  contact_id?: string | null;
  actions?: readonly ScenarioRunActionInput[];
  /** The event's received_at (part of the sorting key: the same for every version). */
  received_at: Timestamp;
  decided_at: Timestamp;
  recorded_at?: Timestamp;
}

export interface ScenarioRunInsertRow {
  event_id: string;
  team_id: string;
  environment: string;
  code_name: string;
  scenario_id: string;
  scenario_name: string;
  outcome: string;
  reason: string;
  contact_id: string | null;
  actions_total: number;
  actions_produced: number;
  actions_scheduled: number;
  actions_failed: number;
  delivery_ids: string[];
  actions: string;
  received_at: string;
  decided_at: string;
  recorded_at: string;
}

/** One outbound webhook attempt, as the dispatcher reported it. */
export interface WebhookAttemptInput {
  attempt_id: string;
  delivery_id: string;
  team_id: string;
  environment?: string;
  endpoint_id: string;
  event_id?: string | null;
  kind?: string;
  code_name?: string | null;
  scenario_id?: string | null;
  attempt: number;
  /** succeeded, retrying, dead, or cancelled (a scheduled action cancelled before release: attempt 0, no HTTP request). */
  outcome: string;
  http_status?: number | null;
  latency_ms: number;
  error?: string | null;
  response_snippet?: string | null;
  occurred_at?: Timestamp | null;
  delivery_created_at?: Timestamp | null;
  attempted_at: Timestamp;
  recorded_at?: Timestamp;
}

export interface WebhookAttemptInsertRow {
  attempt_id: string;
  delivery_id: string;
  team_id: string;
  environment: string;
  endpoint_id: string;
  event_id: string | null;
  kind: string;
  code_name: string | null;
  scenario_id: string | null;
  attempt: number;
  outcome: string;
  http_status: number | null;
  status_class: string;
  latency_ms: number;
  error: string | null;
  response_snippet: string | null;
  occurred_at: string | null;
  delivery_created_at: string | null;
  attempted_at: string;
  recorded_at: string;
}

function text(value: unknown, field: string, id: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new HistoryValidationError('INVALID_ROW', `${field} must be a non-empty string (${id})`);
  return value;
}

function uint(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new HistoryValidationError('INVALID_ROW', `${field} must be an integer 0..${max}, got ${String(value)}`);
  }
  return value;
}

/** `2xx`, `4xx`, … or `none` (no HTTP answer: timeout, connection refused, address refused). Same labels as the metrics. */
export function statusClassOf(status: number | null | undefined): string {
  return typeof status === 'number' && status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

const clip = (n: number): number => Math.min(n, 0xffff);

export function toScenarioRunRow(r: ScenarioRunInput, now: number = Date.now()): ScenarioRunInsertRow {
  const id = `event_id=${String(r.event_id)}`;
  const actions = r.actions ?? [];
  const ms = (v: Timestamp | null | undefined, f: string): number | null => (v === null || v === undefined ? null : toEpochMs(v, f));
  return {
    event_id: text(r.event_id, 'event_id', id),
    team_id: text(r.team_id, 'team_id', id),
    environment: r.environment || 'production',
    code_name: text(r.code_name, 'code_name', id),
    scenario_id: text(r.scenario_id, 'scenario_id', id),
    scenario_name: r.scenario_name ?? '',
    outcome: text(r.outcome, 'outcome', id),
    reason: r.reason ?? '',
    contact_id: r.contact_id ?? null,
    actions_total: clip(actions.length),
    actions_produced: clip(actions.filter((a) => a.status === 'produced').length),
    actions_scheduled: clip(actions.filter((a) => a.status === 'scheduled').length),
    actions_failed: clip(actions.filter((a) => a.status === 'failed').length),
    delivery_ids: actions.flatMap((a) => (a.delivery_id ? [a.delivery_id] : [])),
    actions: JSON.stringify(
      actions.map((a) => {
        const due = ms(a.due_at, 'due_at');
        return {
          action_index: a.action_index,
          webhook_id: a.webhook_id,
          delivery_id: a.delivery_id,
          status: a.status,
          due_at: due === null ? null : new Date(due).toISOString(),
          error: a.error ?? null,
        };
      }),
    ),
    received_at: msToClickHouse(toEpochMs(r.received_at, 'received_at')),
    decided_at: msToClickHouse(toEpochMs(r.decided_at, 'decided_at')),
    recorded_at: msToClickHouse(r.recorded_at === undefined ? now : toEpochMs(r.recorded_at, 'recorded_at')),
  };
}

export function toWebhookAttemptRow(a: WebhookAttemptInput, now: number = Date.now()): WebhookAttemptInsertRow {
  const id = `attempt_id=${String(a.attempt_id)}`;
  const optMs = (v: Timestamp | null | undefined, f: string): string | null => (v === null || v === undefined ? null : msToClickHouse(toEpochMs(v, f)));
  const status = a.http_status ?? null;
  return {
    attempt_id: text(a.attempt_id, 'attempt_id', id),
    delivery_id: text(a.delivery_id, 'delivery_id', id),
    team_id: text(a.team_id, 'team_id', id),
    environment: a.environment || 'production',
    endpoint_id: text(a.endpoint_id, 'endpoint_id', id),
    event_id: a.event_id ?? null,
    kind: a.kind ?? '',
    code_name: a.code_name ?? null,
    scenario_id: a.scenario_id ?? null,
    attempt: uint(a.attempt, 'attempt', 0xffff),
    outcome: text(a.outcome, 'outcome', id),
    http_status: status === null ? null : uint(status, 'http_status', 999),
    status_class: statusClassOf(status),
    latency_ms: uint(Math.max(0, Math.round(a.latency_ms)), 'latency_ms', 0xffffffff),
    error: a.error ?? null,
    response_snippet: a.response_snippet ?? null,
    occurred_at: optMs(a.occurred_at, 'occurred_at'),
    delivery_created_at: optMs(a.delivery_created_at, 'delivery_created_at'),
    attempted_at: msToClickHouse(toEpochMs(a.attempted_at, 'attempted_at')),
    recorded_at: msToClickHouse(a.recorded_at === undefined ? now : toEpochMs(a.recorded_at, 'recorded_at')),
  };
}

/** A scenario run as returned with an event by the history API. */
export interface ScenarioRunView {
  scenario_id: string;
  name: string;
  outcome: string;
  reason: string;
  actions: Array<{ action_index: number; webhook_id: string; delivery_id: string | null; status: string; due_at: string | null; error: string | null }>;
  /** The contact the matcher resolved (null when none). */
  contact_id: string | null;
  decided_at: string;
}

/** A delivery caused by an event, with where it stands, as returned by the history API. */
export interface DeliveryView {
  delivery_id: string;
  endpoint_id: string | null;
  kind: string | null;
  scenario_id: string | null;
  /**
   * delivered (an attempt succeeded), failed (dead: no attempt left), retrying (last
   * attempt failed, another is scheduled), scheduled (a delayed scenario action whose
   * due_at is still ahead), cancelled (a scheduled action cancelled before its
   * release: its scenario was paused, stopped or deleted; last_error says why, the
   * attempt times say when) or pending (produced, or due, and no attempt recorded yet).
   */
  status: 'delivered' | 'failed' | 'retrying' | 'scheduled' | 'cancelled' | 'pending';
  attempts: number;
  last_http_status: number | null;
  last_error: string | null;
  first_attempt_at: string | null;
  last_attempt_at: string | null;
  due_at: string | null;
}
