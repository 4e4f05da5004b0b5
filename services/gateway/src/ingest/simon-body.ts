import { z } from 'zod';
import { seedMessages } from './sendmator-body';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Seed 002's collect body, built twice from one definition: `strict` documents it and
 * names its unknown fields (`Unknown property: x`, refused as INVALID_PAYLOAD); `lenient`
 * reads it as the vendor does: a field of the wrong type counts as absent (properties
 * that are not an object are none, a clientId that is not a string is no clientId), and
 * what that leaves missing is refused with its own reason (properties.eventName, traits.email).
 */
function collectBody(strict: boolean) {
  const leaf = <T extends z.ZodType>(schema: T, absent: unknown) => (strict ? schema : schema.catch(absent as never));
  const object = <S extends z.ZodRawShape>(shape: S) => (strict ? z.object(shape) : z.looseObject(shape));
  return z.strictObject({
    partnerId: leaf(z.string().describe('the team id'), null),
    partnerSecret: leaf(z.string().describe('the API key'), ''),
    type: leaf(z.enum(['track', 'identify']), null),
    event: leaf(z.literal('custom').optional().describe('track: only custom events'), null),
    clientId: leaf(z.string().min(1).optional().describe('links identify and track calls (7 days)'), undefined),
    context: leaf(
      object({ debug: leaf(z.boolean().optional().describe('true: a refused payload answers 412 with the reasons'), false) }).optional(),
      undefined,
    ),
    sentAt: leaf(z.number().optional().describe('epoch ms: the time the event occurred'), undefined),
    properties: leaf(
      object({
        eventName: leaf(z.string().describe("the event type's code_name"), ''),
        requiresIdentity: leaf(z.boolean().optional().describe('default true: without traits.email and no identify link, the event is refused'), undefined),
        properties: z.unknown().optional().meta({ type: 'object', description: "checked against the event type's customData" }),
      }).optional(),
      undefined,
    ),
    traits: leaf(
      object({
        // Checked by the event payload validator (contact.id, contact.email): kept as sent.
        userId: strict ? z.union([z.string(), z.number()]).optional() : z.unknown().optional(),
        email: strict ? z.string().optional() : z.unknown().optional(),
      }).optional(),
      undefined,
    ),
    userId: z.unknown().optional().meta({ type: 'string' }),
  });
}

export const simonBody = collectBody(true).meta({
  example: {
    partnerId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    partnerSecret: 'rly_live_…',
    clientId: '92adbc3c-c22b-49bf-a9ae-11d9e8b3e6b4',
    context: { debug: true },
    type: 'track',
    event: 'custom',
    properties: { eventName: 'some_event', properties: { someProperty: 'Some value' } },
    traits: { userId: '97980cfea0067', email: 'marie@example.com' },
  },
});
const lenientBody = collectBody(false).loose();
export type CollectBody = z.output<typeof lenientBody>;

/** The body read leniently, and its unknown fields as reasons (the rest of the strict schema's reasons are the vendor's to give, below). */
export function readCollectBody(body: Record<string, unknown>): { value: CollectBody; unknown: string[] } {
  const strict = simonBody.safeParse(body);
  const unknown = strict.success ? [] : seedMessages(strict.error).filter((m) => m.startsWith('Unknown property: '));
  return { value: lenientBody.parse(body), unknown };
}

/** identify: a clientId and traits.email (normalised), every reason at once. */
export const identifySchema = z.object({
  clientId: z.string({ error: 'Missing required property: clientId' }).min(1, 'Missing required property: clientId'),
  email: z
    .string({ error: 'traits.email must be a valid email address' })
    .transform((email) => email.trim().toLowerCase())
    .pipe(z.string().regex(EMAIL, 'traits.email must be a valid email address')),
  /** traits.userId, kept on the link when it is a string or a number. */
  userId: z.union([z.string(), z.number()]).transform(String).nullable().catch(null),
});
