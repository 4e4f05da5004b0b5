import type { EventEnvelope, RejectedEvent } from '@relay/contracts';
import type { StoredEventType } from '@relay/control-plane';
import { validateTriggerPayload, type NormalizedEvent } from '@relay/event-schema';
import { ok, type InboundMessage, type MessageOutcome, type OutputRecord } from '@relay/kafka';

export interface EventTypeLookup {
  get(teamId: string, codeName: string): Promise<StoredEventType | null>;
}

export type RejectionCounter = (reason: string) => void;

/** Parses one of the envelope's JSON-text slots; collects an error instead of throwing. */
function parseSlot(text: string | null, path: string, errors: string[]): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    errors.push(`Invalid JSON in envelope field ${path}`);
    return undefined;
  }
}

/** Rebuilds seed 000's trigger body from the canonical envelope, for the shared validator. */
export function envelopeToBody(envelope: EventEnvelope, errors: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (envelope.contact) {
    const contact: Record<string, unknown> = {};
    if (envelope.contact.id !== null) contact.id = envelope.contact.id;
    if (envelope.contact.email !== null) contact.email = envelope.contact.email;
    if (envelope.contact.phone !== null) contact.phone = envelope.contact.phone;
    const custom = parseSlot(envelope.contact.custom_data_json, 'contact.custom_data_json', errors);
    if (custom !== undefined) contact.customData = custom;
    body.contact = contact;
  }
  if (envelope.visitor) {
    const visitor: Record<string, unknown> = {};
    if (envelope.visitor.id !== null) visitor.id = envelope.visitor.id;
    const custom = parseSlot(envelope.visitor.custom_data_json, 'visitor.custom_data_json', errors);
    if (custom !== undefined) visitor.customData = custom;
    body.visitor = visitor;
  }
  const meta = parseSlot(envelope.meta_data_json, 'meta_data_json', errors);
  if (meta !== undefined) body.metaData = meta;
  const custom = parseSlot(envelope.custom_data_json, 'custom_data_json', errors);
  if (custom !== undefined) body.customData = custom;
  return body;
}

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

function normalizedEnvelope(envelope: EventEnvelope, event: NormalizedEvent, version: number): EventEnvelope {
  return {
    ...envelope,
    contact: event.contact
      ? {
          id: event.contact.id === undefined ? null : String(event.contact.id),
          email: event.contact.email ?? null,
          phone: event.contact.phone ?? null,
          custom_data_json: json(event.contact.customData),
        }
      : null,
    visitor: event.visitor ? { id: String(event.visitor.id), custom_data_json: json(event.visitor.customData) } : null,
    meta_data_json: json(event.metaData),
    custom_data_json: json(event.customData),
    schema_version: version,
  };
}

function rejected(envelope: EventEnvelope, reasonCode: string, errors: string[], version: number | null): RejectedEvent {
  return {
    event_id: envelope.event_id,
    team_id: envelope.team_id,
    environment: envelope.environment,
    code_name: envelope.code_name,
    dialect: envelope.dialect,
    received_at: envelope.received_at,
    rejected_at: Date.now(),
    stage: 'validator',
    reason_code: reasonCode,
    errors,
    schema_version: version,
    envelope_json: JSON.stringify(envelope),
  };
}

/**
 * The validator stage: the authority on whether an event matches its event type, for
 * events from the gateway and from producers writing straight to Kafka alike. Every
 * event ends on exactly one of the validated or rejected topics; none is dropped.
 */
export function createValidationHandler(eventTypes: EventTypeLookup, countRejection: RejectionCounter) {
  return async (messages: InboundMessage<EventEnvelope>[]): Promise<MessageOutcome[]> => {
    const outcomes: MessageOutcome[] = [];
    for (const message of messages) {
      const envelope = message.value;
      const key = message.key ? message.key.toString() : null;
      const reject = (code: string, errors: string[], version: number | null): OutputRecord<'rejected'> => {
        countRejection(code);
        return { topic: 'rejected', key, value: rejected(envelope, code, errors, version) };
      };
      const eventType = await eventTypes.get(envelope.team_id, envelope.code_name);
      if (!eventType) {
        outcomes.push(ok(reject('UNKNOWN_EVENT_TYPE', [`Event type not found: ${envelope.code_name}`], null)));
        continue;
      }
      const errors: string[] = [];
      const body = envelopeToBody(envelope, errors);
      if (errors.length > 0) {
        outcomes.push(ok(reject('INVALID_ENVELOPE', errors, eventType.version)));
        continue;
      }
      const result = validateTriggerPayload(eventType, body);
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
