import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';
import { validateCodeName } from '@relay/event-schema';
import { durationMs } from './duration';
import { ScenariosError } from './errors';
import { checkFilter, type FilterRule } from './filter';
import { checkTemplate } from './template';

export type JsonMap = Record<string, unknown>;

// ---------------------------------------------------------------- contacts

export interface Contact {
  id: string;
  external_id: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  tags: string[];
  custom_data: JsonMap;
  created_at: string;
  updated_at: string;
}

/** What PUT/POST /v1/contacts accept; every field optional (a PUT replaces only what it names). */
export interface ContactInput {
  id?: string;
  external_id?: string | null;
  email?: string | null;
  phone?: string | null;
  name?: string | null;
  tags?: string[];
  custom_data?: JsonMap;
}

/** Same normalisation as the validator applies to events: lower-cased email, E.164 phone. */
export function normalizeEmail(v: string): string | null {
  const email = v.trim().toLowerCase();
  return z.email().safeParse(email).success ? email : null;
}

export function normalizePhone(v: string): string | null {
  if (!v.trim().startsWith('+') || v.length > 40) return null;
  const parsed = parsePhoneNumberFromString(v, { extract: false });
  return parsed && parsed.isValid() && !parsed.ext ? parsed.number : null;
}

const idText = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => s.trim() === s, 'no leading or trailing whitespace');
const tag = z.string().min(1).max(100);

/** What PUT/POST /v1/contacts accept (documented in the OpenAPI document from this schema). */
export const contactInputSchema = z
  .object({
    id: idText.exactOptional(),
    external_id: idText.nullable().exactOptional(),
    email: z.string().max(254).nullable().exactOptional(),
    phone: z.string().max(40).nullable().exactOptional(),
    name: z.string().max(500).nullable().exactOptional(),
    tags: z.array(tag).max(500).exactOptional(),
    custom_data: z.record(z.string(), z.unknown()).exactOptional(),
  })
  .strict();

function issues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
}

/** Validates and normalises a contact body; throws ScenariosError with every reason. */
export function parseContactInput(body: unknown): ContactInput {
  const parsed = contactInputSchema.safeParse(body);
  if (!parsed.success) throw new ScenariosError('VALIDATION_FAILED', issues(parsed.error));
  const input: ContactInput = { ...parsed.data };
  const errors: string[] = [];
  if (typeof input.email === 'string') {
    const email = normalizeEmail(input.email);
    if (email === null) errors.push(`email: invalid email address "${input.email}"`);
    else input.email = email;
  }
  if (typeof input.phone === 'string') {
    const phone = normalizePhone(input.phone);
    if (phone === null) errors.push(`phone: invalid phone number "${input.phone}" (international format, + then country code)`);
    else input.phone = phone;
  }
  if (input.tags) input.tags = [...new Set(input.tags)];
  if (errors.length) throw new ScenariosError('VALIDATION_FAILED', errors);
  return input;
}

// ---------------------------------------------------------------- scenarios

export const SCENARIO_STATUSES = ['active', 'paused', 'stopped'] as const;
export type ScenarioStatus = (typeof SCENARIO_STATUSES)[number];

export interface TagFilter {
  any?: string[];
  all?: string[];
  none?: string[];
}

export interface ScenarioAction {
  type: 'webhook';
  webhook_id: string;
  /** ISO 8601 duration; null = immediate. */
  delay: string | null;
  /** With `delay`: the delay is spread deterministically per contact in [delay, delay_max]. */
  delay_max: string | null;
  /** Handlebars template of the delivery body; null = the default body (event, contact, variables). */
  template: string | null;
}

export interface Scenario {
  id: string;
  team_id: string;
  name: string;
  code_names: string[];
  status: ScenarioStatus;
  tags: TagFilter;
  filter: FilterRule | null;
  cooldown: string | null;
  cooldown_ms: number | null;
  actions: ScenarioAction[];
  variables: JsonMap;
  version: number;
  created_at: string;
  updated_at: string;
}

export type ScenarioDefinition = Omit<Scenario, 'id' | 'team_id' | 'version' | 'created_at' | 'updated_at'>;

const actionSchema = z
  .object({
    type: z.literal('webhook'),
    webhook_id: idText,
    delay: z.string().nullable().optional(),
    delay_max: z.string().nullable().optional(),
    template: z
      .string()
      .max(64 * 1024)
      .nullable()
      .optional(),
  })
  .strict();

const tagsSchema = z
  .object({ any: z.array(tag).max(100).exactOptional(), all: z.array(tag).max(100).exactOptional(), none: z.array(tag).max(100).exactOptional() })
  .strict();

