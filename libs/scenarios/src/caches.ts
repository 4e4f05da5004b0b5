import { LRUCache } from 'lru-cache';
import { SeqCache } from '@relay/control-plane';
import { type ContactRefInput, type ContactsRepository, type IdentifierKind, resolveAmong } from './contacts';
import { compileScenario, type CompiledScenario } from './evaluate';
import type { Contact } from './model';
import type { ScenariosRepository } from './scenarios';

type TeamScenarios = Map<string, CompiledScenario[]>;

/**
 * Scenarios per team, compiled once per load, indexed by code_name, and consistent with the
 * team's change sequence: the matcher reads the sequences of a batch's teams after fetching
 * it (TeamChanges) and a team loaded at an older sequence is reloaded (single flight). So
 * a scenario created, paused, changed or deleted before an event was accepted is always
 * applied to it. `ttlMs` only lets idle teams go; correctness never waits for it.
 */
export class ScenarioCache {
  private readonly teams: SeqCache<string, TeamScenarios>;

  constructor(
    private readonly repo: ScenariosRepository,
    ttlMs: number,
    max = 10000,
  ) {
    this.teams = new SeqCache({ max, ttlMs });
  }

  async forEvent(teamId: string, codeName: string, seq: number): Promise<CompiledScenario[]> {
    const team = await this.teams.get(teamId, seq, () => this.load(teamId));
    return team.get(codeName) ?? [];
  }

  /** Team loads that went to PostgreSQL (observable by tests). */
  get loads(): number {
    return this.teams.loads;
  }

  private async load(teamId: string): Promise<TeamScenarios> {
    const byCodeName: TeamScenarios = new Map();
    for (const s of await this.repo.listForTeam(teamId)) {
      const compiled = compileScenario(s);
      for (const c of s.code_names) byCodeName.set(c, [...(byCodeName.get(c) ?? []), compiled]);
    }
    return byCodeName;
  }
}

export interface ContactResolution {
  contact: Contact | null;
  matchedBy: IdentifierKind | null;
  conflicts: { kind: IdentifierKind; contact_id: string }[];
}

/**
 * Resolves event targets to contacts for a whole batch: cached contacts first, then one
 * query for all the rest. An entry remembers its team's contact sequence when it was read
 * (`contact_seq`, bumped by every contact change made through the API): it only answers
 * for events whose batch read that sequence or an older one, so a contact changed (tags,
 * fields) before an event was accepted is read again for it. The matcher's own custom-data
 * merges are written through. Unknown identifiers are never cached, so a contact created
 * just before its first event is found. Bounded (lru-cache): the least recently used
 * entries go past `maxEntries`; `ttlMs` only lets idle entries go.
 */
export class ContactResolver {
  private readonly byId: LRUCache<string, { contact: Contact; seq: number }>;
  /** Identifier → contact id: hints only, always checked against the contact they name. */
  private readonly byIdentifier: LRUCache<string, string>;

  constructor(
    private readonly repo: ContactsRepository,
    ttlMs: number,
    maxEntries: number,
  ) {
    this.byId = new LRUCache({ max: maxEntries, ttl: ttlMs });
    this.byIdentifier = new LRUCache({ max: maxEntries * 3 });
  }

  /** `seqs`: each team's contact sequence, read after the batch was fetched. */
  async resolveMany(refs: { team_id: string; ref: ContactRefInput }[], seqs: ReadonlyMap<string, number>): Promise<ContactResolution[]> {
    const lookups = new Map<string, { team_id: string; kind: IdentifierKind; value: string }>();
    const cachedFind = (teamId: string, kind: IdentifierKind, value: string): Contact | undefined => {
      const id = kind === 'id' ? value : this.byIdentifier.get(identKey(teamId, kind, value));
      const hit = id === undefined ? undefined : this.byId.get(idKey(teamId, id));
      // The identifier must still be the contact's: an email moved to another contact
      // makes the old mapping stale, and a stale mapping is a miss.
      if (hit && hit.seq >= (seqs.get(teamId) ?? 0) && hit.contact[kind] === value) return hit.contact;
      return undefined;
    };
    for (const { team_id, ref } of refs) {
      const need = (kind: IdentifierKind, value: string | null | undefined) => {
        if (value == null || cachedFind(team_id, kind, value)) return;
        lookups.set(identKey(team_id, kind, value), { team_id, kind, value });
      };
      need('id', ref.id);
      if (ref.id != null && !cachedFind(team_id, 'id', ref.id)) need('external_id', ref.id);
      need('external_id', ref.external_id);
      need('email', ref.email);
      need('phone', ref.phone);
    }
    const fetched = await this.repo.findMany([...lookups.values()]);
    for (const c of fetched) this.put(c.team_id, c, seqs.get(c.team_id) ?? 0);
    return refs.map(({ team_id, ref }) => {
      const fresh = (kind: IdentifierKind, value: string) =>
        fetched.find((c) => c.team_id === team_id && c[kind] === value) ?? cachedFind(team_id, kind, value);
      return resolveAmong(ref, fresh);
    });
  }

  /**
   * Stores a contact read (or written by the matcher itself) after the team's contact
   * sequence was `seq`.
   */
  put(teamId: string, contact: Contact, seq: number): void {
    this.byId.set(idKey(teamId, contact.id), { contact, seq });
    for (const kind of ['external_id', 'email', 'phone'] as const) {
      const v = contact[kind];
      if (v !== null) this.byIdentifier.set(identKey(teamId, kind, v), contact.id);
    }
  }

  clear(): void {
    this.byId.clear();
    this.byIdentifier.clear();
  }

  get size(): number {
    return this.byId.size;
  }
}

const idKey = (teamId: string, id: string) => `${teamId}\u0000${id}`;
const identKey = (teamId: string, kind: IdentifierKind, value: string) => `${teamId}\u0000${kind}\u0000${value}`;
