import { chargeKeys, checkFieldValue, type CheckContext, INVALID } from './field-types';
import { checkEmail, checkId, checkPhone } from './identity';
import { isPlainObject, kindOf, pathJoin, rootPath, setOwn } from './kinds';
import { ErrorSink, msg } from './messages';
import {
  EVENT_TARGETS,
  type EventTarget,
  type FieldSpec,
  type JsonObject,
  type NormalizedContact,
  type NormalizedEvent,
  type NormalizedVisitor,
  type Result,
  type Slot,
  type TriggerSchema,
} from './model';
import { type ResolvedTriggerOptions, resolveTriggerOptions, type TriggerValidationOptions } from './options';
import { type ResolvedPathNames } from './path-names';

interface CompiledSlot {
  /** The slot's path as error messages name it (see TriggerValidationOptions.pathNames). */
  path: string;
  fields: Map<string, FieldSpec>;
  required: FieldSpec[];
}

interface CompiledSchema {
  target: EventTarget;
  metaData: CompiledSlot;
  customData: CompiledSlot;
  contact: CompiledSlot;
  visitor: CompiledSlot;
}

export type TriggerValidator = (body: unknown) => Result<NormalizedEvent>;

function compileSlot(path: string, specs: unknown): CompiledSlot {
  const fields = new Map<string, FieldSpec>();
  const required: FieldSpec[] = [];
  // Definitions come from storage and are trusted to be parsed ones; still, a corrupt
  // row must make triggers fail validation, not crash the validator.
  if (Array.isArray(specs)) {
    for (const f of specs as unknown[]) {
      if (!isPlainObject(f) || typeof f.name !== 'string' || fields.has(f.name)) continue;
      const spec = f as unknown as FieldSpec;
      fields.set(spec.name, spec);
      if (spec.required === true) required.push(spec);
    }
  }
  return { path, fields, required };
}

function compile(schema: TriggerSchema, names: ResolvedPathNames): CompiledSchema {
  const props: Record<string, unknown> = isPlainObject(schema.properties) ? schema.properties : {};
  const own = (k: Slot): unknown => (Object.hasOwn(props, k) ? props[k] : undefined);
  return {
    // A stored row with a target outside the enum gets the spec's default, 'contact'.
    target: (EVENT_TARGETS as readonly unknown[]).includes(schema.target) ? schema.target : 'contact',
    metaData: compileSlot(names.metaData, own('metaData')),
    customData: compileSlot(names.customData, own('customData')),
    contact: compileSlot(names['contact.customData'], own('contact.customData')),
    visitor: compileSlot(names['visitor.customData'], own('visitor.customData')),
  };
}

/**
 * Checks one slot object against its declared fields. Missing required fields are
 * reported first (declaration order), then wrong and undeclared keys (payload order),
 * which is the order of seed 000's example response.
 */
function checkSlot(slot: CompiledSlot, v: unknown, ctx: CheckContext, opts: ResolvedTriggerOptions): JsonObject | undefined {
  const path = slot.path;
  if (v === undefined) {
    for (const f of slot.required) ctx.errors.push(msg.missing(pathJoin(path, f.name)));
    return undefined;
  }
  if (!isPlainObject(v)) {
    ctx.errors.push(msg.invalidType(path, 'object', kindOf(v)));
    return undefined;
  }
  const keys = Object.keys(v);
  if (!chargeKeys(ctx, keys.length)) return undefined;
  if (keys.length > opts.maxFieldsPerSlot) {
    ctx.errors.push(msg.tooManyProperties(path, keys.length, opts.maxFieldsPerSlot));
    return undefined;
  }
  for (const f of slot.required) {
    // Own properties only: a field named `constructor` must not be satisfied by Object.
    if (!Object.hasOwn(v, f.name) || v[f.name] === undefined) ctx.errors.push(msg.missing(pathJoin(path, f.name)));
  }
  const out: JsonObject = {};
  for (const k of keys) {
    if (ctx.aborted) break;
    const value = v[k];
    if (value === undefined) continue; // absent on the wire: JSON.stringify drops it
    const spec = slot.fields.get(k);
    const keyPath = pathJoin(path, k);
    if (spec === undefined) {
      ctx.errors.push(msg.unknown(keyPath));
      continue;
    }
    const checked = checkFieldValue(spec.type, value, keyPath, ctx);
    if (checked !== INVALID) setOwn(out, k, checked);
  }
  return out;
}

