import { validateCodeName } from './code-name';
import { codePointLength, exceedsCodePoints, isPlainObject, isWellFormed, kindOf, pathJoin, quote, rootPath } from './kinds';
import { ErrorSink, msg } from './messages';
import {
  EVENT_TARGETS,
  type EventProperties,
  type EventTarget,
  type EventTypeDefinition,
  type EventTypePatch,
  FIELD_TYPES,
  type FieldSpec,
  type FieldType,
  type Result,
  type Slot,
  SLOTS,
} from './model';
import { DEFAULT_LIMITS, type DefinitionOptions, resolveMaxFieldsPerSlot } from './options';

export const NAME_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 1000;
export const FIELD_NAME_MAX_LENGTH = 64;
export const FIELD_DESCRIPTION_MAX_LENGTH = 255;

/**
 * A field name is a payload key and ends up as a column or template variable downstream,
 * so it is a plain identifier. The three reserved names are the classic prototype
 * pollution gadgets: a consumer doing `obj[name] = v` must not be able to hit them.
 */
const FIELD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_FIELD_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const FIELD_KEYS = new Set(['name', 'type', 'required', 'description']);
const DEFINITION_KEYS = new Set(['name', 'code_name', 'description', 'target', 'properties']);

/** The slot that a target can never carry: declaring it would make fields unreachable. */
const FORBIDDEN_SLOT: Record<EventTarget, Slot | undefined> = {
  contact: 'visitor.customData',
  visitor: 'contact.customData',
  both: undefined,
};

const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

function parseText(v: unknown, path: string, max: number, notBlank: boolean, errors: ErrorSink): string | undefined {
  if (typeof v !== 'string') {
    errors.push(msg.invalidType(path, 'text', kindOf(v)));
    return undefined;
  }
  const bad = (notBlank && v.trim() === '') || exceedsCodePoints(v, max) || !isWellFormed(v);
  if (bad) {
    const expected = `text (${notBlank ? 'not blank, ' : ''}at most ${max} characters, well-formed Unicode)`;
    const got = exceedsCodePoints(v, max) ? `${codePointLength(v)} characters` : quote(v);
    errors.push(msg.invalidValue(path, expected, got));
    return undefined;
  }
  return v;
}

function parseTarget(v: unknown, errors: ErrorSink): EventTarget | undefined {
  if (typeof v !== 'string') {
    errors.push(msg.invalidType('target', 'text', kindOf(v)));
    return undefined;
  }
  if ((EVENT_TARGETS as readonly string[]).includes(v)) return v as EventTarget;
  errors.push(msg.invalidValue('target', `one of ${EVENT_TARGETS.join(', ')}`, quote(v)));
  return undefined;
}

function parseCodeName(v: unknown, errors: ErrorSink): string | undefined {
  if (typeof v !== 'string') {
    errors.push(msg.invalidType('code_name', 'text', kindOf(v)));
    return undefined;
  }
  const problems = validateCodeName(v);
  for (const p of problems) errors.push(p);
  return problems.length === 0 ? v : undefined;
}

function parseField(v: unknown, path: string, seen: Map<string, string>, errors: ErrorSink): FieldSpec | undefined {
  if (!isPlainObject(v)) {
    errors.push(msg.invalidType(path, 'object', kindOf(v)));
    return undefined;
  }
  for (const k of Object.keys(v)) if (!FIELD_KEYS.has(k)) errors.push(msg.unknown(pathJoin(path, k)));
  let ok = true;

  const rawName = own(v, 'name');
  let name: string | undefined;
  if (rawName === undefined) {
    errors.push(msg.missing(`${path}.name`));
  } else if (typeof rawName !== 'string') {
    errors.push(msg.invalidType(`${path}.name`, 'text', kindOf(rawName)));
  } else if (rawName.length > FIELD_NAME_MAX_LENGTH || !FIELD_NAME_RE.test(rawName)) {
    errors.push(
      msg.invalidValue(
        `${path}.name`,
        `identifier (a letter or underscore, then letters, digits or underscores; at most ${FIELD_NAME_MAX_LENGTH} characters)`,
        quote(rawName),
      ),
    );
  } else if (RESERVED_FIELD_NAMES.has(rawName)) {
    errors.push(msg.invalidValue(`${path}.name`, 'a name other than __proto__, constructor and prototype', quote(rawName)));
  } else {
    const first = seen.get(rawName);
    if (first !== undefined) errors.push(msg.duplicateField(`${path}.name`, rawName, first));
    else {
      seen.set(rawName, path);
      name = rawName;
    }
  }
  if (name === undefined) ok = false;

  const rawType = own(v, 'type');
  let type: FieldType | undefined;
  if (rawType === undefined) errors.push(msg.missing(`${path}.type`));
  else if (typeof rawType !== 'string') errors.push(msg.invalidType(`${path}.type`, 'text', kindOf(rawType)));
  else if (!(FIELD_TYPES as readonly string[]).includes(rawType)) {
    errors.push(msg.invalidValue(`${path}.type`, `one of ${FIELD_TYPES.join(', ')}`, quote(rawType)));
  } else type = rawType as FieldType;
  if (type === undefined) ok = false;

  const rawRequired = own(v, 'required');
  let required = false;
  if (rawRequired !== undefined) {
    if (typeof rawRequired === 'boolean') required = rawRequired;
    else {
      errors.push(msg.invalidType(`${path}.required`, 'bool', kindOf(rawRequired)));
      ok = false;
    }
  }

  const rawDescription = own(v, 'description');
  let description: string | undefined;
  if (rawDescription !== undefined && rawDescription !== null) {
    description = parseText(rawDescription, `${path}.description`, FIELD_DESCRIPTION_MAX_LENGTH, false, errors);
    if (description === undefined) ok = false;
  }

  if (!ok || name === undefined || type === undefined) return undefined;
  const spec: FieldSpec = { name, type, required };
  if (description !== undefined) spec.description = description;
  return spec;
}

