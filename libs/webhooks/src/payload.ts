import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { EventEnvelope, RejectedEvent, WebhookDelivery } from '@relay/contracts';
import type { Contact } from '@relay/scenarios';

// Fixed namespace for deterministic delivery ids (uuid v5): the same event fanned out
// twice to the same endpoint (a Kafka redelivery) gets the same delivery_id, which the
// pending table deduplicates and receivers see as the same webhook-id.
const NAMESPACE = '6f1c1a52-7a57-4d1e-9b2a-2f7f3c0e5a10';

export function deliveryIdFor(...parts: string[]): string {
  return uuidv5(parts.join('\u0000'), NAMESPACE);
}

/**
 * Who an event was about, as the matcher resolved it when it matched the event: the
 * contact's profile (what `contact_fields` pick from), or why there is none — a visitor
 * (anonymous id only) or an unknown target (no contact matched the event's identifiers).
 */
export type ContactSnapshot =
  ({ target: 'contact' } & Omit<Contact, 'created_at' | 'updated_at'>) | { target: 'visitor'; visitor_id: string | null } | { target: 'unknown' };

/** One item of a POST: seed 004's event shape plus Relay's own fields. */
export interface DeliveryItem {
  action: string;
  action_date: number;
  action_data: Record<string, unknown>;
  /**
   * Seed 004's contact: `base` is Relay's contact id, `fields` one object with every field
   * the endpoint asked for (null when the contact has no value). `target` says who the
   * event was about: `contact`, `visitor` or `unknown` (then `base` and `fields` are empty).
   * Relay's own kinds (event.rejected, delivery.failed, endpoint.disabled) carry no target.
   */
  contact: { base: string[]; fields: Record<string, unknown>[]; target?: ContactSnapshot['target'] };
  delivery_id: string;
  event_id: string | null;
  code_name: string | null;
  kind: string;
  environment: string;
  scenario: { id: string; action_index: number | null } | null;
  occurred_at: string;
  payload: unknown;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The value of one `contact_fields` name in a contact profile (see contactFieldErrors). */
function fieldValue(contact: Record<string, unknown>, field: string): unknown {
  const custom = (typeof contact.custom_data === 'object' && contact.custom_data !== null ? contact.custom_data : {}) as Record<string, unknown>;
  if (field.startsWith('custom_data.')) return custom[field.slice('custom_data.'.length)] ?? null;
  if (Object.hasOwn(contact, field) && field !== 'custom_data' && field !== 'target') return contact[field] ?? null;
  // Endpoints created before contact_fields were validated may name a custom key bare.
  return custom[field] ?? null;
}

/**
 * The item of one delivery. `contact` comes from the delivery's contact snapshot
 * (subscriptions and scenario actions: the contact as the matcher resolved it), with the
 * fields the endpoint asks for (contact_fields) read from that snapshot.
 */
export function deliveryItem(d: WebhookDelivery, contactFields: readonly string[]): DeliveryItem {
  const contact = (parseJson(d.contact_json) ?? {}) as Record<string, unknown>;
  // Scenario actions' snapshots have no target field: they always name a found contact.
  const target = typeof contact.target === 'string' ? (contact.target as ContactSnapshot['target']) : d.contact_json ? 'contact' : 'unknown';
  const id = typeof contact.id === 'string' && contact.id.length > 0 ? contact.id : undefined;
  const known = target === 'contact';
  const fields: Record<string, unknown> = {};
  for (const f of contactFields) fields[f] = fieldValue(contact, f);
  const item = {
    base: known && id ? [id] : [],
    fields: known && contactFields.length > 0 ? [fields] : [],
  };
  return {
    action: d.action,
    action_date: Math.floor(d.occurred_at / 1000),
    action_data: {
      ...(d.event_id ? { event_id: d.event_id } : {}),
      ...(d.scenario_id ? { scenario_id: d.scenario_id, action_index: d.action_index } : {}),
    },
    contact: d.kind === 'relay' ? item : { ...item, target },
    delivery_id: d.delivery_id,
    event_id: d.event_id,
    code_name: d.code_name,
    kind: d.kind,
    environment: d.environment,
    scenario: d.scenario_id ? { id: d.scenario_id, action_index: d.action_index } : null,
    occurred_at: new Date(d.occurred_at).toISOString(),
    payload: parseJson(d.payload_json),
  };
}

/**
 * The body of one POST: the item itself without batching; `{"events": [...]}` (seed
 * 004, always an array) with batching. The webhook-id of a batch is derived from its
 * delivery ids, so a batch retried with the same members keeps its id.
 */
export function requestBody(deliveries: readonly WebhookDelivery[], contactFields: readonly string[], batching: boolean): { id: string; body: string } {
  if (!batching) {
    const d = deliveries[0] as WebhookDelivery;
    return { id: d.delivery_id, body: JSON.stringify(deliveryItem(d, contactFields)) };
  }
  const id =
    deliveries.length === 1
      ? (deliveries[0] as WebhookDelivery).delivery_id
      : `batch_${createHash('sha256')
          .update(
            deliveries
              .map((d) => d.delivery_id)
              .sort()
              .join(','),
          )
          .digest('base64url')
          .slice(0, 32)}`;
  return { id, body: JSON.stringify({ events: deliveries.map((d) => deliveryItem(d, contactFields)) }) };
}

const json = (text: string | null) => parseJson(text) ?? undefined;

/**
 * A matched event as a `subscription` delivery to one endpoint, for the contact the
 * matcher resolved (its profile as it stood when the event was matched).
 */
export function subscriptionDelivery(e: EventEnvelope, endpointId: string, contact: ContactSnapshot, now = Date.now()): WebhookDelivery {
  return {
    delivery_id: deliveryIdFor('subscription', e.event_id, endpointId),
    team_id: e.team_id,
    environment: e.environment,
    endpoint_id: endpointId,
    kind: 'subscription',
    action: e.code_name,
    event_id: e.event_id,
    code_name: e.code_name,
    scenario_id: null,
    action_index: null,
    contact_json: JSON.stringify(contact),
    payload_json: JSON.stringify({
      metaData: json(e.meta_data_json),
      customData: json(e.custom_data_json),
      visitor: e.visitor ? { id: e.visitor.id, customData: json(e.visitor.custom_data_json) } : undefined,
      schema_version: e.schema_version,
    }),
    occurred_at: e.received_at,
    created_at: now,
  };
}

/** A rejected event as an `event.rejected` relay delivery. */
export function rejectedDelivery(r: RejectedEvent, endpointId: string, now = Date.now()): WebhookDelivery {
  return {
    delivery_id: deliveryIdFor('event.rejected', r.event_id, endpointId),
    team_id: r.team_id,
    environment: r.environment,
    endpoint_id: endpointId,
    kind: 'relay',
    action: 'event.rejected',
    event_id: r.event_id,
    code_name: r.code_name,
    scenario_id: null,
    action_index: null,
    contact_json: null,
    payload_json: JSON.stringify({ reason_code: r.reason_code, errors: r.errors, stage: r.stage, rejected_at: new Date(r.rejected_at).toISOString() }),
    occurred_at: r.received_at,
    created_at: now,
  };
}

/** Relay's own notifications (delivery.failed, endpoint.disabled) to one endpoint. */
export function relayDelivery(
  action: 'delivery.failed' | 'endpoint.disabled',
  source: { id: string; team_id: string; environment: string; event_id?: string | null; code_name?: string | null },
  endpointId: string,
  payload: Record<string, unknown>,
  now = Date.now(),
): WebhookDelivery {
  return {
    delivery_id: deliveryIdFor(action, source.id, endpointId),
    team_id: source.team_id,
    environment: source.environment,
    endpoint_id: endpointId,
    kind: 'relay',
    action,
    event_id: source.event_id ?? null,
    code_name: source.code_name ?? null,
    scenario_id: null,
    action_index: null,
    contact_json: null,
    payload_json: JSON.stringify(payload),
    occurred_at: now,
    created_at: now,
  };
}
