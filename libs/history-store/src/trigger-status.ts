// Seed 003's trigger tracking (`GET /api/v1/triggers/:id` and `…/workflow`) computed from
// one event of the history (its row, scenario runs and deliveries): the same data as
// listEventHistories, so the two can never disagree. Pure: no I/O, `now` is an input.
import type { EventHistoryWithRelations } from './queries';
import { plannedDeliveryStatus, type DeliveryView, type ScenarioRunView } from './relations';

/** queued: the matcher has not decided yet; failed: the validator rejected the event. */
export type TriggerState = 'queued' | 'processing' | 'scheduled' | 'completed' | 'failed';

/** Where one action (or subscription delivery) stands: the delivery's status, with a due scheduled action as `pending`. */
export type ActionState = DeliveryView['status'];

/**
 * Counts over everything the event caused: each scenario action and each subscription
 * delivery lands in exactly one of sent, failed, scheduled, cancelled and pending.
 */
export interface TriggerSummary {
  /** 1 when the event resolved to a contact, 0 otherwise (no_target, visitor only, not decided yet). */
  total_contacts: number;
  /** Delivered: an attempt succeeded. */
  sent: number;
  /** Dead deliveries (no attempt left) and actions the matcher could not build (template error). */
  failed: number;
  /** Subscribed scenarios that did not fire for the contact: filtered, cooldown, paused, stopped. */
  filtered: number;
  /** Delayed actions whose due time is still ahead. */
  scheduled: number;
  /** Delayed actions cancelled before release (scenario paused, stopped or deleted). */
  cancelled: number;
  /** On their way: produced or due, not attempted yet, or failed once and retrying. */
  pending: number;
}

export interface TriggerStatusView {
  id: string;
  flow_type: 'workflow';
  trigger_type: 'event';
  code_name: string;
  status: TriggerState;
  /** The event's status in the history (validated, rejected, no_target, matched, scheduled). */
  outcome: string;
  /** The contact the matcher resolved (null before it decided, and for no_target). */
  contact_id: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  summary: TriggerSummary;
  /** Validation errors of a rejected event. */
  errors?: string[];
  details_endpoint: string;
}

export interface WorkflowAction {
  action_index: number;
  webhook_id: string;
  delivery_id: string | null;
  /** What the matcher did: produced (now), scheduled (for due_at) or failed (template error). */
  planned: string;
  status: ActionState;
  attempts: number;
  last_http_status: number | null;
  last_error: string | null;
  due_at: string | null;
  /** The template error of an action the matcher could not build. */
  error?: string;
}

export interface WorkflowScenario {
  scenario_id: string;
  name: string;
  /** matched, scheduled, filtered, cooldown, paused, stopped, no_target, failed. */
  outcome: string;
  /** Why it did not fire (null when it did). */
  reason: string | null;
  decided_at: string;
  actions: WorkflowAction[];
}

/** A delivery to an endpoint subscribed to the event type, outside any scenario. */
export interface WorkflowSubscription {
  delivery_id: string;
  endpoint_id: string | null;
  status: ActionState;
  attempts: number;
  last_http_status: number | null;
  last_error: string | null;
}

export interface TriggerWorkflowView {
  id: string;
  status: TriggerState;
  scenarios: WorkflowScenario[];
  subscriptions: WorkflowSubscription[];
}

export interface TriggerTiming {
  /** Epoch ms: what "due" and "ahead" are measured against. */
  now: number;
}

/** Statuses written before the matcher decides (every decision reports a later one, `unmatched` included). */
const UNDECIDED = new Set(['accepted', 'validated']);
/** Statuses the matcher writes together with scenario runs that fired. */
const FIRED = new Set(['matched', 'scheduled']);
/** Scenario outcomes that mean "did not fire for this contact". */
const NOT_FIRED = new Set(['filtered', 'cooldown', 'paused', 'stopped']);

type Bucket = Exclude<keyof TriggerSummary, 'total_contacts' | 'filtered'>;

const BUCKET: Record<ActionState, Bucket> = {
  delivered: 'sent',
  failed: 'failed',
  cancelled: 'cancelled',
  scheduled: 'scheduled',
  pending: 'pending',
  retrying: 'pending',
};

/** A scheduled action whose due time has passed is on its way (released, or about to be). */
function stateOf(status: ActionState, dueAt: string | null, now: number): ActionState {
  return status === 'scheduled' ? plannedDeliveryStatus(dueAt, now) : status;
}

interface Item {
  state: ActionState;
  /** Last moment something happened to it (attempt or cancellation), epoch ms. */
  lastAt: number | null;
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));

function actionOf(action: ScenarioRunView['actions'][number], byId: Map<string, DeliveryView>, now: number): WorkflowAction {
  const base = { action_index: action.action_index, webhook_id: action.webhook_id, delivery_id: action.delivery_id, planned: action.status };
  const delivery = action.delivery_id ? byId.get(action.delivery_id) : undefined;
  if (action.status === 'failed' || !action.delivery_id) {
    return {
      ...base,
      status: 'failed',
      attempts: 0,
      last_http_status: null,
      last_error: null,
      due_at: null,
      error: action.error ?? 'action could not be built',
    };
  }
  const dueAt = action.due_at ?? delivery?.due_at ?? null;
  const planned: ActionState = action.status === 'scheduled' ? 'scheduled' : 'pending';
  return {
    ...base,
    status: stateOf(delivery?.status ?? planned, dueAt, now),
    attempts: delivery?.attempts ?? 0,
    last_http_status: delivery?.last_http_status ?? null,
    last_error: delivery?.last_error ?? null,
    due_at: dueAt,
  };
}

