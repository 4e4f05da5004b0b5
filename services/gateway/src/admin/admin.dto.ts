import { z } from 'zod';
import { cursorParam, limitParam } from '@relay/http-api';
import { PLAN_LIMITS, parseIsoDuration, type Plan, type RateLimit } from '@relay/control-plane';

const PLANS = Object.keys(PLAN_LIMITS) as [Plan, ...Plan[]];
const MAX_WINDOW_SECONDS = 31 * 86400;

/** An ISO 8601 duration of whole seconds up to P31D, parsed to seconds (the JSON Schema shows the string). */
const duration = (message: string) =>
  z
    .string({ error: message })
    .refine((text) => {
      const s = parseIsoDuration(text);
      return s !== null && s <= MAX_WINDOW_SECONDS;
    }, message)
    .transform((text) => parseIsoDuration(text) as number);

/** `{"requests", "per"}`: at most `requests` per `per` window; absent or null = no limit of its own. */
export const rateLimitSchema = z
  .strictObject(
    {
      requests: z
        .number({ error: 'rate_limit.requests must be an integer between 1 and 1000000000' })
        .int('rate_limit.requests must be an integer between 1 and 1000000000')
        .min(1, 'rate_limit.requests must be an integer between 1 and 1000000000')
        .max(1_000_000_000, 'rate_limit.requests must be an integer between 1 and 1000000000'),
      per: duration('rate_limit.per must be an ISO 8601 duration of whole seconds up to P31D (e.g. PT1S, PT1M, PT1H, P1D)'),
    },
    { error: 'rate_limit must be an object {"requests", "per"}' },
  )
  .nullish()
  .transform((v): RateLimit | null => (v ? { requests: v.requests, perSeconds: v.per } : null))
  .meta({ example: { requests: 100, per: 'PT1S' } });

export const createTeamSchema = z
  .strictObject(
    {
      name: z
        .string({ error: 'name is required: a string of 1 to 200 characters' })
        .trim()
        .min(1, 'name is required: a string of 1 to 200 characters')
        .max(200, 'name is required: a string of 1 to 200 characters'),
      plan: z.enum(PLANS, { error: `plan must be one of ${PLANS.join(', ')}` }).optional(),
      rate_limit: rateLimitSchema,
    },
    { error: 'Body must be a JSON object {"name"}' },
  )
  .meta({ example: { name: 'Acme', plan: 'pro' } });

export const createKeySchema = z
  .strictObject(
    {
      environment: z.enum(['production', 'staging'], { error: 'environment must be "production" or "staging"' }),
      name: z.string({ error: 'name must be a string of at most 200 characters' }).max(200, 'name must be a string of at most 200 characters').nullish(),
      rate_limit: rateLimitSchema,
      expires_at: z.iso
        .datetime({ offset: true, error: 'expires_at must be an ISO 8601 date-time', abort: true })
        .refine((text) => Date.parse(text) > Date.now(), 'expires_at must be in the future')
        .nullish(),
    },
    { error: 'Body must be a JSON object {"environment"}' },
  )
  .meta({ example: { environment: 'production', name: 'shop backend', rate_limit: { requests: 50, per: 'PT1S' } } });

/** `{"overlap"?: "PT1H"}`: how long the old key keeps working after a rotation (default: not at all). */
export const rotateKeySchema = z
  .strictObject(
    { overlap: duration('overlap must be an ISO 8601 duration up to P31D (e.g. PT10M, PT1H)').nullish() },
    { error: 'Body must be a JSON object {"overlap"?}' },
  )
  .meta({ example: { overlap: 'PT1H' } });

export const auditQuerySchema = z.object({
  limit: limitParam(500, 100),
  cursor: cursorParam,
  target_type: z.string().min(1).optional().describe('e.g. api_key, team, event_type'),
});

export type CreateTeamInput = z.output<typeof createTeamSchema>;
export type CreateKeyInput = z.output<typeof createKeySchema>;
export type RotateKeyInput = z.output<typeof rotateKeySchema>;
export type AuditQuery = z.output<typeof auditQuerySchema>;
