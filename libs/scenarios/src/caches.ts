import { Client } from 'pg';
import { type ContactRefInput, type ContactsRepository, type IdentifierKind, CONTACTS_CHANNEL, resolveAmong } from './contacts';
import { compileScenario, type CompiledScenario } from './evaluate';
import type { Contact } from './model';
import { SCENARIOS_CHANNEL, type ScenariosRepository } from './scenarios';

interface TeamScenarios {
  at: number;
  byCodeName: Map<string, CompiledScenario[]>;
}

/**
 * Scenarios per team, compiled once per version, indexed by code_name. Invalidated per
 * team on a PostgreSQL notification (every scenario change, see the migration's trigger);
 * the TTL only bounds staleness if a notification is lost while the listener reconnects.
 */
export class ScenarioCache {
  private readonly teams = new Map<string, TeamScenarios>();
  private readonly loading = new Map<string, Promise<TeamScenarios>>();
  private generation = 0;

  constructor(
    private readonly repo: ScenariosRepository,
    private readonly ttlMs: number,
  ) {}

  async forEvent(teamId: string, codeName: string): Promise<CompiledScenario[]> {
    const team = await this.team(teamId);
    return team.byCodeName.get(codeName) ?? [];
  }

  invalidate(teamId: string): void {
    this.generation++;
    this.teams.delete(teamId);
    this.loading.delete(teamId);
  }

  clear(): void {
    this.generation++;
    this.teams.clear();
    this.loading.clear();
  }

  private async team(teamId: string): Promise<TeamScenarios> {
    const cached = this.teams.get(teamId);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached;
    let pending = this.loading.get(teamId);
    if (!pending) {
      const generation = this.generation;
      pending = this.repo.listForTeam(teamId).then((list) => {
        const byCodeName = new Map<string, CompiledScenario[]>();
        for (const s of list) {
          const compiled = compileScenario(s);
          for (const c of s.code_names) byCodeName.set(c, [...(byCodeName.get(c) ?? []), compiled]);
        }
        const entry = { at: Date.now(), byCodeName };
        // An invalidation that arrived while loading means this read may be stale: use it
        // for the caller that waited, but do not keep it.
        if (generation === this.generation) this.teams.set(teamId, entry);
        return entry;
      });
      this.loading.set(teamId, pending);
      void pending.finally(() => this.loading.get(teamId) === pending && this.loading.delete(teamId)).catch(() => undefined);
    }
    return pending;
  }
}

export interface ContactResolution {
  contact: Contact | null;
  matchedBy: IdentifierKind | null;
  conflicts: { kind: IdentifierKind; contact_id: string }[];
}

/**
 * Resolves event targets to contacts for a whole batch: cached contacts first, then one
 * query for all the rest. Entries are dropped on a contact notification (gateway
 * changes) and refreshed write-through by the matcher's own custom-data merges; unknown
 * identifiers are never cached, so a contact created just before its first event is found.
 * Bounded: the oldest entries are evicted past `maxEntries` (Map keeps insertion order).
 */
export class ContactResolver {
  private readonly byId = new Map<string, { contact: Contact; at: number }>();
  private readonly byIdentifier = new Map<string, string>();

  constructor(
    private readonly repo: ContactsRepository,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  async resolveMany(refs: { team_id: string; ref: ContactRefInput }[]): Promise<ContactResolution[]> {
    const now = Date.now();
    const lookups = new Map<string, { team_id: string; kind: IdentifierKind; value: string }>();
    const cachedFind = (teamId: string, kind: IdentifierKind, value: string): Contact | undefined => {
      const id = kind === 'id' ? value : this.byIdentifier.get(identKey(teamId, kind, value));
      const hit = id === undefined ? undefined : this.byId.get(idKey(teamId, id));
      // The identifier must still be the contact's: an email moved to another contact
      // makes the old mapping stale, and a stale mapping is a miss.
      if (hit && now - hit.at < this.ttlMs && hit.contact[kind] === value) return hit.contact;
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
    for (const c of fetched) this.put(c.team_id, c);
    return refs.map(({ team_id, ref }) => {
      const fresh = (kind: IdentifierKind, value: string) =>
        fetched.find((c) => c.team_id === team_id && c[kind] === value) ?? cachedFind(team_id, kind, value);
      return resolveAmong(ref, fresh);
    });
  }

  /** Write-through after the matcher changed a contact itself. */
  put(teamId: string, contact: Contact): void {
    const key = idKey(teamId, contact.id);
    this.byId.delete(key);
    this.byId.set(key, { contact, at: Date.now() });
    for (const kind of ['external_id', 'email', 'phone'] as const) {
      const v = contact[kind];
      if (v !== null) this.byIdentifier.set(identKey(teamId, kind, v), contact.id);
    }
    while (this.byId.size > this.maxEntries) {
      const oldest = this.byId.keys().next().value as string;
      this.byId.delete(oldest);
    }
    // Identifier mappings are only hints (checked against the contact), so trimming them
    // in bulk is enough to bound memory.
    if (this.byIdentifier.size > this.maxEntries * 3) this.byIdentifier.clear();
  }

  invalidate(teamId: string, contactId: string): void {
    this.byId.delete(idKey(teamId, contactId));
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

export interface ChangeListenerOptions {
  url: string;
  onScenarios: (teamId: string) => void;
  onContact: (teamId: string, contactId: string) => void;
  /** Called after (re)connecting: notifications may have been missed, drop every cache. */
  onReset: () => void;
  onError?: (error: Error) => void;
}

/**
 * LISTEN on the scenario and contact channels with a dedicated connection (a pooled one
 * would lose its LISTEN when returned). Reconnects with backoff; every (re)connection
 * resets the caches since notifications sent while disconnected are lost.
 */
export class ChangeListener {
  private client: Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ChangeListenerOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.options.url, connectionTimeoutMillis: 5000 });
    client.on('notification', (n) => {
      const payload = n.payload ?? '';
      if (n.channel === SCENARIOS_CHANNEL) this.options.onScenarios(payload);
      else if (n.channel === CONTACTS_CHANNEL) {
        const at = payload.indexOf(':');
        if (at > 0) this.options.onContact(payload.slice(0, at), payload.slice(at + 1));
      }
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('listener connection ended')));
    await client.connect();
    await client.query(`LISTEN ${SCENARIOS_CHANNEL}`);
    await client.query(`LISTEN ${CONTACTS_CHANNEL}`);
    this.client = client;
    this.options.onReset();
  }

  private lost(client: Client, error: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = null;
    this.options.onError?.(error);
    this.options.onReset();
    client.end().catch(() => undefined);
    const retry = (delay: number) => {
      this.timer = setTimeout(() => {
        if (this.stopped) return;
        this.connect().catch(() => retry(Math.min(10000, delay * 2)));
      }, delay);
    };
    retry(500);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