/** Deliveries that are not a scenario action: subscriptions (Relay's own notices about the event are not counted). */
function subscriptionsOf(event: EventHistoryWithRelations): DeliveryView[] {
  const actionIds = new Set(event.scenario_runs.flatMap((r) => r.actions.map((a) => a.delivery_id)).filter((id) => id !== null));
  return event.deliveries.filter((d) => !actionIds.has(d.delivery_id) && d.kind !== 'relay');
}

export function triggerWorkflow(event: EventHistoryWithRelations, timing: TriggerTiming): TriggerWorkflowView {
  return { id: event.event_id, status: triggerStatus(event, { ...timing, detailsBase: '' }).status, ...workflowParts(event, timing.now) };
}

function workflowParts(event: EventHistoryWithRelations, now: number): Pick<TriggerWorkflowView, 'scenarios' | 'subscriptions'> {
  const byId = new Map(event.deliveries.map((d) => [d.delivery_id, d]));
  return {
    scenarios: event.scenario_runs.map((run) => ({
      scenario_id: run.scenario_id,
      name: run.name,
      outcome: run.outcome,
      reason: run.reason === '' ? null : run.reason,
      decided_at: run.decided_at,
      actions: run.actions.map((a) => actionOf(a, byId, now)),
    })),
    subscriptions: subscriptionsOf(event).map((d) => ({
      delivery_id: d.delivery_id,
      endpoint_id: d.endpoint_id,
      status: stateOf(d.status, d.due_at, now),
      attempts: d.attempts,
      last_http_status: d.last_http_status,
      last_error: d.last_error,
    })),
  };
}

function itemsOf(event: EventHistoryWithRelations, now: number): Item[] {
  const byId = new Map(event.deliveries.map((d) => [d.delivery_id, d]));
  const parts = workflowParts(event, now);
  const lastOf = (id: string | null) => ms((id ? byId.get(id)?.last_attempt_at : null) ?? null);
  return [
    ...parts.scenarios.flatMap((s) => s.actions.map((a) => ({ state: a.status, lastAt: lastOf(a.delivery_id) }))),
    ...parts.subscriptions.map((d) => ({ state: d.status, lastAt: lastOf(d.delivery_id) })),
  ];
}

export interface TriggerStatusOptions extends TriggerTiming {
  /** `/triggers` for seed 003's /api/v1 callers, `/v1/triggers` for /v1 callers. */
  detailsBase: string;
}

/**
 * Seed 003's trigger status of one event:
 * - rejected by the validator → `failed` (with its errors);
 * - not decided by the matcher yet (still `validated`) → `queued`;
 * - matched or scheduled but its scenario runs not readable yet → `processing`;
 * - otherwise `processing` while anything is on its way (produced, due, retrying),
 *   else `scheduled` while a delayed action waits for its due time, else `completed`.
 */
export function triggerStatus(event: EventHistoryWithRelations, options: TriggerStatusOptions): TriggerStatusView {
  const { now } = options;
  const runs = event.scenario_runs;
  const items = itemsOf(event, now);
  const summary: TriggerSummary = { total_contacts: 0, sent: 0, failed: 0, filtered: 0, scheduled: 0, cancelled: 0, pending: 0 };
  for (const item of items) summary[BUCKET[item.state]] += 1;
  summary.filtered = runs.filter((r) => NOT_FIRED.has(r.outcome)).length;

  const rejected = event.status === 'rejected';
  // `validated` with scenario runs: how a matcher before the `unmatched` status reported a
  // found contact that fired nothing; rows written then are decided too.
  const decided = !rejected && (!UNDECIDED.has(event.status) || runs.length > 0);
  summary.total_contacts = decided && event.status !== 'no_target' ? 1 : 0;

  let status: TriggerState;
  if (rejected) status = 'failed';
  else if (!decided) status = 'queued';
  else if (runs.length === 0 && FIRED.has(event.status)) status = 'processing';
  else if (summary.pending > 0) status = 'processing';
  else if (summary.scheduled > 0) status = 'scheduled';
  else status = 'completed';

  // started_at is when the matcher decided, from its scenario runs. Decided without any
  // (nothing subscribed, or no_target): when history recorded the decision. Matched but
  // the runs not readable yet: not known yet.
  const decisionMs = Date.parse(event.recorded_at);
  const decidedTimes = runs.map((r) => Date.parse(r.decided_at));
  const startedMs = !decided ? null : decidedTimes.length > 0 ? Math.min(...decidedTimes) : FIRED.has(event.status) ? null : decisionMs;
  const lastTimes = [...decidedTimes, ...items.map((i) => i.lastAt).filter((t) => t !== null)];
  const completedMs = status === 'completed' ? (lastTimes.length > 0 ? Math.max(...lastTimes) : decisionMs) : null;
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

  return {
    id: event.event_id,
    flow_type: 'workflow',
    trigger_type: 'event',
    code_name: event.code_name,
    status,
    outcome: event.status,
    // The contact the matcher resolved (contact_id on the event row is the reference as
    // sent, e.g. an external id); rows from before resolved_contact_id: from its runs.
    contact_id: event.resolved_contact_id ?? runs.find((r) => r.contact_id)?.contact_id ?? null,
    created_at: event.received_at,
    started_at: iso(startedMs),
    completed_at: iso(completedMs),
    summary,
    ...(rejected ? { errors: event.errors } : {}),
    details_endpoint: `${options.detailsBase}/${event.event_id}/workflow`,
  };
}
