import type { ContactRef, EventEnvelope, RejectedEvent } from '@relay/contracts';
import type { NormalizedEvent } from './model';

export type EnvelopeSlots = Pick<EventEnvelope, 'contact' | 'visitor' | 'meta_data_json' | 'custom_data_json'>;

const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/**
 * A validated event's target and payload slots in the wire envelope's shape (slots as JSON
 * text). Contact profile fields outside the event-type schema (external id, name,
 * attributes) are taken from `profile` when given.
 */
export function envelopeSlots(event: NormalizedEvent, profile?: Pick<ContactRef, 'external_id' | 'name' | 'attributes_json'> | null): EnvelopeSlots {
  return {
    contact: event.contact
      ? {
          id: event.contact.id === undefined ? null : String(event.contact.id),
          email: event.contact.email ?? null,
          phone: event.contact.phone ?? null,
          custom_data_json: json(event.contact.customData),
          external_id: profile?.external_id ?? null,
          name: profile?.name ?? null,
          attributes_json: profile?.attributes_json ?? null,
        }
      : null,
    visitor: event.visitor ? { id: String(event.visitor.id), custom_data_json: json(event.visitor.customData) } : null,
    meta_data_json: json(event.metaData),
    custom_data_json: json(event.customData),
  };
}

function parseSlot(text: string | null, path: string, errors: string[]): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    errors.push(`Invalid JSON in envelope field ${path}`);
    return undefined;
  }
}

/**
 * The inverse: seed 000's trigger body rebuilt from an envelope (what the validator checks
 * and what history shows as the payload). Slots that are not JSON are reported in
 * `errors`, never thrown.
 */
export function triggerBodyFromEnvelope(envelope: EnvelopeSlots, errors: string[]): Record<string, unknown> {
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

/**
 * The `rejected` record of an event a stage refuses (the gateway at intake, the validator
 * against the event type): the envelope as received, with every reason.
 */
export function rejectedEvent(
  envelope: EventEnvelope,
  rejection: { stage: 'gateway' | 'validator'; reasonCode: string; errors: string[]; schemaVersion: number | null },
): RejectedEvent {
  return {
    event_id: envelope.event_id,
    team_id: envelope.team_id,
    environment: envelope.environment,
    code_name: envelope.code_name,
    dialect: envelope.dialect,
    received_at: envelope.received_at,
    rejected_at: Date.now(),
    stage: rejection.stage,
    reason_code: rejection.reasonCode,
    errors: rejection.errors,
    schema_version: rejection.schemaVersion,
    envelope_json: JSON.stringify(envelope),
  };
}
