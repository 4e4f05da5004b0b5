import type { Pool, PoolClient } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { EventEnvelope } from '@relay/contracts';
import { withTransaction } from '@relay/control-plane';
import { ScenariosError } from './errors';
import type { Contact, ContactInput, JsonMap } from './model';

/** A row as pg returns it: timestamps as Dates. */
type Row = Omit<Contact, 'created_at' | 'updated_at'> & { team_id: string; created_at: Date; updated_at: Date };

const COLUMNS = 'team_id, id, external_id, email, phone, name, tags, custom_data, created_at, updated_at';

export const toContact = (r: Row): Contact => ({
  id: r.id,
  external_id: r.external_id,
  email: r.email,
  phone: r.phone,
  name: r.name,
  tags: r.tags,
  custom_data: r.custom_data,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

/**
 * Marks a contact change made through the API in the same transaction: the team's
 * contact sequence moves, so matchers read the contact again for every event accepted
 * after the change's response (see ContactResolver). The matcher's own merges do not call it.
 */
export const BUMP_CONTACT_SEQ = 'SELECT relay_bump_contact_seq($1)';

const UNIQUE_VIOLATION = '23505';

/** The identifiers an event (or an upsert) names a contact by. */
export interface ContactRefInput {
  id?: string | null;
  external_id?: string | null;
  email?: string | null;
  phone?: string | null;
}

export type IdentifierKind = 'id' | 'external_id' | 'email' | 'phone';

/**
 * The resolution rule, in one place (docs/scenarios.md): identifiers are tried in the
 * order id, external_id, email, phone and the first that names an existing contact wins.
 * An `id` from an event also matches a contact's external_id (emitters send their own id
 * as contact.id). When two identifiers name two different contacts the winner is kept
 * and the other is reported as a conflict; contacts are never merged implicitly.
 */
export function resolveAmong(
  ref: ContactRefInput,
  find: (kind: IdentifierKind, value: string) => Contact | undefined,
): { contact: Contact | null; matchedBy: IdentifierKind | null; conflicts: { kind: IdentifierKind; contact_id: string }[] } {
  const hits: { kind: IdentifierKind; contact: Contact }[] = [];
  const tryHit = (kind: IdentifierKind, value: string | null | undefined, via: IdentifierKind = kind) => {
    if (value == null) return false;
    const c = find(via, value);
    if (c) hits.push({ kind, contact: c });
    return !!c;
  };
  if (!tryHit('id', ref.id)) tryHit('id', ref.id, 'external_id');
  tryHit('external_id', ref.external_id);
  tryHit('email', ref.email);
  tryHit('phone', ref.phone);
  const first = hits[0];
  if (!first) return { contact: null, matchedBy: null, conflicts: [] };
  const conflicts = hits.filter((h) => h.contact.id !== first.contact.id).map((h) => ({ kind: h.kind, contact_id: h.contact.id }));
  return { contact: first.contact, matchedBy: first.kind, conflicts };
}

/**
 * The contact an event creates when none of its identifiers names a known contact
 * (docs/scenarios.md, resolution rule 5). Only Sendmator events create: their
 * `user_info` is a profile the emitter asks us to upsert (seed 003), with an identifier
 * we can find the person by again (contact_external_id, email or phone). A ShopiMind or
 * Simon event only *references* a contact, so an unknown one stays `no_target` (seed 000).
 * Pure: the caller picks the id and writes the row.
 */
export function contactFromEvent(envelope: Pick<EventEnvelope, 'dialect' | 'contact'>, id: string, at: number): Contact | null {
  const c = envelope.contact;
  if (envelope.dialect !== 'sendmator' || !c) return null;
  const externalId = c.external_id ?? null;
  if (externalId === null && c.email == null && c.phone == null) return null;
  let attributes: JsonMap = {};
  try {
    const parsed = c.attributes_json ? (JSON.parse(c.attributes_json) as unknown) : null;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) attributes = parsed as JsonMap;
  } catch {
    // The gateway wrote it from an object; a direct producer's broken profile is ignored, not fatal.
  }
  const iso = new Date(at).toISOString();
  return {
    id,
    external_id: externalId,
    email: c.email ?? null,
    phone: c.phone ?? null,
    name: c.name ?? null,
    tags: [],
    custom_data: stripNulls(attributes),
    created_at: iso,
    updated_at: iso,
  };
}

/** Contacts of a team (seed 000 targets, seed 003 user_info), scoped by team on every query. */
export class ContactsRepository {
  constructor(private readonly pool: Pool) {}

  async get(teamId: string, id: string): Promise<Contact | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM contacts WHERE team_id = $1 AND id = $2`, [teamId, id]);
    return rows[0] ? toContact(rows[0]) : null;
  }

  async findBy(teamId: string, kind: Exclude<IdentifierKind, 'id'>, value: string): Promise<Contact | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM contacts WHERE team_id = $1 AND ${kind} = $2`, [teamId, value]);
    return rows[0] ? toContact(rows[0]) : null;
  }

  /** PUT /v1/contacts/:id: create or update the contact with this id. */
  async put(teamId: string, id: string, input: ContactInput): Promise<{ contact: Contact; created: boolean }> {
    return this.tx(async (client) => {
      const existing = await client.query<Row>(`SELECT ${COLUMNS} FROM contacts WHERE team_id = $1 AND id = $2 FOR UPDATE`, [teamId, id]);
      const row = existing.rows[0];
      const contact = row ? await this.update(client, teamId, id, input) : await this.insert(client, teamId, id, input);
      return { contact, created: !row };
    });
  }

  /**
   * POST /v1/contacts: upsert by id, else external_id, else email, else phone. When the
   * identifiers name two different contacts nothing is changed (409 IDENTITY_CONFLICT):
   * silently moving an email from one person to another is worse than asking.
   */
  async upsert(teamId: string, input: ContactInput): Promise<{ contact: Contact; created: boolean }> {
    return this.tx(async (client) => {
      const { rows } = await client.query<Row>(
        `SELECT ${COLUMNS} FROM contacts WHERE team_id = $1 AND (id = $2 OR external_id = $3 OR email = $4 OR phone = $5)
         ORDER BY id FOR UPDATE`,
        [teamId, input.id ?? null, input.external_id ?? null, input.email ?? null, input.phone ?? null],
      );
      const contacts = rows.map(toContact);
      const find = (kind: IdentifierKind, value: string) => contacts.find((c) => c[kind] === value);
      const byId = input.id ? find('id', input.id) : undefined;
      const others = (['external_id', 'email', 'phone'] as const)
        .map((k) => ({ kind: k, value: input[k] }))
        .filter((x): x is { kind: 'external_id' | 'email' | 'phone'; value: string } => typeof x.value === 'string')
        .map((x) => ({ kind: x.kind, contact: find(x.kind, x.value) }))
        .filter((x): x is { kind: 'external_id' | 'email' | 'phone'; contact: Contact } => !!x.contact);
      const target = byId ?? others[0]?.contact;
      const clash = others.find((o) => target && o.contact.id !== target.id);
      if (target && clash) {
        throw new ScenariosError('IDENTITY_CONFLICT', [
          `${clash.kind} belongs to contact ${clash.contact.id}, not to contact ${target.id}; update or remove it there first`,
        ]);
      }
      if (target) return { contact: await this.update(client, teamId, target.id, input), created: false };
      return { contact: await this.insert(client, teamId, input.id ?? uuidv7(), input), created: true };
    });
  }

  async delete(teamId: string, id: string): Promise<boolean> {
    return this.tx(async (client) => {
      const { rowCount } = await client.query('DELETE FROM contacts WHERE team_id = $1 AND id = $2', [teamId, id]);
      if (rowCount) await client.query(BUMP_CONTACT_SEQ, [teamId]);
      return (rowCount ?? 0) > 0;
    });
  }

  /**
   * Every contact any of `refs` could name, in one round trip (the matcher calls this
   * once per batch for the contacts its cache does not hold).
   */
  async findMany(refs: { team_id: string; kind: IdentifierKind; value: string }[]): Promise<(Contact & { team_id: string })[]> {
    if (refs.length === 0) return [];
    const byKind = (k: IdentifierKind) => refs.filter((r) => r.kind === k);
    const parts: string[] = [];
    const params: string[][] = [];
    for (const kind of ['id', 'external_id', 'email', 'phone'] as const) {
      const list = byKind(kind);
      if (list.length === 0) continue;
      params.push(
        list.map((r) => r.team_id),
        list.map((r) => r.value),
      );
      const t = params.length - 1;
      parts.push(
        `SELECT ${COLUMNS.split(', ')
          .map((c) => `c.${c}`)
          .join(', ')} FROM contacts c
         JOIN unnest($${t}::text[], $${t + 1}::text[]) AS k(team_id, v) ON c.team_id = k.team_id AND c.${kind} = k.v`,
      );
    }
    const { rows } = await this.pool.query<Row>(parts.join(' UNION '), params);
    return rows.map((r) => ({ ...toContact(r), team_id: r.team_id }));
  }

  private async insert(client: PoolClient, teamId: string, id: string, input: ContactInput): Promise<Contact> {
    const row = await this.guard(() =>
      client.query<Row>(
        `INSERT INTO contacts (team_id, id, external_id, email, phone, name, tags, custom_data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
        [
          teamId,
          id,
          input.external_id ?? null,
          input.email ?? null,
          input.phone ?? null,
          input.name ?? null,
          input.tags ?? [],
          JSON.stringify(stripNulls(input.custom_data ?? {})),
        ],
      ),
    );
    await client.query(BUMP_CONTACT_SEQ, [teamId]);
    return toContact(row);
  }

  /** Fields given replace the stored ones; custom_data is merged key by key (null removes a key). */
  private async update(client: PoolClient, teamId: string, id: string, input: ContactInput): Promise<Contact> {
    const has = (k: keyof ContactInput) => input[k] !== undefined;
    const data = input.custom_data ?? {};
    const removed = Object.keys(data).filter((k) => data[k] === null);
    const row = await this.guard(() =>
      client.query<Row>(
        `UPDATE contacts SET
           external_id = CASE WHEN $3 THEN $4 ELSE external_id END,
           email = CASE WHEN $5 THEN $6 ELSE email END,
           phone = CASE WHEN $7 THEN $8 ELSE phone END,
           name = CASE WHEN $9 THEN $10 ELSE name END,
           tags = CASE WHEN $11 THEN $12::text[] ELSE tags END,
           custom_data = (custom_data || $13::jsonb) - $14::text[],
           updated_at = now()
         WHERE team_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [
          teamId,
          id,
          has('external_id'),
          input.external_id ?? null,
          has('email'),
          input.email ?? null,
          has('phone'),
          input.phone ?? null,
          has('name'),
          input.name ?? null,
          has('tags'),
          input.tags ?? [],
          JSON.stringify(stripNulls(data)),
          removed,
        ],
      ),
    );
    await client.query(BUMP_CONTACT_SEQ, [teamId]);
    return toContact(row);
  }

  private async guard(run: () => Promise<{ rows: Row[] }>): Promise<Row> {
    try {
      const { rows } = await run();
      return rows[0] as Row;
    } catch (error) {
      const e = error as { code?: string; constraint?: string };
      if (e.code === UNIQUE_VIOLATION) {
        const field = /external_id/.test(e.constraint ?? '') ? 'external_id' : /email/.test(e.constraint ?? '') ? 'email' : 'phone';
        throw new ScenariosError('IDENTITY_CONFLICT', [`${field} already belongs to another contact`], { cause: error });
      }
      throw error;
    }
  }

  private tx<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, work);
  }
}

function stripNulls(data: JsonMap): JsonMap {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
}
