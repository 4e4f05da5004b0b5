import { z } from 'zod';
import { PLAN_LIMITS, type Plan } from '@relay/control-plane';
import { EVENT_TARGETS, FIELD_TYPES, SLOTS } from '@relay/event-schema';

/*
 * The gateway's answers as zod schemas: the OpenAPI document's 2xx schemas and examples
 * are generated from them (@ZodAnswer), and the contract test validates real answers
 * against that document, so a view that drifts from its schema fails there.
 */

export const timestamp = z.string().meta({ format: 'date-time', example: '2026-01-01T00:00:00.000Z' });
const id = z.string().meta({ example: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' });
const json = z.record(z.string(), z.unknown());

/** `{"success": true}` and the envelopes around one item or a page of items. */
export const okAnswer = z.object({ success: z.literal(true) });
export const dataAnswer = <T extends z.ZodType>(item: T) => z.object({ success: z.literal(true), data: item });
export const pageAnswer = <T extends z.ZodType>(item: T) =>
  z.object({ success: z.literal(true), data: z.array(item), next_cursor: z.string().nullable().describe('cursor of the next page; null on the last') });

// ---------------------------------------------------------------- admin

const rateLimitView = z.object({ requests: z.number().int(), per: z.string().meta({ example: 'PT1S' }) }).nullable();
export const teamView = z.object({
  id,
  name: z.string().meta({ example: 'Acme' }),
  plan: z.enum(Object.keys(PLAN_LIMITS) as [Plan, ...Plan[]]).nullable(),
  rate_limit: rateLimitView,
  created_at: timestamp,
});
export const keyView = z.object({
  id,
  team_id: id,
  name: z.string().nullable(),
  prefix: z.string().meta({ example: 'rly_live_AbCd' }),
  environment: z.enum(['production', 'staging']),
  status: z.enum(['active', 'deactivated', 'revoked', 'expired']),
  rate_limit: rateLimitView,
  created_at: timestamp,
  last_used_at: timestamp.nullable(),
  expires_at: timestamp.nullable(),
  status_changed_at: timestamp.nullable(),
  rotated_from: id.nullable(),
});
export const createdKeyView = keyView.extend({ key: z.string().describe('the API key: shown in this answer only').meta({ example: 'rly_live_AbCd…' }) });
export const rotatedKeyView = createdKeyView.extend({ previous: keyView });
export const auditEntry = z.object({
  id,
  team_id: id,
  actor: z.string().meta({ example: 'admin' }),
  actor_type: z.string().meta({ example: 'admin' }),
  action: z.string().meta({ example: 'key.created' }),
  target_type: z.string().meta({ example: 'api_key' }),
  target_id: z.string().nullable(),
  details: json,
  created_at: timestamp,
});
export const auditPage = z.object({ data: z.array(auditEntry), next_cursor: z.string().nullable() });

// ---------------------------------------------------------------- event types

const fieldSpec = z.object({
  name: z.string().meta({ example: 'order_id' }),
  type: z.enum(FIELD_TYPES),
  required: z.boolean(),
  description: z.string().optional(),
});
const slots = z.partialRecord(z.enum(SLOTS), z.array(fieldSpec).nullable());
export const eventTypeView = z.object({
  id,
  team_id: id,
  code_name: z.string().meta({ example: 'store_purchase' }),
  name: z.string().meta({ example: 'Physical store purchase' }),
  description: z.string().nullable(),
  target: z.enum(EVENT_TARGETS),
  version: z.number().int(),
  properties: slots,
  created_at: timestamp,
  updated_at: timestamp,
  trigger_path: z.string().meta({ example: '/v1/events/trigger/store_purchase' }),
});

/**
 * createEvent's body as documentation: the event-schema library's parser validates it (seed
 * 000's messages, every reason at once); this schema describes the same shape.
 */
export const eventTypeBody = z
  .strictObject({
    name: z.string().min(1).max(255),
    code_name: z.string().describe('a word, Resource.Action or Resource_Action; used in the trigger URL'),
    description: z.string().max(1000).nullish(),
    target: z.enum(EVENT_TARGETS).default('contact'),
    properties: slots.optional(),
  })
  .meta({
    example: {
      name: 'Physical store purchase',
      code_name: 'store_purchase',
      properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] },
    },
  });
export const eventTypePatchBody = eventTypeBody.partial().meta({ example: { name: 'Store purchase' } });

// ---------------------------------------------------------------- ingestion

/** triggerEvent's body (seed 000): validated by the event payload validator against the event type. */
export const triggerBody = z
  .strictObject({
    contact: z.looseObject({ id: z.string().optional(), email: z.string().optional(), phone: z.string().optional(), customData: json.optional() }).optional(),
    visitor: z.looseObject({ id: z.string(), customData: json.optional() }).optional(),
    metaData: json.optional(),
    customData: json.optional(),
  })
  .describe("The fields of the payload are the event type's: see its properties")
  .meta({ example: { contact: { email: 'marie.dupont@example.com' }, metaData: { order_id: 12345 } } });
export const acceptedAnswer = z.object({ success: z.literal(true), event_id: id });

// ---------------------------------------------------------------- webhooks

export const attemptView = z.object({
  attempt_id: id,
  delivery_id: id,
  event_id: z.string().nullable(),
  attempt: z.number().int(),
  outcome: z.string().meta({ example: 'delivered' }),
  http_status: z.number().int().nullable(),
  latency_ms: z.number(),
  error: z.string().nullable(),
  response_snippet: z.string().nullable(),
  attempted_at: timestamp,
});
export const replayAnswer = z.object({ success: z.literal(true), replayed: z.array(id) });

