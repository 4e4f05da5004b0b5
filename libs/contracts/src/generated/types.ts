// Generated from schemas/*.avsc by `npm run gen:types`. Do not edit by hand.

export interface ContactRef {
  id: null | string;
  email: null | string;
  phone: null | string;
  /** contact.customData slot, JSON text. */
  custom_data_json: null | string;
}

export interface VisitorRef {
  id: null | string;
  /** visitor.customData slot, JSON text. */
  custom_data_json: null | string;
}

/** One business event, whatever dialect it arrived in. Written to relay.events.ingested by the gateway or by direct producers, and to relay.events.validated by the validator (with schema_version set). */
export interface EventEnvelope {
  /** UUIDv7 assigned at ingestion; stable across every stage and retry. */
  event_id: string;
  team_id: string;
  /** production or staging, from the API key. */
  environment: string;
  /** Event type code_name as sent by the emitter. */
  code_name: string;
  /** shopimind, sendmator, simon or kafka. */
  dialect: string;
  received_at: number;
  idempotency_key: null | string;
  contact: null | ContactRef;
  visitor: null | VisitorRef;
  /** metaData slot, JSON text of an object. */
  meta_data_json: null | string;
  /** customData slot, JSON text of an object. */
  custom_data_json: null | string;
  /** Event-type schema version the event was validated against; set by the validator. */
  schema_version: null | number;
}

/** An event that failed validation, with every reason. Written to relay.events.rejected; never silently dropped. */
export interface RejectedEvent {
  event_id: string;
  team_id: string;
  environment: string;
  code_name: string;
  dialect: string;
  received_at: number;
  rejected_at: number;
  /** Which stage rejected it: validator. */
  stage: string;
  /** Stable code of the main reason, e.g. UNKNOWN_EVENT_TYPE, INVALID_PAYLOAD. */
  reason_code: string;
  /** Every error, in seed 000's wording. */
  errors: Array<string>;
  schema_version: null | number;
  /** The rejected envelope as JSON text, so history keeps the payload. */
  envelope_json: string;
}

/** A message a stage could not process at all (undecodable bytes, unknown schema, a poison record). Written to relay.dlq with where it came from and why, so its partition is never blocked. */
export interface DeadLetter {
  source_topic: string;
  source_partition: number;
  source_offset: string;
  /** Consumer group / service that failed to process it. */
  stage: string;
  /** Stable code, e.g. UNDECODABLE, SCHEMA_NOT_FOUND, HANDLER_FAILED. */
  reason_code: string;
  reason: string;
  failed_at: number;
  key: null | Buffer;
  value: null | Buffer;
  headers: Record<string, string>;
}
