import type { EventEnvelope } from '@relay/contracts';
import { NO_CHANGES, type StoredEventType, type TeamSeq } from '@relay/control-plane';
import {
  envelopeSlots,
  rejectedEvent,
  type NormalizedEvent,
  type PathNames,
  SENDMATOR_PATHS,
  SIMON_PATHS,
  triggerBodyFromEnvelope,
  validateTriggerPayload,
} from '@relay/event-schema';
import { drop, ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';

export interface EventTypeLookup {
  get(teamId: string, codeName: string, seq: number): Promise<StoredEventType | null>;
  getVersion(teamId: string, codeName: string, version: number): Promise<StoredEventType | null>;
}

/** Idempotency keys of producers writing straight to Kafka (same table as the gateway's). */
export interface IdempotencyClaims {
  claimMany(claims: { teamId: string; key: string; eventId: string }[]): Promise<Map<string, string>>;
}

/** Simon-style identify links: client id → email, per team. */
export interface IdentityLookup {
  resolve(teamId: string, clientIds: string[]): Promise<Map<string, string>>;
}

/** Teams' current change sequences, read once per batch (see TeamChanges). */
export interface ChangeSequences {
  currentMany(teamIds: Iterable<string>): Promise<Map<string, TeamSeq>>;
}

export interface ValidationDeps {
  eventTypes: EventTypeLookup;
  changes: ChangeSequences;
  idempotency: IdempotencyClaims;
  identity: IdentityLookup;
  countRejection: RejectionCounter;
}

export type RejectionCounter = (reason: string) => void;

/**
 * Error paths named as the event's emitter named them, the same way the gateway names them,
 * so a rejection reads alike whether the gateway or this stage found it.
 */
const PATH_NAMES: Readonly<Record<string, PathNames>> = { sendmator: SENDMATOR_PATHS, simon: SIMON_PATHS };

function normalizedEnvelope(envelope: EventEnvelope, event: NormalizedEvent, version: number): EventEnvelope {
  return { ...envelope, ...envelopeSlots(event, envelope.contact), schema_version: version };
}

/** Fills the email of identity-requiring events from live identify links (one query per team). */
async function resolveIdentities(envelopes: EventEnvelope[], identity: IdentityLookup): Promise<EventEnvelope[]> {
  const wanted = new Map<string, Set<string>>();
  for (const e of envelopes) {
    if (e.requires_identity && !e.contact?.email && e.client_id) {
      const set = wanted.get(e.team_id) ?? new Set<string>();
      set.add(e.client_id);
      wanted.set(e.team_id, set);
    }
  }
  if (wanted.size === 0) return envelopes;
  const found = new Map<string, string>();
  for (const [teamId, ids] of wanted) {
    for (const [clientId, email] of await identity.resolve(teamId, [...ids])) found.set(`${teamId}\u0000${clientId}`, email);
  }
  return envelopes.map((e) => {
    const email = e.client_id ? found.get(`${e.team_id}\u0000${e.client_id}`) : undefined;
    if (!email || !e.requires_identity || e.contact?.email) return e;
    const contact = e.contact ?? { id: null, email: null, phone: null, custom_data_json: null, external_id: null, name: null, attributes_json: null };
    return { ...e, contact: { ...contact, email } };
  });
}

/**
 * The validator stage: the authority on whether an event matches its event type, for
 * events from the gateway and from producers writing straight to Kafka alike. Every
 * event ends on exactly one of the validated or rejected topics, except a repeat of an
 * idempotency key already used within 24 h, which is dropped (counted) because its first
 * event already went through.
 */
export function createValidationHandler(deps: ValidationDeps) {
  return async (messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> => {
    const claims = messages
      .filter((m) => m.value.idempotency_key)
      .map((m) => ({ teamId: m.value.team_id, key: m.value.idempotency_key as string, eventId: m.value.event_id }));
    const owners = await deps.idempotency.claimMany(claims);
    const envelopes = await resolveIdentities(
      messages.map((m) => m.value),
      deps.identity,
    );
    // Events produced straight to Kafka are checked against the current event type: read
    // the teams' change sequences now, after the batch was fetched, so a type created or
    // changed before these records were appended is always the one used (read-your-writes).
    const seqs = await deps.changes.currentMany(envelopes.filter((e) => e.schema_version === null).map((e) => e.team_id));
    const outcomes: MessageOutcome[] = [];
    for (const [i, message] of messages.entries()) {
      const envelope = envelopes[i] as EventEnvelope;
      const key = message.key ? message.key.toString() : null;
      const reject = (code: string, errors: string[], version: number | null): OutputRecord<'rejected'> => {
        deps.countRejection(code);
        return { topic: 'rejected', key, value: rejectedEvent(envelope, { stage: 'validator', reasonCode: code, errors, schemaVersion: version }) };
      };
      if (envelope.idempotency_key) {
        const owner = owners.get(`${envelope.team_id}\u0000${envelope.idempotency_key}`);
        if (owner && owner !== envelope.event_id) {
          outcomes.push(drop(`idempotency key already used by event ${owner}`));
          continue;
        }
      }
      // An event the gateway accepted carries the version it was checked against: the
      // validator uses that same version, so an update in between (or a stale cache here)
      // cannot turn an accepted event into a rejected one. Direct producers get the current one.
      const eventType =
        envelope.schema_version !== null
          ? await deps.eventTypes.getVersion(envelope.team_id, envelope.code_name, envelope.schema_version)
          : await deps.eventTypes.get(envelope.team_id, envelope.code_name, (seqs.get(envelope.team_id) ?? NO_CHANGES).seq);
      if (!eventType) {
        outcomes.push(ok(reject('UNKNOWN_EVENT_TYPE', [`Event type not found: ${envelope.code_name}`], null)));
        continue;
      }
      if (envelope.requires_identity && !envelope.contact?.email) {
        outcomes.push(ok(reject('IDENTITY_REQUIRED', ['identity required: no email and no live identify link for client_id'], eventType.version)));
        continue;
      }
      const errors: string[] = [];
      const body = triggerBodyFromEnvelope(envelope, errors);
      if (errors.length > 0) {
        outcomes.push(ok(reject('INVALID_ENVELOPE', errors, eventType.version)));
        continue;
      }
      if (envelope.client_id && eventType.target !== 'contact' && !body.visitor) body.visitor = { id: envelope.client_id };
      const pathNames = Object.hasOwn(PATH_NAMES, envelope.dialect) ? PATH_NAMES[envelope.dialect] : undefined;
      const result = validateTriggerPayload(eventType, body, pathNames ? { pathNames } : {});
      if (!result.ok) {
        outcomes.push(ok(reject('INVALID_PAYLOAD', result.errors, eventType.version)));
        continue;
      }
      const validated: OutputRecord<'validated'> = {
        topic: 'validated',
        key: key ?? `${envelope.team_id}:${result.value.targetKey}`,
        value: normalizedEnvelope(envelope, result.value, eventType.version),
      };
      outcomes.push(ok(validated));
    }
    return outcomes;
  };
}
