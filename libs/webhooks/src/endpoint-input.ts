import { z } from 'zod';
import { CODE_NAME_PATTERN } from '@relay/event-schema';
import { RATE_LIMIT_MAX_REQUESTS, rateLimitPeriodMs } from './rate-limit';
import { RELAY_KINDS, contactFieldErrors, type EndpointInput, type Environment } from './endpoints';

const intBetween = (field: string, min: number, max: number) => {
  const message = `${field} must be an integer between ${min} and ${max}`;
  return z.number({ error: message }).int(message).min(min, message).max(max, message);
};
const oneOf = <T extends string>(field: string, values: readonly [T, ...T[]]) => z.enum(values, { error: `${field} must be one of ${values.join(', ')}` });
const isEvent = (e: string) => (RELAY_KINDS as readonly string[]).includes(e) || (CODE_NAME_PATTERN.test(e) && e.length <= 100);

/**
 * An endpoint's settable fields (POST /v1/webhooks, every field of PATCH): one schema
 * validates the body (every reason at once) and documents it in the OpenAPI document.
 * The URL's syntax is checked here; its addresses by assertDeliverableUrl (needs DNS).
 */
const fields = {
  url: z
    .string({ error: 'url is required and must be a string' })
    .min(1, 'url is required and must be a string')
    .meta({ example: 'https://crm.example.com/hooks/relay' }),
  description: z
    .string({ error: 'description must be a string of at most 500 characters' })
    .max(500, 'description must be a string of at most 500 characters')
    .nullable(),
  events: z
    .array(
      z
        .string()
        .refine(isEvent, { error: (issue) => `events: ${JSON.stringify(issue.input)} is neither a code_name nor a Relay kind (${RELAY_KINDS.join(', ')})` }),
      {
        error: 'events must be a non-empty array of at most 100 code_names or Relay kinds',
      },
    )
    .min(1, 'events must be a non-empty array of at most 100 code_names or Relay kinds')
    .max(100, 'events must be a non-empty array of at most 100 code_names or Relay kinds')
    .transform((events) => [...new Set(events)])
    .describe(`code_names and Relay kinds (${RELAY_KINDS.join(', ')})`),
  contact_fields: z
    .array(z.string({ error: (issue) => `contact_fields: ${JSON.stringify(issue.input)} is not a string` }), {
      error: 'contact_fields must be an array of at most 50 field names',
    })
    .max(50, 'contact_fields must be an array of at most 50 field names')
    .superRefine((list, ctx) => {
      for (const message of contactFieldErrors(list)) ctx.addIssue({ code: 'custom', message });
    })
    .transform((list) => [...new Set(list)])
    .describe('contact profile fields (id, external_id, email, phone, name, tags) or custom_data.<key>'),
  batch: z
    .strictObject(
      { max_events: intBetween('batch.max_events', 1, 1000), max_wait_ms: intBetween('batch.max_wait_ms', 0, 600000) },
      { error: 'batch must be null or {"max_events", "max_wait_ms"}' },
    )
    .nullable(),
  environment: oneOf('environment', ['production', 'staging']),
  signature: oneOf('signature', ['standard', 'shopimind']),
  success_contract: oneOf('success_contract', ['2xx', 'strict']),
  status: oneOf('status', ['enabled', 'disabled']),
  timeout_ms: intBetween('timeout_ms', 100, 30000),
  max_concurrency: intBetween('max_concurrency', 1, 64),
  rate_limit: z
    .strictObject(
      {
        requests: intBetween('rate_limit.requests', 1, RATE_LIMIT_MAX_REQUESTS),
        per: z.string().refine((per) => rateLimitPeriodMs(per) !== null, 'rate_limit.per must be an ISO 8601 duration between PT0.1S and PT24H, e.g. "PT1S"'),
      },
      { error: 'rate_limit must be null or {"requests", "per"}' },
    )
    .nullable(),
};

/** PATCH: any subset of the fields. */
export const endpointPatchSchema = z
  .strictObject(fields, { error: 'body must be a JSON object' })
  .partial()
  .meta({ example: { status: 'disabled' } });

/** Create: url and events required; environment and timeout_ms default to the key's environment and the configured timeout. */
export const endpointCreateSchema = z
  .strictObject(
    {
      ...fields,
      description: fields.description.default(null),
      contact_fields: fields.contact_fields.default([]),
      batch: fields.batch.default(null),
      environment: fields.environment.optional().describe("default: the API key's environment"),
      signature: fields.signature.default('standard'),
      success_contract: fields.success_contract.default('2xx'),
      status: fields.status.default('enabled'),
      timeout_ms: fields.timeout_ms.optional().describe('default: RELAY_WEBHOOK_TIMEOUT_MS'),
      max_concurrency: fields.max_concurrency.default(4),
      rate_limit: fields.rate_limit.default(null),
    },
    { error: 'body must be a JSON object' },
  )
  .meta({
    example: { url: 'https://crm.example.com/hooks/relay', events: ['store_purchase', 'delivery.failed'], contact_fields: ['email', 'custom_data.tier'] },
  });

export type EndpointCreateBody = z.output<typeof endpointCreateSchema>;
export type EndpointPatchBody = z.output<typeof endpointPatchSchema>;

/** A create body with the defaults that depend on the caller: the key's environment, the configured timeout. */
export function withDefaults(body: EndpointCreateBody, defaults: { environment: Environment; timeoutMs: number }): EndpointInput {
  return { ...body, environment: body.environment ?? defaults.environment, timeout_ms: body.timeout_ms ?? defaults.timeoutMs };
}