const CONTACT_KEYS = new Set(['id', 'email', 'phone', 'customData']);
const VISITOR_KEYS = new Set(['id', 'customData']);

/** Own, defined members of a record, with undeclared ones reported. */
function members(v: Record<string, unknown>, path: string, allowed: Set<string>, ctx: CheckContext): Map<string, unknown> | undefined {
  const keys = Object.keys(v);
  if (!chargeKeys(ctx, keys.length)) return undefined;
  const found = new Map<string, unknown>();
  for (const k of keys) {
    const value = v[k];
    if (value === undefined) continue;
    if (allowed.has(k)) found.set(k, value);
    else ctx.errors.push(msg.unknown(pathJoin(path, k)));
  }
  return found;
}

function checkContact(v: unknown, schema: CompiledSchema, ctx: CheckContext, opts: ResolvedTriggerOptions): NormalizedContact | undefined {
  const n = opts.pathNames;
  if (!isPlainObject(v)) {
    ctx.errors.push(msg.invalidType(n.contact, 'object', kindOf(v)));
    return undefined;
  }
  const m = members(v, n.contact, CONTACT_KEYS, ctx);
  if (!m) return undefined;
  const out: NormalizedContact = {};
  if (!m.has('id') && !m.has('email') && !m.has('phone')) {
    ctx.errors.push(msg.missing(`${n['contact.id']}, ${n['contact.email']} or ${n['contact.phone']}`));
  }
  if (m.has('id')) {
    const id = checkId(m.get('id'), n['contact.id'], ctx);
    if (id !== INVALID) out.id = id as string | number;
  }
  if (m.has('email')) {
    const email = checkEmail(m.get('email'), n['contact.email'], ctx);
    if (email !== INVALID) out.email = email as string;
  }
  if (m.has('phone')) {
    const phone = checkPhone(m.get('phone'), n['contact.phone'], ctx, opts.defaultPhoneRegion);
    if (phone !== INVALID) out.phone = phone as string;
  }
  const custom = checkSlot(schema.contact, m.get('customData'), ctx, opts);
  if (custom !== undefined) out.customData = custom;
  return out;
}

function checkVisitor(v: unknown, schema: CompiledSchema, ctx: CheckContext, opts: ResolvedTriggerOptions): NormalizedVisitor | undefined {
  const n = opts.pathNames;
  if (!isPlainObject(v)) {
    ctx.errors.push(msg.invalidType(n.visitor, 'object', kindOf(v)));
    return undefined;
  }
  const m = members(v, n.visitor, VISITOR_KEYS, ctx);
  if (!m) return undefined;
  let id: unknown = INVALID;
  if (m.has('id')) id = checkId(m.get('id'), n['visitor.id'], ctx);
  else ctx.errors.push(msg.missing(n['visitor.id']));
  const custom = checkSlot(schema.visitor, m.get('customData'), ctx, opts);
  if (id === INVALID) return undefined;
  const out: NormalizedVisitor = { id: id as string | number };
  if (custom !== undefined) out.customData = custom;
  return out;
}

function targetKey(contact: NormalizedContact | undefined, visitor: NormalizedVisitor | undefined): string {
  if (contact?.id !== undefined) return `contact:id:${contact.id}`;
  if (contact?.email !== undefined) return `contact:email:${contact.email}`;
  if (contact?.phone !== undefined) return `contact:phone:${contact.phone}`;
  // validate() only calls this once the target rules passed, so a visitor exists here.
  return `visitor:${visitor?.id ?? ''}`;
}

