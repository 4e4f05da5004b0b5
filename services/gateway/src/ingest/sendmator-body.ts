import { z } from 'zod';

/** The JSON kind of a value as seed 000's messages name it. */
const kindOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** `Invalid type for property: <path>. Expected <what>, got <kind>`: seed 000's wording, kept by the dialect. */
const invalidType = (path: string, expected: string) => (issue: { input?: unknown; code?: string }) =>
  issue.code === 'invalid_type' ? `Invalid type for property: ${path}. Expected ${expected}, got ${kindOf(issue.input)}` : undefined;

const text = (path: string) =>
  z
    .string({ error: invalidType(path, 'text') })
    .max(255, `Invalid type for property: ${path}. Expected text, got longer text`)
    .nullish();
const record = (path: string) => z.record(z.string(), z.unknown(), { error: invalidType(path, 'object') }).nullish();
/** Checked by the event payload validator against the event type (its messages); documented as its JSON type. */
const payload = (type: 'object' | 'string', description: string) => z.unknown().optional().meta({ type, description });

/** ISO 8601 date-time with an explicit zone; a bare date or local time is ambiguous for scheduling. */
export const triggerAtSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/)
  .refine((text) => !Number.isNaN(Date.parse(text)))
  .nullish();

/** event_name: a non-blank string (else seed 003's "Event name is required"). */
export const eventNameSchema = z.string().refine((name) => name.trim() !== '');

/**
 * Seed 003's send body, built twice from one definition: `strict` validates its shape
 * (every reason at once, seed 000's wording) and documents it; `lenient` reads what is
 * readable of a body that failed, so its payload is still checked against the event type
 * and every reason is answered at once. event_name and trigger_at are checked first, each
 * with its own seed 003 answer (eventNameSchema, triggerAtSchema); event_data and the
 * contact's email and phone by the event payload validator.
 */
function sendBody(strict: boolean) {
  const leaf = <T extends z.ZodType>(schema: T) => (strict ? schema : schema.catch(null as never));
  const object = <S extends z.ZodRawShape>(shape: S, path: string) =>
    (strict ? z.strictObject(shape, { error: invalidType(path, 'object') }) : z.looseObject(shape)).nullish();
  return z.strictObject(
    {
      event_name: z.string().describe("the event type's code_name"),
      user_info: leaf(
        object(
          {
            contact_external_id: leaf(text('user_info.contact_external_id')),
            email: payload('string', "the contact's email"),
            phone: payload('string', "the contact's phone, international format"),
            name: leaf(text('user_info.name')),
            custom_fields: leaf(record('user_info.custom_fields')),
          },
          'user_info',
        ),
      ),
      source: leaf(object({ type: leaf(text('source.type')), ip: leaf(text('source.ip')), user_agent: leaf(text('source.user_agent')) }, 'source')),
      event_data: payload('object', "checked against the event type's customData"),
      variables: leaf(record('variables')),
      trigger_at: z.unknown().optional().meta({ type: 'string', description: 'ISO 8601 date-time with a zone, in the future: schedules the event' }),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'Request body must be a JSON object' : undefined) },
  );
}

export const sendmatorBody = sendBody(true).meta({
  example: {
    event_name: 'user_signup',
    user_info: { contact_external_id: 'user_12345', email: 'john.doe@example.com', name: 'John Doe' },
    source: { type: 'web_signup', ip: '192.168.1.1' },
    event_data: { signup_method: 'google_oauth' },
  },
});
const lenientBody = sendBody(false).loose();

/** The body's fields, and every reason its shape is refused (empty when it is valid). */
export function readSendBody(body: unknown): { value: SendmatorBody; errors: string[] } {
  const parsed = sendmatorBody.safeParse(body);
  if (parsed.success) return { value: parsed.data, errors: [] };
  return { value: lenientBody.parse(body), errors: seedMessages(parsed.error) };
}

export type SendmatorBody = z.output<typeof sendmatorBody>;

/** A failed parse in seed 000's wording: `Unknown property: <path>` for each unknown key, the schema's message otherwise. */
export function seedMessages(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => `Unknown property: ${[...issue.path.map(String), key].join('.')}`) : [issue.message],
  );
}

/** Any JSON object; the first check of a dialect body. */
export const jsonObject = z.record(z.string(), z.unknown(), { error: 'Request body must be a JSON object' });
