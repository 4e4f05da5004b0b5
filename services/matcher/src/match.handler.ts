import { v7 as uuidv7 } from 'uuid';
import type { EventEnvelope, EventOutcome, WebhookDelivery } from '@relay/contracts';
import { NO_CHANGES, type TeamSeq } from '@relay/control-plane';
import { subscriptionDelivery, type ContactSnapshot } from '@relay/webhooks';
import { dlq, ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';
import {
  claimKey,
  contactFromEvent,
  cooldownDetail,
  fireScenario,
  judgeEvent,
  matchEventOf,
  parseJsonObject,
  resolveAmong,
  type CompiledScenario,
  type Contact,
  type ContactRefInput,
  type ContactResolution,
  type CooldownClaim,
  type IdentifierKind,
  type JsonMap,
  type MatchEvent,
  type MatchTx,
  type ScenarioDetail,
  type TriggerRecord,
} from '@relay/scenarios';

export interface MatchDeps {
  /** Teams' current change sequences, read once per batch after it was fetched. */
  changes: { currentMany(teamIds: Iterable<string>): Promise<Map<string, TeamSeq>> };
  scenarios: { forEvent(teamId: string, codeName: string, seq: number): Promise<CompiledScenario[]> };
  contacts: {
    resolveMany(refs: { team_id: string; ref: ContactRefInput }[], contactSeqs: ReadonlyMap<string, number>): Promise<ContactResolution[]>;
    put(teamId: string, contact: Contact, contactSeq: number): void;
  };
  store: { transact<T>(work: (tx: MatchTx) => Promise<T>): Promise<T> };
  /**
   * Subscription fan-out (seed 004): the endpoints subscribed to an event type, brought
   * up to the batch's team sequences before use (EndpointDirectory).
   */
  subscriptions: {
    ensure(teamIds: Iterable<string>, known: ReadonlyMap<string, { seq: number }>): Promise<void>;
    subscribers(teamId: string, environment: string, event: string): readonly { id: string }[];
  };
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
  /** The contact was created by this event (Sendmator user_info). */
  created: boolean;
  scenarios: CompiledScenario[];
  details: ScenarioDetail[];
  /** Scenarios that passed status, tags and filter and wait for their cooldown claim. */
  candidates: CompiledScenario[];
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
        parsed.push({ index, envelope: m.value, key: m.key ? m.key.toString() : null, event: matchEventOf(m.value) });
      } catch (error) {
        // The validator checked these slots; a broken one here is a producer bypassing it.
        outcomes[index] = dlq('INVALID_ENVELOPE', (error as Error).message);
      }
    });

    // Read-your-writes: every scenario or contact change answered before these events were
    // accepted is numbered at most the sequences read here, after the batch was fetched;
    // caches older than them reload (see ScenarioCache, ContactResolver).
    const seqs = await deps.changes.currentMany(parsed.map((p) => p.envelope.team_id));
    const seqOf = (teamId: string) => seqs.get(teamId) ?? NO_CHANGES;
    // Only reads when a team changed since its copy was loaded.
    await deps.subscriptions.ensure(
      parsed.map((p) => p.envelope.team_id),
      seqs,
    );
    const contactSeqs = new Map([...seqs].map(([team, s]) => [team, s.contactSeq]));
    const resolutions = await deps.contacts.resolveMany(
      parsed.map((p) => ({ team_id: p.envelope.team_id, ref: refOf(p.envelope) })),
      contactSeqs,
    );

    // Contact data carried by the events, merged in event order into an in-memory copy of
    // the contact so that later events of the batch (and the filters) see earlier ones.
    const working = new Map<string, Contact>();
    const merges = new Map<string, { team_id: string; contact_id: string; custom_data: JsonMap; name: string | null }>();
    // Contacts created by this batch (Sendmator user_info naming nobody known): a later
    // event of the batch naming the same person resolves to the one created here.
    const created: { team_id: string; contact: Contact }[] = [];
    const items: Item[] = [];
    for (const [i, p] of parsed.entries()) {
      let resolution = resolutions[i] as ContactResolution;
      let contact = resolution.contact;
      const teamId = p.envelope.team_id;
      if (!contact && created.length > 0) {
        const mine = created.filter((c) => c.team_id === teamId).map((c) => c.contact);
        const found = resolveAmong(refOf(p.envelope), (kind: IdentifierKind, value: string) =>
          mine.find((c) => c[kind] === value || (kind === 'id' && c.external_id === value)),
        );
        if (found.contact) {
          resolution = found;
          contact = found.contact;
        }
      }
      let fresh = false;
      if (!contact) {
        contact = contactFromEvent(p.envelope, uuidv7(), p.envelope.received_at);
        if (contact) {
          fresh = true;
          created.push({ team_id: teamId, contact });
          resolution = { contact, matchedBy: null, conflicts: [] };
        }
      }
      if (contact) {
        const wk = `${teamId}\u0000${contact.id}`;
        contact = working.get(wk) ?? contact;
        const attributes = p.envelope.contact?.attributes_json ? parseObjectSafe(p.envelope.contact.attributes_json) : {};
        const data = { ...attributes, ...(p.event.contactCustomData ?? {}) };
        const name = p.envelope.contact?.name ?? null;
        if (!fresh && (Object.keys(data).length > 0 || (name !== null && name !== contact.name))) {
          contact = { ...contact, custom_data: { ...contact.custom_data, ...data }, name: name ?? contact.name };
          const m = merges.get(wk) ?? { team_id: teamId, contact_id: contact.id, custom_data: {}, name: null };
          merges.set(wk, { ...m, custom_data: { ...m.custom_data, ...data }, name: name ?? m.name });
        } else if (fresh && p.event.contactCustomData) {
          // Written with the contact's final state of the batch (see createContacts below).
          contact = { ...contact, custom_data: { ...contact.custom_data, ...p.event.contactCustomData } };
        }
        working.set(wk, contact);
      }
      const scenarios = await deps.scenarios.forEvent(teamId, p.envelope.code_name, seqOf(teamId).seq);
      items.push({ ...p, resolution, contact, scenarios, created: fresh, details: [], candidates: [] });
    }

    for (const item of items) {
      const { details, candidates } = judgeEvent(item.scenarios, item.event, item.contact);
      item.details.push(...details);
      item.candidates.push(...candidates);
    }

    const outputs = await deps.store.transact(async (tx) => {
      // Created contacts must reflect the batch's later merges too: write their final state.
      const inserted = await tx.createContacts(
        created.map((c) => ({ team_id: c.team_id, contact: working.get(`${c.team_id}\u0000${c.contact.id}`) ?? c.contact })),
      );
      if (inserted < created.length) {
        // Another writer (the API, another matcher) created one of these people meanwhile:
        // roll back and let the stage runner retry the batch, which will resolve them.
        throw new Error(`contact created concurrently (${created.length - inserted} of ${created.length}); retrying the batch`);
      }
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
            item.details.push(cooldownDetail(s));
            continue;
          }
          const fired = fireScenario(compiled, item.event, contact, { now: now(), delayScale: deps.delayScale });
          failed += fired.failed;
          for (const a of fired.planned) {
            if (a.due_at === null) deliveries.push(a.delivery);
            else scheduled.push({ delivery: a.delivery, due_at: a.due_at });
          }
          item.details.push(fired.detail);
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
              ? {
                  id: item.contact.id,
                  matched_by: item.resolution.matchedBy,
                  conflicts: item.resolution.conflicts,
                  ...(item.created ? { created: true } : {}),
                }
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

    for (const [wk, contact] of working) {
      const teamId = wk.slice(0, wk.indexOf('\u0000'));
      deps.contacts.put(teamId, contact, seqOf(teamId).contactSeq);
    }

    for (const { item, deliveries, record } of outputs) {
      deps.count?.(record.outcome, item.details);
      const out: OutputRecord[] = deliveries.map((d) => ({ topic: 'deliveries', key: d.endpoint_id, value: d }));
      // Subscriptions get the event for the contact resolved here, as it stands after
      // this event's own merges (keyed by endpoint: each endpoint's lane keeps its order).
      const e = item.envelope;
      const snapshot = snapshotOf(item);
      for (const endpoint of deps.subscriptions.subscribers(e.team_id, e.environment, e.code_name)) {
        out.push({ topic: 'deliveries', key: endpoint.id, value: subscriptionDelivery(e, endpoint.id, snapshot, now()) });
      }
      // Every decided event reports its final status (see finalStatus).
      const { status, reasonCode } = finalStatus(record, item.details.length > 0, Boolean(item.envelope.contact));
      const value: EventOutcome = {
        event_id: record.id,
        team_id: record.team_id,
        status,
        reason_code: reasonCode,
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
      outcomes[item.index] = ok(...out);
    }
    return outcomes as MessageOutcome[];
  };
}