function validate(schema: CompiledSchema, body: unknown, opts: ResolvedTriggerOptions): Result<NormalizedEvent> {
  const errors = new ErrorSink(opts.maxErrors);
  if (!isPlainObject(body)) return { ok: false, errors: [msg.payloadType('payload', kindOf(body))] };
  const ctx: CheckContext = {
    errors,
    maxJsonDepth: opts.maxJsonDepth,
    maxTotalKeys: opts.maxTotalKeys,
    keys: 0,
    aborted: false,
  };

  let contactIn: unknown;
  let visitorIn: unknown;
  let metaIn: unknown;
  let customIn: unknown;
  const keys = Object.keys(body);
  if (chargeKeys(ctx, keys.length)) {
    for (const k of keys) {
      const v = body[k];
      if (v === undefined) continue;
      if (k === 'contact') contactIn = v;
      else if (k === 'visitor') visitorIn = v;
      else if (k === 'metaData') metaIn = v;
      else if (k === 'customData') customIn = v;
      else errors.push(msg.unknown(rootPath(k)));
    }
  }

  const target = schema.target;
  const n = opts.pathNames;
  let contact: NormalizedContact | undefined;
  let visitor: NormalizedVisitor | undefined;
  if (!ctx.aborted) {
    if (contactIn === undefined && visitorIn === undefined) {
      errors.push(msg.missing(target === 'both' ? `${n.contact} or ${n.visitor}` : n[target]));
    } else if (target === 'contact' && contactIn === undefined) {
      errors.push(msg.missing(n.contact));
    } else if (target === 'visitor' && visitorIn === undefined) {
      errors.push(msg.missing(n.visitor));
    }
    if (contactIn !== undefined) {
      // `target` here is the event type's target value, not a path: it is never renamed.
      if (target === 'visitor') errors.push(msg.notAllowedForTarget(n.contact, target));
      else contact = checkContact(contactIn, schema, ctx, opts);
    }
    if (visitorIn !== undefined && !ctx.aborted) {
      if (target === 'contact') errors.push(msg.notAllowedForTarget(n.visitor, target));
      else visitor = checkVisitor(visitorIn, schema, ctx, opts);
    }
  }
  const metaData = ctx.aborted ? undefined : checkSlot(schema.metaData, metaIn, ctx, opts);
  const customData = ctx.aborted ? undefined : checkSlot(schema.customData, customIn, ctx, opts);

  if (!errors.empty) return { ok: false, errors: errors.done() };
  const value: NormalizedEvent = { targetKey: targetKey(contact, visitor) };
  if (contact !== undefined) value.contact = contact;
  if (visitor !== undefined) value.visitor = visitor;
  if (metaData !== undefined) value.metaData = metaData;
  if (customData !== undefined) value.customData = customData;
  return { ok: true, value };
}

function guarded(run: () => Result<NormalizedEvent>): Result<NormalizedEvent> {
  try {
    return run();
  } catch {
    // Only reachable with in-process inputs JSON cannot produce: a Proxy or a getter that
    // throws. The contract is "never throws", so such input is simply invalid.
    return { ok: false, errors: [msg.unreadable('payload')] };
  }
}

/**
 * Builds the validator for one event type once (field lookups, required lists, options),
 * for callers that validate many triggers of the same type. Same contract as
 * validateTriggerPayload; the schema is read at compile time, so recompile after an update.
 */
export function compileTriggerValidator(schema: TriggerSchema, options?: TriggerValidationOptions): TriggerValidator {
  let compiled: CompiledSchema | undefined;
  let opts: ResolvedTriggerOptions | undefined;
  try {
    opts = resolveTriggerOptions(options);
    compiled = compile(schema, opts.pathNames);
  } catch {
    compiled = undefined;
  }
  if (compiled === undefined || opts === undefined) {
    return () => ({ ok: false, errors: [msg.unreadable('event type schema')] });
  }
  const c = compiled;
  const o = opts;
  return (body) => guarded(() => validate(c, body, o));
}

/**
 * Validates a triggerEvent body against an event type (seed 000 "Validation on trigger"),
 * collecting every error. Never throws, whatever `body` is.
 */
export function validateTriggerPayload(schema: TriggerSchema, body: unknown, options?: TriggerValidationOptions): Result<NormalizedEvent> {
  return compileTriggerValidator(schema, options)(body);
}