const scenarioFields = {
  name: z.string().min(1).max(200),
  code_names: z.array(z.string()).min(1).max(50),
  status: z.enum(['active', 'paused']),
  tags: tagsSchema,
  filter: z.unknown(),
  cooldown: z.string().nullable(),
  actions: z.array(actionSchema).min(1).max(20),
  variables: z.record(z.string(), z.unknown()),
};

/** POST /v1/scenarios (documented in the OpenAPI document from this schema; parseScenarioDefinition adds the semantic checks). */
export const scenarioCreateSchema = z
  .object({
    ...scenarioFields,
    status: scenarioFields.status.default('active'),
    tags: tagsSchema.default({}),
    filter: z.unknown().optional(),
    cooldown: scenarioFields.cooldown.optional(),
    variables: scenarioFields.variables.default({}),
  })
  .strict();

// PATCH may also re-activate a stopped scenario (e.g. after its event type was re-created).
export const scenarioPatchSchema = z.object(scenarioFields).partial().strict();

export type ScenarioPatch = Partial<Omit<ScenarioDefinition, 'status'>> & { status?: 'active' | 'paused' };

/** The checks that need more than a shape: code_names, durations, filter, templates. */
function semanticErrors(def: Partial<ScenarioDefinition>): string[] {
  const errors: string[] = [];
  for (const [i, c] of (def.code_names ?? []).entries()) {
    for (const e of validateCodeName(c)) errors.push(`code_names.${i}: ${e}`);
  }
  if (def.cooldown != null && durationMs(def.cooldown) === null) {
    errors.push(`cooldown: invalid ISO 8601 duration "${def.cooldown}" (e.g. PT24H)`);
  }
  if (def.filter != null) errors.push(...checkFilter(def.filter).map((e) => `filter: ${e}`));
  for (const [i, a] of (def.actions ?? []).entries()) {
    const delay = a.delay == null ? null : durationMs(a.delay);
    if (a.delay != null && delay === null) errors.push(`actions.${i}.delay: invalid ISO 8601 duration "${a.delay}"`);
    if (a.delay_max != null) {
      const max = durationMs(a.delay_max);
      if (max === null) errors.push(`actions.${i}.delay_max: invalid ISO 8601 duration "${a.delay_max}"`);
      else if (a.delay == null) errors.push(`actions.${i}.delay_max: needs a delay`);
      else if (delay !== null && max < delay) errors.push(`actions.${i}.delay_max: must not be shorter than delay`);
    }
    if (a.template != null) errors.push(...checkTemplate(a.template).map((e) => `actions.${i}.template: ${e}`));
  }
  return errors;
}

function normalizeActions(actions: z.infer<typeof actionSchema>[]): ScenarioAction[] {
  return actions.map((a) => ({
    type: 'webhook',
    webhook_id: a.webhook_id,
    delay: a.delay ?? null,
    delay_max: a.delay_max ?? null,
    template: a.template ?? null,
  }));
}

export function parseScenarioDefinition(body: unknown): ScenarioDefinition {
  const parsed = scenarioCreateSchema.safeParse(body);
  if (!parsed.success) throw new ScenariosError('VALIDATION_FAILED', issues(parsed.error));
  const d = parsed.data;
  const def: ScenarioDefinition = {
    name: d.name,
    code_names: [...new Set(d.code_names)],
    status: d.status,
    tags: d.tags,
    filter: (d.filter ?? null) as FilterRule | null,
    cooldown: d.cooldown ?? null,
    cooldown_ms: d.cooldown == null ? null : durationMs(d.cooldown),
    actions: normalizeActions(d.actions),
    variables: d.variables,
  };
  const errors = semanticErrors(def);
  if (errors.length) throw new ScenariosError('VALIDATION_FAILED', errors);
  return def;
}

export function parseScenarioPatch(body: unknown): ScenarioPatch {
  const parsed = scenarioPatchSchema.safeParse(body);
  if (!parsed.success) throw new ScenariosError('VALIDATION_FAILED', issues(parsed.error));
  const d = parsed.data;
  const patch: ScenarioPatch = {};
  if (d.name !== undefined) patch.name = d.name;
  if (d.code_names !== undefined) patch.code_names = [...new Set(d.code_names)];
  if (d.status !== undefined) patch.status = d.status;
  if (d.tags !== undefined) patch.tags = d.tags;
  if ('filter' in d) patch.filter = (d.filter ?? null) as FilterRule | null;
  if (d.cooldown !== undefined) {
    patch.cooldown = d.cooldown;
    patch.cooldown_ms = d.cooldown === null ? null : durationMs(d.cooldown);
  }
  if (d.actions !== undefined) patch.actions = normalizeActions(d.actions);
  if (d.variables !== undefined) patch.variables = d.variables;
  const errors = semanticErrors(patch);
  if (errors.length) throw new ScenariosError('VALIDATION_FAILED', errors);
  return patch;
}
