import type { Pool } from 'pg';
import type { EventEnvelope } from '@relay/contracts';
import { ContactsRepository, contactFromEvent, resolveAmong, type IdentifierKind } from './contacts';
import { compileScenario, cooldownDetail, fireScenario, judgeEvent, matchEventOf, parseJsonObject } from './evaluate';
import type { ScenarioDetail } from './match-store';
import type { Contact, JsonMap } from './model';
import { ScenariosRepository } from './scenarios';

export interface DryRunResult {
  /** What the matcher would record: no_target, matched, scheduled or unmatched. */
  outcome: 'no_target' | 'matched' | 'scheduled' | 'unmatched';
  contact: {
    id: string | null;
    matched_by: IdentifierKind | null;
    conflicts: { kind: IdentifierKind; contact_id: string }[];
    /** The event would create this contact (Sendmator user_info naming nobody known); id not assigned yet. */
    would_create: boolean;
    /** The contact as filters and templates would see it (event data merged in). */
    data: Contact | null;
  } | null;
  summary: { scenarios: number; would_fire: number; filtered: number; deliveries: number; scheduled: number; failed: number };
  /** Every subscribed scenario: would it fire (matched, scheduled), or why not. */
  scenarios: (ScenarioDetail & { deliveries: { action_index: number; endpoint_id: string; due_at: string | null; payload: string }[] })[];
}

/**
 * The matcher's decision for one event, computed without side effects (seed 003's
 * synchronous trigger, for testing scenarios): the same resolution rule, contact-creation
 * rule, judgement and action planning as the matcher (the pure functions of evaluate.ts),
 * reading PostgreSQL only. Cooldowns are read, not claimed; nothing is written, produced
 * or cached. Reads bypass the matcher's caches, so a change made a moment ago counts here
 * before the matcher's notification lands (at most a few ms).
 */
export class DryRun {
  private readonly contacts: ContactsRepository;
  private readonly scenarios: ScenariosRepository;

  constructor(private readonly pool: Pool) {
    this.contacts = new ContactsRepository(pool);
    this.scenarios = new ScenariosRepository(pool);
  }

  async evaluate(envelope: EventEnvelope, options: { delayScale?: number } = {}): Promise<DryRunResult> {
    const event = matchEventOf(envelope);
    const teamId = envelope.team_id;
    const c = envelope.contact;
    const refs = (
      [
        ['id', c?.id],
        ['external_id', c?.id],
        ['external_id', c?.external_id],
        ['email', c?.email],
        ['phone', c?.phone],
      ] as const
    )
      .filter((r): r is readonly [IdentifierKind, string] => typeof r[1] === 'string')
      .map(([kind, value]) => ({ team_id: teamId, kind, value }));
    const found = await this.contacts.findMany(refs);
    const resolution = resolveAmong(
      { id: c?.id ?? null, external_id: c?.external_id ?? null, email: c?.email ?? null, phone: c?.phone ?? null },
      (kind, value) => found.find((f) => f[kind] === value),
    );
    let contact = resolution.contact;
    const wouldCreate = !contact && (contact = contactFromEvent(envelope, '', envelope.received_at)) !== null;
    if (contact && !wouldCreate) {
      // The matcher merges the event's contact data before judging: so does the dry run, in memory.
      const attributes = safeObject(c?.attributes_json ?? null);
      contact = { ...contact, custom_data: { ...contact.custom_data, ...attributes }, name: c?.name ?? contact.name };
    }
    if (contact && event.contactCustomData) contact = { ...contact, custom_data: { ...contact.custom_data, ...event.contactCustomData } };

    const subscribed = (await this.scenarios.listForTeam(teamId)).filter((s) => s.code_names.includes(envelope.code_name)).map(compileScenario);
    const { details, candidates } = judgeEvent(subscribed, event, contact);
    const cooling =
      contact && !wouldCreate
        ? await this.cooldownsInEffect(
            candidates.map((s) => s.scenario.id),
            contact.id,
            envelope.received_at,
          )
        : new Set<string>();
    const results: DryRunResult['scenarios'] = details.map((d) => ({ ...d, deliveries: [] }));
    let failed = 0;
    for (const compiled of candidates) {
      if (cooling.has(compiled.scenario.id)) {
        results.push({ ...cooldownDetail(compiled.scenario), deliveries: [] });
        continue;
      }
      const fired = fireScenario(compiled, event, contact as Contact, { now: Date.now(), delayScale: options.delayScale ?? 1 });
      failed += fired.failed;
      results.push({
        ...fired.detail,
        deliveries: fired.planned.map((p) => ({
          action_index: p.action_index,
          endpoint_id: p.delivery.endpoint_id,
          due_at: p.due_at === null ? null : new Date(p.due_at).toISOString(),
          payload: p.delivery.payload_json,
        })),
      });
    }
    // Same order as the scenarios were subscribed, not as they were decided.
    const order = new Map(subscribed.map((s, i) => [s.scenario.id, i]));
    results.sort((a, b) => (order.get(a.scenario_id) ?? 0) - (order.get(b.scenario_id) ?? 0));
    const deliveries = results.reduce((n, r) => n + r.deliveries.filter((d) => d.due_at === null).length, 0);
    const scheduled = results.reduce((n, r) => n + r.deliveries.filter((d) => d.due_at !== null).length, 0);
    return {
      outcome: !contact ? 'no_target' : deliveries ? 'matched' : scheduled ? 'scheduled' : 'unmatched',
      contact: contact
        ? {
            id: wouldCreate ? null : contact.id,
            matched_by: resolution.matchedBy,
            conflicts: resolution.conflicts,
            would_create: wouldCreate,
            data: wouldCreate ? { ...contact, id: '' } : contact,
          }
        : null,
      summary: {
        scenarios: results.length,
        would_fire: results.filter((r) => r.outcome === 'matched' || r.outcome === 'scheduled').length,
        filtered: results.filter((r) => ['filtered', 'cooldown', 'paused', 'stopped'].includes(r.outcome)).length,
        deliveries,
        scheduled,
        failed,
      },
      scenarios: results,
    };
  }

  /** Candidates whose cooldown holds at `at` for this contact: the matcher's claim condition, read only. */
  private async cooldownsInEffect(scenarioIds: string[], contactId: string, at: number): Promise<Set<string>> {
    if (scenarioIds.length === 0) return new Set();
    const { rows } = await this.pool.query<{ scenario_id: string }>(
      `SELECT c.scenario_id FROM scenario_cooldowns c JOIN scenarios s ON s.id = c.scenario_id
        WHERE c.contact_id = $1 AND c.scenario_id = ANY ($2)
          AND c.last_fired_at > $3::timestamptz - s.cooldown_ms * interval '1 millisecond'`,
      [contactId, scenarioIds, new Date(at).toISOString()],
    );
    return new Set(rows.map((r) => r.scenario_id));
  }
}

function safeObject(text: string | null): JsonMap {
  try {
    return parseJsonObject(text, 'attributes_json');
  } catch {
    return {};
  }
}