// ---------------------------------------------------------------- scenarios and contacts

export const scenarioView = z.object({
  id,
  name: z.string().meta({ example: 'Welcome' }),
  code_names: z.array(z.string().meta({ example: 'user_signup' })),
  status: z.enum(['active', 'paused', 'stopped']),
  tags: z.object({ any: z.array(z.string()).optional(), all: z.array(z.string()).optional(), none: z.array(z.string()).optional() }),
  filter: z.unknown().nullable().describe('filter rule (docs/scenarios.md)'),
  cooldown: z.string().nullable(),
  actions: z.array(
    z.object({
      type: z.literal('webhook'),
      webhook_id: id,
      delay: z.string().nullable(),
      delay_max: z.string().nullable(),
      template: z.string().nullable(),
    }),
  ),
  variables: json,
  version: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
});
export const contactView = z.object({
  id: z.string().meta({ example: 'c-42' }),
  external_id: z.string().nullable(),
  email: z.string().nullable().meta({ example: 'marie@example.com' }),
  phone: z.string().nullable(),
  name: z.string().nullable(),
  tags: z.array(z.string()),
  custom_data: json,
  created_at: timestamp,
  updated_at: timestamp,
});
/** One line of the import's NDJSON answer. */
export const importLine = z
  .looseObject({ type: z.enum(['error', 'progress', 'done', 'failed']) })
  .meta({ example: { type: 'done', lines: 2, upserted: 2, errors: 0 } });

// ---------------------------------------------------------------- history and triggers

/** A history row: the main fields; the rest of the row (payload, timings) passes through. */
const historyRow = z.looseObject({
  event_id: id,
  team_id: id,
  code_name: z.string(),
  status: z.string().meta({ example: 'matched' }),
});
export const historyPage = pageAnswer(historyRow);
export const historyEvent = dataAnswer(historyRow.extend({ scenario_runs: z.array(json), deliveries: z.array(json) }));

const summary = z.object({
  total_contacts: z.number().int(),
  sent: z.number().int(),
  failed: z.number().int(),
  filtered: z.number().int(),
  scheduled: z.number().int(),
  cancelled: z.number().int(),
  pending: z.number().int(),
});
const triggerState = z.enum(['queued', 'processing', 'scheduled', 'completed', 'failed']);
export const triggerStatusView = z.object({
  id,
  flow_type: z.literal('workflow'),
  trigger_type: z.literal('event'),
  code_name: z.string(),
  status: triggerState,
  outcome: z.string(),
  contact_id: z.string().nullable(),
  created_at: timestamp,
  started_at: timestamp.nullable(),
  completed_at: timestamp.nullable(),
  summary,
  errors: z.array(z.string()).optional(),
  details_endpoint: z.string(),
});
const actionState = z.enum(['delivered', 'failed', 'cancelled', 'scheduled', 'pending', 'retrying']);
export const triggerWorkflowView = z.object({
  id,
  status: triggerState,
  contact: json.nullable(),
  scenarios: z.array(
    z.object({
      scenario_id: id,
      name: z.string(),
      outcome: z.string(),
      reason: z.string().nullable(),
      decided_at: timestamp,
      actions: z.array(
        z.object({
          action_index: z.number().int(),
          webhook_id: id,
          delivery_id: z.string().nullable(),
          planned: z.string(),
          status: actionState,
          attempts: z.number().int(),
          last_http_status: z.number().int().nullable(),
          last_error: z.string().nullable(),
          due_at: timestamp.nullable(),
          error: z.string().optional(),
        }),
      ),
    }),
  ),
  subscriptions: z.array(
    z.object({
      delivery_id: id,
      endpoint_id: z.string().nullable(),
      status: actionState,
      attempts: z.number().int(),
      last_http_status: z.number().int().nullable(),
      last_error: z.string().nullable(),
    }),
  ),
});

// ---------------------------------------------------------------- dialects

export const sendAnswer = z.object({
  success: z.literal(true),
  trigger_id: id,
  job_id: id,
  message: z.string().meta({ example: 'Event queued successfully' }),
  scheduled_for: timestamp.optional(),
});
export const dryRunAnswer = z.object({
  success: z.literal(true),
  dry_run: z.literal(true),
  code_name: z.string(),
  trigger_at: timestamp.nullable(),
  outcome: z.enum(['no_target', 'matched', 'scheduled', 'unmatched']),
  contact: z
    .object({
      id: z.string().nullable(),
      matched_by: z.enum(['id', 'external_id', 'email', 'phone']).nullable(),
      conflicts: z.array(z.object({ kind: z.enum(['id', 'external_id', 'email', 'phone']), contact_id: z.string() })),
      would_create: z.boolean(),
      data: contactView.nullable(),
    })
    .nullable(),
  summary: z.object({
    scenarios: z.number().int(),
    would_fire: z.number().int(),
    filtered: z.number().int(),
    deliveries: z.number().int(),
    scheduled: z.number().int(),
    failed: z.number().int(),
  }),
  scenarios: z.array(z.looseObject({ scenario_id: id, name: z.string(), outcome: z.string(), deliveries: z.array(json) })),
});

export const collectAnswer = z.union([
  z.object({ success: z.literal(true), event_id: id }).describe('track: accepted'),
  z
    .object({ success: z.literal(true), event_id: id, status: z.literal('rejected'), errors: z.array(z.string()) })
    .describe('track without debug: recorded as rejected'),
  z.object({ success: z.literal(true), client_id: z.string(), email: z.string(), expires_at: timestamp }).describe('identify: the link'),
]);