/**
 * The event's final status in history, which every decided event reports, so history
 * alone tells a decided event from one still waiting for the matcher. A found contact
 * that fired nothing is `unmatched`: NO_SCENARIO_SUBSCRIBED when no active scenario
 * listens to the event type, NO_SCENARIO_FIRED when every one was judged and did not
 * fire (its verdicts — filtered, cooldown, … — travel as scenario runs).
 */
function finalStatus(record: TriggerRecord, judged: boolean, hadContactRef: boolean): { status: string; reasonCode: string } {
  if (record.outcome === 'no_target') return { status: 'no_target', reasonCode: hadContactRef ? 'CONTACT_NOT_FOUND' : 'NO_CONTACT_IN_EVENT' };
  if (record.scheduled > 0) return { status: 'scheduled', reasonCode: '' };
  if (record.sent > 0) return { status: 'matched', reasonCode: '' };
  return { status: 'unmatched', reasonCode: judged ? 'NO_SCENARIO_FIRED' : 'NO_SCENARIO_SUBSCRIBED' };
}

function snapshotOf(item: Item): ContactSnapshot {
  const c = item.contact;
  if (c) {
    return { target: 'contact', id: c.id, external_id: c.external_id, email: c.email, phone: c.phone, name: c.name, tags: c.tags, custom_data: c.custom_data };
  }
  return item.envelope.visitor ? { target: 'visitor', visitor_id: item.envelope.visitor.id } : { target: 'unknown' };
}

function refOf(e: EventEnvelope): ContactRefInput {
  return { id: e.contact?.id ?? null, external_id: e.contact?.external_id ?? null, email: e.contact?.email ?? null, phone: e.contact?.phone ?? null };
}

function parseObjectSafe(text: string): JsonMap {
  try {
    return parseJsonObject(text, 'attributes_json');
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
