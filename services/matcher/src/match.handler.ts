import type { EventEnvelope, EventOutcome, WebhookDelivery } from '@relay/contracts';
import { dlq, ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';
import {
  claimKey,
  judge,
  planActions,
  type CompiledScenario,
  type Contact,
  type ContactRefInput,
  type ContactResolution,
  type CooldownClaim,
  type JsonMap,
  type MatchEvent,
  type MatchTx,
  type PlannedAction,
  type ScenarioDetail,
  type TriggerRecord,
} from '@relay/scenarios';

export interface MatchDeps {
  scenarios: { forEvent(teamId: string, codeName: string): Promise<CompiledScenario[]> };
  contacts: {
    resolveMany(refs: { team_id: string; ref: ContactRefInput }[]): Promise<ContactResolution[]>;
    put(teamId: string, contact: Contact): void;
  };
  store: { transact<T>(work: (tx: MatchTx) => Promise<T>): Promise<T> };
  /** Multiplies action delays (tests); 1 in production. */
  delayScale: number;
  now?: () => number;
  /** Metrics hook: one call per event with its outcome, and per scenario verdict. */
  count?: (event: TriggerRecord['outcome'], scenarios: ScenarioDetail[]) => void;
}

interface Item {
  /** Position in the handled batch. */
  index: number;
  envelope: EventEnvelope;
  key: string | null;
  event: MatchEvent;
  resolution: ContactResolution;
  contact: Contact | null;
  scenarios: CompiledScenario[];
  details: ScenarioDetail[];
  /** Scenarios that passed status, tags and filter and wait for their cooldown claim. */
  candidates: CompiledScenario[];
}

function parseObject(text: string | null, field: string): JsonMap {
  if (text === null) return {};
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${field} is not a JSON object`);
  return value as JsonMap;
}

function toMatchEvent(e: EventEnvelope): MatchEvent {
  const contactCustomData = e.contact?.custom_data_json ? parseObject(e.contact.custom_data_json, 'contact.custom_data_json') : null;
  return {
    event_id: e.event_id,
    team_id: e.team_id,
    environment: e.environment,
    code_name: e.code_name,
    received_at: e.received_at,
    run_at: Math.max(e.received_at, e.trigger_at ?? 0),
    metaData: parseObject(e.meta_data_json, 'meta_data_json'),
    customData: parseObject(e.custom_data_json, 'custom_data_json'),
    contactCustomData,
    variables: parseObject(e.variables_json ?? null, 'variables_json'),
  };
}

/**
 * The matcher stage. Per batch (one partition, so events of one target key stay in order):
 * resolve every target in one query, merge the events' contact data into the contacts,
 * judge every subscribed scenario in memory, claim cooldowns in PostgreSQL, store delayed
 * actions and trigger records — all in one transaction — and return the immediate
 * deliveries and the history outcomes as outputs, which the stage runner produces with
 * acks=all before committing the offsets.
 *
 * Re-processing a batch after a crash is safe: cooldown claims by the same event are
 * granted again, scheduled actions and trigger rows are keyed by stable ids (ON CONFLICT
 * DO NOTHING), and deliveries carry deterministic delivery_ids.
 */
export function createMatchHandler(deps: MatchDeps) {
  const now = deps.now ?? Date.now;
  return async (messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> => {
    const startedAt = now();
    const outcomes: (MessageOutcome | null)[] = messages.map(() => null);
    const parsed: { index: number; envelope: EventEnvelope; key: string | null; event: MatchEvent }[] = [];
    messages.forEach((m, index) => {
      try {
        parsed.push({ index, envelope: m.value, key: m.key ? m.key.toString() : null, event: toMatchEvent(m.value) });
      } catch (error) {
        // The validator checked these slots; a broken one here is a producer bypassing it.
        outcomes[index] = dlq('INVALID_ENVELOPE', (error as Error).message);
      }
    });

    const resolutions = await deps.contacts.resolveMany(
      parsed.map((p) => ({
        team_id: p.envelope.team_id,
        ref: {
          id: p.envelope.contact?.id ?? null,
          external_id: p.envelope.contact?.external_id ?? null,
          email: p.envelope.contact?.email ?? null,
          phone: p.envelope.contact?.phone ?? null,
        },
      })),
    );

    // Contact data carried by the events, merged in event order into an in-memory copy of
    // the contact so that later events of the batch (and the filters) see earlier ones.
    const working = new Map<string, Contact>();
    const merges = new Map<string, { team_id: string; contact_id: string; custom_data: JsonMap; name: string | null }>();
    const items: Item[] = [];
    for (const [i, p] of parsed.entries()) {
      const resolution = resolutions[i] as ContactResolution;
      let contact = resolution.contact;
      if (contact) {
        const wk = `${p.envelope.team_id}\u0000${contact.id}`;
        contact = working.get(wk) ?? contact;
        const attributes = p.envelope.contact?.attributes_json ? parseObjectSafe(p.envelope.contact.attributes_json) : {};
        const data = { ...attributes, ...(p.event.contactCustomData ?? {}) };
        const name = p.envelope.contact?.name ?? null;
        if (Object.keys(data).length > 0 || (name !== null && name !== contact.name)) {
          contact = { ...contact, custom_data: { ...contact.custom_data, ...data }, name: name ?? contact.name };
          const m = merges.get(wk) ?? { team_id: p.envelope.team_id, contact_id: contact.id, custom_data: {}, name: null };
          merges.set(wk, { ...m, custom_data: { ...m.custom_data, ...data }, name: name ?? m.name });
        }
        working.set(wk, contact);
      }
      const scenarios = await deps.scenarios.forEvent(p.envelope.team_id, p.envelope.code_name);
      items.push({ ...p, resolution, contact, scenarios, details: [], candidates: [] });
    }

    for (const item of items) {
      for (const compiled of item.scenarios) {
        const s = compiled.scenario;
        if (!item.contact) {
          item.details.push({ scenario_id: s.id, name: s.name, outcome: 'no_target', actions: [] });
          continue;
        }
        const verdict = judge(compiled, item.event, item.contact);
        switch (verdict.outcome) {
          case 'candidate':
            item.candidates.push(compiled);
            break;
          case 'paused':
          case 'stopped':
            item.details.push({ scenario_id: s.id, name: s.name, outcome: verdict.outcome, actions: [] });
            break;
          case 'filtered':
            item.details.push({ scenario_id: s.id, name: s.name, outcome: 'filtered', reason: `${verdict.reason}: ${verdict.detail}`, actions: [] });
            break;
        }
      }
    }

    const outputs = await deps.store.transact(async (tx) => {
      await tx.mergeContacts([...merges.values()]);
      const granted = await claimInWaves(tx, items);
      const scheduled: { delivery: WebhookDelivery; due_at: number }[] = [];
      const records: TriggerRecord[] = [];
      const perItem: { item: Item; deliveries: WebhookDelivery[]; record: TriggerRecord }[] = [];
      for (const item of items) {
        const deliveries: WebhookDelivery[] = [];
        let failed = 0;
        for (const compiled of item.candidates) {
          const s = compiled.scenario;
          const contact = item.contact as Contact;
          if (s.cooldown_ms !== null && !granted.has(`${item.event.event_id}\u0000${claimKey(s.id, contact.id)}`)) {
            item.details.push({ scenario_id: s.id, name: s.name, outcome: 'cooldown', reason: `fired within ${s.cooldown}`, actions: [] });
            continue;
          }
          const { planned, failed: errors } = planActions(compiled, item.event, contact, { now: now(), delayScale: deps.delayScale });
          failed += errors.length;
          const actions = [
            ...planned.map((a: PlannedAction) => ({
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
          for (const a of planned) {
            if (a.due_at === null) deliveries.push(a.delivery);
            else scheduled.push({ delivery: a.delivery, due_at: a.due_at });
          }
          const immediate = planned.some((a) => a.due_at === null);
          const outcome = planned.length === 0 ? 'failed' : immediate ? 'matched' : 'scheduled';
          item.details.push({ scenario_id: s.id, name: s.name, outcome, actions });
        }
        const scheduledCount = item.details.reduce((n, d) => n + d.actions.filter((a) => a.status === 'scheduled').length, 0);
        const record: TriggerRecord = {
          id: item.event.event_id,
          team_id: item.event.team_id,
          code_name: item.event.code_name,
          outcome: !item.contact ? 'no_target' : deliveries.length ? 'matched' : scheduledCount ? 'scheduled' : 'unmatched',
          contact_id: item.contact?.id ?? null,
          total_contacts: item.contact ? 1 : 0,
          sent: deliveries.length,
          failed,
          filtered: item.details.filter((d) => ['filtered', 'cooldown', 'paused', 'stopped'].includes(d.outcome)).length,
          scheduled: scheduledCount,
          details: {
            contact: item.contact
              ? { id: item.contact.id, matched_by: item.resolution.matchedBy, conflicts: item.resolution.conflicts }
              : null,
            scenarios: item.details,
          },
          received_at: item.event.received_at,
          started_at: startedAt,
          completed_at: now(),
        };
        records.push(record);
        perItem.push({ item, deliveries, record });
      }
      await tx.schedule(scheduled);
      await tx.recordTriggers(records);
      return perItem;
    });

    for (const [wk, contact] of working) deps.contacts.put(wk.slice(0, wk.indexOf('\u0000')), contact);

    for (const { item, deliveries, record } of outputs) {
      deps.count?.(record.outcome, item.details);
      const out: OutputRecord[] = deliveries.map((d) => ({ topic: 'deliveries', key: d.endpoint_id, value: d }));
      // An event whose contact was found but fired nothing still reports its scenario
      // verdicts (filtered, cooldown, …) as `validated`, so history's scenario_runs hold
      // every judged scenario and fire rates can be computed; without scenarios there is
      // nothing to add to the validator's row.
      const status =
        record.outcome === 'no_target'
          ? 'no_target'
          : record.scheduled > 0
            ? 'scheduled'
            : record.sent > 0
              ? 'matched'
              : item.details.length > 0
                ? 'validated'
                : null;
      if (status) {
        const value: EventOutcome = {
          event_id: record.id,
          team_id: record.team_id,
          status,
          reason_code: status === 'no_target' ? (item.envelope.contact ? 'CONTACT_NOT_FOUND' : 'NO_CONTACT_IN_EVENT') : '',
          contact_id: record.contact_id,
          scenarios_fired: item.details.filter((d) => d.outcome === 'matched' || d.outcome === 'scheduled').length,
          deliveries: record.sent,
          scheduled: record.scheduled,
          decided_at: record.completed_at,
          envelope_json: JSON.stringify(item.envelope),
          scenario_runs: item.details.map((d) => ({
            scenario_id: d.scenario_id,
            name: d.name,
            outcome: d.outcome,
            reason: d.reason ?? '',
            actions: d.actions.map((a) => ({
              action_index: a.action_index,
              webhook_id: a.webhook_id,
              delivery_id: a.delivery_id,
              status: a.status,
              due_at: a.due_at ? Date.parse(a.due_at) : null,
              error: a.error ?? null,
            })),
          })),
        };
        out.push({ topic: 'outcomes', key: item.key, value });
      }
      outcomes[item.index] = ok(...out);
    }
    return outcomes as MessageOutcome[];
  };
}

function parseObjectSafe(text: string): JsonMap {
  try {
    return parseObject(text, 'attributes_json');
  } catch {
    return {};
  }
}

/**
 * Cooldown claims for the batch. One statement cannot claim the same (scenario, contact)
 * row twice, so claims go in waves: the first event of each pair, then the next, … An
 * event whose earlier pair-mate was granted less than the cooldown before it is decided
 * in memory (it would be refused anyway), which keeps 50 simultaneous events of one
 * contact at one statement.
 */
async function claimInWaves(tx: MatchTx, items: Item[]): Promise<Set<string>> {
  const granted = new Set<string>();
  const queues = new Map<string, { item: Item; compiled: CompiledScenario }[]>();
  for (const item of items) {
    for (const compiled of item.candidates) {
      if (compiled.scenario.cooldown_ms === null || !item.contact) continue;
      const key = claimKey(compiled.scenario.id, item.contact.id);
      queues.set(key, [...(queues.get(key) ?? []), { item, compiled }]);
    }
  }
  const lastGranted = new Map<string, number>();
  for (;;) {
    const wave: (CooldownClaim & { key: string })[] = [];
    for (const [key, queue] of queues) {
      while (queue.length > 0) {
        const next = queue[0] as { item: Item; compiled: CompiledScenario };
        const last = lastGranted.get(key);
        if (last !== undefined && next.item.event.received_at - last < (next.compiled.scenario.cooldown_ms as number)) {
          queue.shift(); // refused in memory: an earlier event of this batch fired within the cooldown
          continue;
        }
        break;
      }
      const head = queue.shift();
      if (!head) continue;
      wave.push({
        key,
        scenario_id: head.compiled.scenario.id,
        contact_id: (head.item.contact as Contact).id,
        fired_at: head.item.event.received_at,
        event_id: head.item.event.event_id,
      });
    }
    if (wave.length === 0) break;
    const ok = await tx.claimCooldowns(wave);
    for (const c of wave) {
      if (!ok.has(c.key)) continue;
      granted.add(`${c.event_id}\u0000${c.key}`);
      lastGranted.set(c.key, c.fired_at);
    }
  }
  return granted;
}