function parseSlot(v: unknown, path: string, maxFields: number, errors: ErrorSink): FieldSpec[] | undefined {
  if (!Array.isArray(v)) {
    errors.push(msg.invalidType(path, 'array', kindOf(v)));
    return undefined;
  }
  if (v.length > maxFields) {
    errors.push(msg.tooManyFields(path, v.length, maxFields));
    return undefined;
  }
  const seen = new Map<string, string>();
  const out: FieldSpec[] = [];
  let ok = true;
  for (let i = 0; i < v.length; i++) {
    const f = parseField(v[i] as unknown, `${path}[${i}]`, seen, errors);
    if (f === undefined) ok = false;
    else out.push(f);
  }
  return ok ? out : undefined;
}

/**
 * Parses the `properties` object. In a patch, a slot set to null means "remove it".
 * Returns undefined when anything in it is invalid (errors are reported).
 */
function parseProperties(v: unknown, maxFields: number, allowNullSlots: boolean, errors: ErrorSink): { [S in Slot]?: FieldSpec[] | null } | undefined {
  if (!isPlainObject(v)) {
    errors.push(msg.invalidType('properties', 'object', kindOf(v)));
    return undefined;
  }
  const out: { [S in Slot]?: FieldSpec[] | null } = {};
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!(SLOTS as readonly string[]).includes(k)) {
      errors.push(msg.unknown(pathJoin('properties', k)));
      ok = false;
    }
  }
  for (const slot of SLOTS) {
    const raw = own(v, slot);
    if (raw === undefined) continue;
    if (raw === null && allowNullSlots) {
      out[slot] = null;
      continue;
    }
    const fields = parseSlot(raw, `properties.${slot}`, maxFields, errors);
    if (fields === undefined) ok = false;
    else out[slot] = fields;
  }
  return ok ? out : undefined;
}

function checkSlotsForTarget(target: EventTarget, properties: { [S in Slot]?: FieldSpec[] | null }, errors: ErrorSink): boolean {
  const forbidden = FORBIDDEN_SLOT[target];
  if (forbidden === undefined) return true;
  const fields = properties[forbidden];
  // An empty list declares nothing, so it is harmless; any field would be unreachable.
  if (fields && fields.length > 0) {
    errors.push(msg.notAllowedForTarget(`properties.${forbidden}`, target));
    return false;
  }
  return true;
}

function guard<T>(what: string, run: () => Result<T>): Result<T> {
  try {
    return run();
  } catch {
    // Only reachable with in-process inputs JSON cannot produce (Proxies, throwing getters).
    return { ok: false, errors: [msg.unreadable(what)] };
  }
}

/**
 * Parses a createEvent body into a definition: name (required, ≤255), code_name (see
 * validateCodeName), description (optional), target (default 'contact'), properties
 * (only the four slots). Collects every error. Never throws.
 */
