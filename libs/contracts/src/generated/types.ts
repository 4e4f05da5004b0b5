// Generated from schemas/*.avsc by `npm run gen:types`. Do not edit by hand.

export interface ContactRef {
  id: null | string;
  email: null | string;
  phone: null | string;
  /** contact.customData slot, JSON text. */
  custom_data_json: null | string;
  /** The emitter's own id of the contact (Sendmator contact_external_id). */
  external_id: null | string;
  /** Display name to upsert on the contact profile. */
  name: null | string;
  /** Profile fields to upsert on the contact (Sendmator custom_fields), JSON text; not part of the event-type schema. */
  attributes_json: null | string;
}

export interface VisitorRef {
  id: null | string;
  /** visitor.customData slot, JSON text. */
  custom_data_json: null | string;
}

export interface EventSource {
  type: null | string;
  ip: null | string;
  user_agent: null | string;
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
  /** Template variables for scenario actions (Sendmator variables), JSON text of an object. */
  variables_json: null | string;
  /** Where the event came from (Sendmator source). */
  source: null | EventSource;
  /** When scenarios should run, if later than now (Sendmator trigger_at): the event waits durably until then. */
  trigger_at: null | number;
  /** When the emitter says the event happened (Simon sentAt). */
  occurred_at: null | number;
  /** Anonymous client id (Simon clientId), linked to a contact by identify calls for 7 days. */
  client_id: null | string;
  /** Simon requiresIdentity: without an email (given or from a live identify link) the event is rejected with IDENTITY_REQUIRED. */
  requires_identity: boolean;
  /** Event-type schema version the event was validated against: set by the gateway for HTTP events (the validator then checks against that same version), by the validator for events produced straight to Kafka. */
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

/** One outbound webhook delivery to one endpoint: an event for an endpoint subscribed to its code_name, a fired scenario action, or one of Relay's own kinds (event.rejected, delivery.failed). Written to relay.webhooks.deliveries keyed by endpoint_id; the dispatcher batches, signs, sends and retries it. */
export interface WebhookDelivery {
  /** Stable id (UUIDv7), the same on every retry: sent as webhook-id so receivers can deduplicate. */
  delivery_id: string;
  team_id: string;
  /** production or staging; staging deliveries never reach production endpoints. */
  environment: string;
  endpoint_id: string;
  /** subscription (event of a subscribed code_name), scenario_action, or relay (Relay's own event kinds). */
  kind: string;
  /** What happened, e.g. the code_name, or event.rejected / delivery.failed. */
  action: string;
  event_id: null | string;
  code_name: null | string;
  scenario_id: null | string;
  action_index: null | number;
  /** The resolved contact (id, email, phone, fields) as JSON text. */
  contact_json: null | string;
  /** The body of this delivery's item as JSON text (event data, or a scenario's rendered template). */
  payload_json: string;
  /** When the event was received by Relay. */
  occurred_at: number;
  created_at: number;
}

/** One HTTP attempt of a delivery (or of a batch: one record per delivery in it). Written to relay.webhooks.attempts keyed by endpoint_id; feeds history and endpoint health. */
export interface WebhookAttempt {
  attempt_id: string;
  delivery_id: string;
  team_id: string;
  endpoint_id: string;
  event_id: null | string;
  /** 1 for the first try. */
  attempt: number;
  /** succeeded, retrying (failed, another attempt is scheduled), dead (failed, no attempt left: dead-lettered) or cancelled (a scheduled scenario action cancelled before its release, reported by the matcher's scheduler: attempt 0, latency 0, no HTTP request, error = the reason). */
  outcome: string;
  http_status: null | number;
  latency_ms: number;
  error: null | string;
  /** First bytes of the response body. */
  response_snippet: null | string;
  attempted_at: number;
  /** The delivery's kind (subscription, scenario_action, relay); '' from producers that predate the field. */
  kind: string;
  environment: string;
  code_name: null | string;
  scenario_id: null | string;
  /** When Relay received the event behind the delivery: attempted_at - occurred_at is the event-to-delivery time. */
  occurred_at: null | number;
  delivery_created_at: null | number;
}

/** A webhook delivery that failed its last attempt (or whose endpoint was disabled or deleted). Written to relay.webhooks.deliveries.dead keyed by endpoint_id; kept replayable in PostgreSQL (POST /v1/webhooks/:id/replay). */
export interface WebhookDeadLetter {
  delivery_id: string;
  team_id: string;
  endpoint_id: string;
  environment: string;
  kind: string;
  action: string;
  event_id: null | string;
  /** Attempts made before giving up. */
  attempts: number;
  last_http_status: null | number;
  last_error: null | string;
  /** The WebhookDelivery record as JSON text, so it can be replayed as it was. */
  delivery_json: string;
  failed_at: number;
}

export interface ScenarioRunAction {
  action_index: number;
  webhook_id: string;
  delivery_id: null | string;
  /** produced (sent to the deliveries topic now), scheduled or failed (template error). */
  status: string;
  due_at: null | number;
  error: null | string;
}

export interface ScenarioRun {
  scenario_id: string;
  name: string;
  /** matched, scheduled, filtered, cooldown, paused, stopped, no_target or failed. */
  outcome: string;
  /** Why it did not fire (filter, tags, cooldown), '' otherwise. */
  reason: string;
  actions: Array<ScenarioRunAction>;
}

/** What the matcher decided for one validated event: no_target (no contact resolved, nothing fired), matched (at least one scenario fired an action now) or scheduled (an action waits for its due time). Written to relay.events.outcomes keyed like the event; history turns it into the event's row with that status. */
export interface EventOutcome {
  event_id: string;
  team_id: string;
  /** no_target, unmatched (contact found, nothing fired), matched or scheduled (history-store's EVENT_STATUS_RANK names). */
  status: string;
  /** CONTACT_NOT_FOUND or NO_CONTACT_IN_EVENT for no_target; NO_SCENARIO_SUBSCRIBED or NO_SCENARIO_FIRED for unmatched. */
  reason_code: string;
  /** The resolved contact's id. */
  contact_id: null | string;
  scenarios_fired: number;
  /** Actions produced to the deliveries topic now. */
  deliveries: number;
  /** Actions stored for later release. */
  scheduled: number;
  decided_at: number;
  /** The validated envelope as JSON text, so history can rewrite the whole row (ReplacingMergeTree keeps one row per event). */
  envelope_json: string;
  /** Every subscribed scenario judged for this event with its verdict and actions; history stores one scenario_runs row each. Empty from producers that predate the field. */
  scenario_runs: Array<ScenarioRun>;
}
