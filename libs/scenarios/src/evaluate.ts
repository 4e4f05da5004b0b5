import type { EventEnvelope, WebhookDelivery } from '@relay/contracts';
import { durationMs } from './duration';
import { filterHolds } from './filter';
import { deliveryId, spreadFraction } from './ids';
import type { ActionDetail, ScenarioDetail } from './match-store';
import type { Contact, JsonMap, Scenario, TagFilter } from './model';
import { compileTemplate, renderPayload, type CompiledTemplate } from './template';

/** A validated event as the matcher sees it (slots parsed). */
export interface MatchEvent {
  event_id: string;
  team_id: string;
  environment: string;
  code_name: string;
  received_at: number;
  /** When the event's scenarios run: received_at, or a later trigger_at (seed 003). */
  run_at: number;
  metaData: JsonMap;
  customData: JsonMap;
  /** The event's contact.customData slot (already merged into the contact by the matcher). */
  contactCustomData: JsonMap | null;
  /** Template variables sent with the event (seed 003); merged over the scenario's own. */
  variables: JsonMap;
}

/** A JSON-object slot of the envelope (null → {}); throws when it is anything else. */
export function parseJsonObject(text: string | null, field: string): JsonMap {
  if (text === null) return {};
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${field} is not a JSON object`);
  return value as JsonMap;
}

/** The envelope as filters and templates see it (slots parsed); throws on a broken slot. */
export function matchEventOf(e: EventEnvelope): MatchEvent {
  const contactCustomData = e.contact?.custom_data_json ? parseJsonObject(e.contact.custom_data_json, 'contact.custom_data_json') : null;
  return {
    event_id: e.event_id,
    team_id: e.team_id,
    environment: e.environment,
    code_name: e.code_name,
    received_at: e.received_at,
    run_at: Math.max(e.received_at, e.trigger_at ?? 0),
    metaData: parseJsonObject(e.meta_data_json, 'meta_data_json'),
    customData: parseJsonObject(e.custom_data_json, 'custom_data_json'),
    contactCustomData,
    variables: parseJsonObject(e.variables_json ?? null, 'variables_json'),
  };
}

/** A scenario prepared once per version: templates compiled. */
export interface CompiledScenario {
  scenario: Scenario;
  templates: (CompiledTemplate | null)[];
}

export function compileScenario(scenario: Scenario): CompiledScenario {
  return { scenario, templates: scenario.actions.map((a) => (a.template === null ? null : compileTemplate(a.template))) };
}

/**
 * Why a scenario did or did not fire for one event. `cooldown` is decided later by the
 * store (it needs PostgreSQL); everything else here is pure.
 */
export type Verdict = { outcome: 'candidate' } | { outcome: 'paused' | 'stopped' } | { outcome: 'filtered'; reason: 'tags' | 'filter'; detail: string };

export function tagsHold(filter: TagFilter, tags: readonly string[]): string | null {
  const has = new Set(tags);
  if (filter.all?.length && !filter.all.every((t) => has.has(t))) return `contact lacks one of all=[${filter.all.join(', ')}]`;
  if (filter.any?.length && !filter.any.some((t) => has.has(t))) return `contact has none of any=[${filter.any.join(', ')}]`;
  const banned = filter.none?.find((t) => has.has(t));
  if (banned !== undefined) return `contact has excluded tag ${banned}`;
  return null;
}

/** The data filters and templates see. */
export function evaluationData(event: MatchEvent, contact: Contact): { event: JsonMap; contact: JsonMap } {
  return {
    event: {
      event_id: event.event_id,
      code_name: event.code_name,
      environment: event.environment,
      received_at: new Date(event.received_at).toISOString(),
      metaData: event.metaData,
      customData: event.customData,
    },
    contact: {
      id: contact.id,
      external_id: contact.external_id,
      email: contact.email,
      phone: contact.phone,
      name: contact.name,
      tags: contact.tags,
      custom_data: contact.custom_data,
    },
  };
}

export function judge(compiled: CompiledScenario, event: MatchEvent, contact: Contact): Verdict {
  const s = compiled.scenario;
  if (s.status !== 'active') return { outcome: s.status };
  const tagReason = tagsHold(s.tags, contact.tags);
  if (tagReason !== null) return { outcome: 'filtered', reason: 'tags', detail: tagReason };
  if (s.filter !== null) {
    let holds: boolean;
    try {
      holds = filterHolds(s.filter, evaluationData(event, contact));
    } catch (error) {
      return { outcome: 'filtered', reason: 'filter', detail: `filter failed: ${(error as Error).message}` };
    }
    if (!holds) return { outcome: 'filtered', reason: 'filter', detail: 'filter did not hold' };
  }
  return { outcome: 'candidate' };
}

export interface PlannedAction {
  action_index: number;
  /** Null: deliver now. Otherwise epoch ms when the scheduler releases it. */
  due_at: number | null;
  delivery: WebhookDelivery;
}

export interface PlanOptions {
  now: number;
  /** Multiplies every action delay (tests shorten P2D to seconds); 1 in production. */
  delayScale: number;
}

/** The deliveries of a fired scenario, in action order. A template that throws fails its action alone. */
export function planActions(
  compiled: CompiledScenario,
  event: MatchEvent,
  contact: Contact,
  options: PlanOptions,
): { planned: PlannedAction[]; failed: { action_index: number; error: string }[] } {
  const s = compiled.scenario;
  const data = evaluationData(event, contact);
  const variables = { ...s.variables, ...event.variables };
  const context = { ...variables, ...data, variables };
  const contactJson = JSON.stringify(data.contact);
  const planned: PlannedAction[] = [];
  const failed: { action_index: number; error: string }[] = [];
  s.actions.forEach((action, index) => {
    let payload: string;
    try {
      payload = renderPayload(compiled.templates[index] ?? null, context);
    } catch (error) {
      failed.push({ action_index: index, error: (error as Error).message });
      return;
    }
    let dueAt: number | null = null;
    if (action.delay !== null) {
      const min = durationMs(action.delay) ?? 0;
      const max = action.delay_max === null ? min : (durationMs(action.delay_max) ?? min);
      const delay = min + Math.floor(spreadFraction(s.id, contact.id, index) * (max - min));
      // Anchored on the event's time, not the processing time: a re-processed event lands
      // on the same due time, and matcher lag does not push actions later.
      dueAt = event.run_at + Math.round(delay * options.delayScale);
    } else if (event.run_at > event.received_at) {
      dueAt = event.run_at; // trigger_at in the future: the whole run waits for it
    }
    planned.push({
      action_index: index,
      due_at: dueAt,
      delivery: {
        delivery_id: deliveryId(event.event_id, s.id, index, event.received_at),
        team_id: event.team_id,
        environment: event.environment,
        endpoint_id: action.webhook_id,
        kind: 'scenario_action',
        action: event.code_name,
        event_id: event.event_id,
        code_name: event.code_name,
        scenario_id: s.id,
        action_index: index,
        contact_json: contactJson,
        payload_json: payload,
        occurred_at: event.received_at,
        created_at: options.now,
      },
    });
  });
  return { planned, failed };
}

/** A scenario's verdict before cooldowns: the ones that did not fire, and the candidates. */
export interface Judgement {
  details: ScenarioDetail[];
  /** Passed status, tags and filter; fire unless a cooldown holds. */
  candidates: CompiledScenario[];
}

/**
 * Judges every subscribed scenario for one event (status, tags, filter) — pure. The
 * matcher then claims cooldowns in PostgreSQL; the dry run only reads them.
 */
export function judgeEvent(scenarios: readonly CompiledScenario[], event: MatchEvent, contact: Contact | null): Judgement {
  const details: ScenarioDetail[] = [];
  const candidates: CompiledScenario[] = [];
  for (const compiled of scenarios) {
    const s = compiled.scenario;
    if (!contact) {
      details.push({ scenario_id: s.id, name: s.name, outcome: 'no_target', actions: [] });
      continue;
    }
    const verdict = judge(compiled, event, contact);
    switch (verdict.outcome) {
      case 'candidate':
        candidates.push(compiled);
        break;
      case 'paused':
      case 'stopped':
        details.push({ scenario_id: s.id, name: s.name, outcome: verdict.outcome, actions: [] });
        break;
      case 'filtered':
        details.push({ scenario_id: s.id, name: s.name, outcome: 'filtered', reason: `${verdict.reason}: ${verdict.detail}`, actions: [] });
        break;
    }
  }
  return { details, candidates };
}

/** The detail of a candidate refused by its cooldown. */
export function cooldownDetail(s: Scenario): ScenarioDetail {
  return { scenario_id: s.id, name: s.name, outcome: 'cooldown', reason: `fired within ${s.cooldown}`, actions: [] };
}

/**
 * A candidate that fires: its planned deliveries (now or scheduled) and its trigger
 * detail, in action order. A template that throws fails its action alone.
 */
export function fireScenario(
  compiled: CompiledScenario,
  event: MatchEvent,
  contact: Contact,
  options: PlanOptions,
): { detail: ScenarioDetail; planned: PlannedAction[]; failed: number } {
  const s = compiled.scenario;
  const { planned, failed: errors } = planActions(compiled, event, contact, options);
  const actions: ActionDetail[] = [
    ...planned.map((a) => ({
      action_index: a.action_index,
      webhook_id: a.delivery.endpoint_id,
      delivery_id: a.delivery.delivery_id,
      status: a.due_at === null ? ('produced' as const) : ('scheduled' as const),
      ...(a.due_at === null ? {} : { due_at: new Date(a.due_at).toISOString() }),
    })),
    ...errors.map((e) => ({
      action_index: e.action_index,
      webhook_id: s.actions[e.action_index]?.webhook_id ?? '',
      delivery_id: null,
      status: 'failed' as const,
      error: e.error,
    })),
  ].sort((a, b) => a.action_index - b.action_index);
  const immediate = planned.some((a) => a.due_at === null);
  const outcome = planned.length === 0 ? 'failed' : immediate ? 'matched' : 'scheduled';
  return { detail: { scenario_id: s.id, name: s.name, outcome, actions }, planned, failed: errors.length };
}
