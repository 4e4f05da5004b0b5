import { randomUUID } from 'node:crypto';
import type { ContactRef, EventEnvelope } from '@relay/contracts';

/** A contact reference with every optional field empty, plus the given identifiers. */
export function makeContactRef(fields: Partial<ContactRef> = {}): ContactRef {
  return { id: null, email: null, phone: null, custom_data_json: null, external_id: null, name: null, attributes_json: null, ...fields };
}

/**
 * An EventEnvelope as a direct Kafka producer would write it: every optional field empty,
 * a fresh event id, `store_purchase` by default. Specs and benches override what they test.
 */
export function makeEnvelope(overrides: Partial<EventEnvelope> & Pick<EventEnvelope, 'team_id'>): EventEnvelope {
  return {
    event_id: randomUUID(),
    environment: 'production',
    code_name: 'store_purchase',
    dialect: 'kafka',
    received_at: Date.now(),
    idempotency_key: null,
    contact: null,
    visitor: null,
    meta_data_json: null,
    custom_data_json: null,
    variables_json: null,
    source: null,
    trigger_at: null,
    occurred_at: null,
    client_id: null,
    requires_identity: false,
    schema_version: null,
    ...overrides,
  };
}

/**
 * The event type of seed 000's createEvent example (`store_purchase`), as a client sends it
 * to POST /v1/event-types. A fresh copy each call: specs may change theirs.
 */
export function storePurchaseType() {
  return {
    name: 'Physical store purchase',
    code_name: 'store_purchase',
    properties: {
      metaData: [
        { name: 'order_id', type: 'number', required: true },
        { name: 'total_amount', type: 'decimal', required: true },
        { name: 'store_code', type: 'text', required: false },
      ],
    },
  };
}