export function parseEventTypeDefinition(body: unknown, options?: DefinitionOptions): Result<EventTypeDefinition> {
  return guard('event type', () => {
    if (!isPlainObject(body)) return { ok: false, errors: [msg.payloadType('event type', kindOf(body))] };
    const errors = new ErrorSink(DEFAULT_LIMITS.maxErrors);
    const maxFields = resolveMaxFieldsPerSlot(options);
    for (const k of Object.keys(body)) if (!DEFINITION_KEYS.has(k)) errors.push(msg.unknown(rootPath(k)));

    const rawName = own(body, 'name');
    const name = rawName === undefined ? (errors.push(msg.missing('name')), undefined) : parseText(rawName, 'name', NAME_MAX_LENGTH, true, errors);

    const rawCode = own(body, 'code_name');
    const codeName = rawCode === undefined ? (errors.push(msg.missing('code_name')), undefined) : parseCodeName(rawCode, errors);

    const rawDescription = own(body, 'description');
    const description =
      rawDescription === undefined || rawDescription === null ? undefined : parseText(rawDescription, 'description', DESCRIPTION_MAX_LENGTH, false, errors);

    const rawTarget = own(body, 'target');
    const target = rawTarget === undefined ? 'contact' : parseTarget(rawTarget, errors);

    const rawProperties = own(body, 'properties');
    const parsedProperties = rawProperties === undefined ? {} : parseProperties(rawProperties, maxFields, false, errors);
    if (target !== undefined && parsedProperties !== undefined) checkSlotsForTarget(target, parsedProperties, errors);

    if (!errors.empty || name === undefined || codeName === undefined || target === undefined || !parsedProperties) {
      return { ok: false, errors: errors.done() };
    }
    const value: EventTypeDefinition = { name, code_name: codeName, target, properties: parsedProperties as EventProperties };
    if (description !== undefined) value.description = description;
    return { ok: true, value };
  });
}

/**
 * Parses an updateEvent body: any non-empty subset of the createEvent keys, each checked
 * as in parseEventTypeDefinition. `description: null` removes the description; inside
 * `properties`, a slot given replaces that slot and a slot set to null removes it (JSON
 * Merge Patch, RFC 7396). Rules spanning the stored definition (the target/slot rule) are
 * checked by mergeEventTypePatch. Never throws.
 */
export function parseEventTypePatch(body: unknown, options?: DefinitionOptions): Result<EventTypePatch> {
  return guard('event type patch', () => {
    if (!isPlainObject(body)) return { ok: false, errors: [msg.payloadType('event type patch', kindOf(body))] };
    const errors = new ErrorSink(DEFAULT_LIMITS.maxErrors);
    const maxFields = resolveMaxFieldsPerSlot(options);
    const keys = Object.keys(body).filter((k) => body[k] !== undefined);
    for (const k of keys) if (!DEFINITION_KEYS.has(k)) errors.push(msg.unknown(rootPath(k)));
    if (keys.length === 0) errors.push(msg.emptyPatch());

    const value: EventTypePatch = {};
    const rawName = own(body, 'name');
    if (rawName !== undefined) {
      const name = parseText(rawName, 'name', NAME_MAX_LENGTH, true, errors);
      if (name !== undefined) value.name = name;
    }
    const rawCode = own(body, 'code_name');
    if (rawCode !== undefined) {
      const codeName = parseCodeName(rawCode, errors);
      if (codeName !== undefined) value.code_name = codeName;
    }
    const rawDescription = own(body, 'description');
    if (rawDescription === null) value.description = null;
    else if (rawDescription !== undefined) {
      const description = parseText(rawDescription, 'description', DESCRIPTION_MAX_LENGTH, false, errors);
      if (description !== undefined) value.description = description;
    }
    const rawTarget = own(body, 'target');
    if (rawTarget !== undefined) {
      const target = parseTarget(rawTarget, errors);
      if (target !== undefined) value.target = target;
    }
    const rawProperties = own(body, 'properties');
    if (rawProperties !== undefined) {
      const properties = parseProperties(rawProperties, maxFields, true, errors);
      if (properties !== undefined) {
        value.properties = properties;
        if (value.target !== undefined) checkSlotsForTarget(value.target, properties, errors);
      }
    }
    return errors.empty ? { ok: true, value } : { ok: false, errors: errors.done() };
  });
}

/**
 * Applies a parsed patch to a stored definition and re-validates the result as a whole
 * (so e.g. switching target to 'visitor' while contact.customData fields remain fails).
 * Never throws.
 */
export function mergeEventTypePatch(current: EventTypeDefinition, patch: EventTypePatch, options?: DefinitionOptions): Result<EventTypeDefinition> {
  return guard('event type', () => {
    const properties: Record<string, unknown> = { ...current.properties };
    for (const slot of SLOTS) {
      const p = patch.properties?.[slot];
      if (p === null) delete properties[slot];
      else if (p !== undefined) properties[slot] = p;
    }
    const merged: Record<string, unknown> = {
      name: patch.name ?? current.name,
      code_name: patch.code_name ?? current.code_name,
      target: patch.target ?? current.target,
      properties,
    };
    const description = patch.description === undefined ? current.description : patch.description;
    if (description !== null && description !== undefined) merged.description = description;
    return parseEventTypeDefinition(merged, options);
  });
}
