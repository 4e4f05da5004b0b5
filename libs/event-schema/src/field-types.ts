import { type ErrorSink, msg } from './messages';
import { type FieldType } from './model';
import { exceedsCodePoints, codePointLength, isPlainObject, isWellFormed, kindOf, pathJoin, quote, setOwn } from './kinds';

export const TEXT_MAX_LENGTH = 255;
export const LONGTEXT_MAX_LENGTH = 65_535;

/** Returned by checkers instead of a value when they have reported an error. */
export const INVALID: unique symbol = Symbol('invalid');
/** What a checker returns: the (normalised, copied) value to keep, or INVALID. */
export type Checked = unknown;

/** State shared by every check of one validation: where errors go and the key budget. */
export interface CheckContext {
  errors: ErrorSink;
  maxJsonDepth: number;
  maxTotalKeys: number;
  keys: number;
  aborted: boolean;
  /** Field whose too-deep nesting is already reported: one message per field is enough. */
  depthReported?: string;
}

/**
 * Charges `n` object members or array elements to the body's budget. Past the budget the
 * whole validation stops: walking on would spend CPU proportional to a hostile input.
 */
export function chargeKeys(ctx: CheckContext, n: number): boolean {
  if (ctx.aborted) return false;
  ctx.keys += n;
  if (ctx.keys > ctx.maxTotalKeys) {
    ctx.aborted = true;
    ctx.errors.push(msg.payloadTooLarge(ctx.maxTotalKeys));
    return false;
  }
  return true;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
// 2024-05-01T10:00:00.123456789+02:00 is the longest accepted form (35 characters); the
// length test keeps a huge string away from the regexes.
const DATE_MAX_LENGTH = 35;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm[:ss[.f…]]` followed by `Z` or `±hh:mm`: a real
 * proleptic-Gregorian date in years 0001–9999, hours 00–23, minutes and seconds 00–59
 * (no leap second: JavaScript dates and the stores downstream cannot hold one), 1–9
 * fraction digits, offset hours 00–23. A date-time without a zone is refused because it
 * names a different instant on every server that reads it.
 */
export function isIsoDate(s: string): boolean {
  if (s.length > DATE_MAX_LENGTH) return false;
  const m = DATE_RE.exec(s) ?? DATE_TIME_RE.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (m.length === 4) return true; // date only
  if (Number(m[4]) > 23 || Number(m[5]) > 59) return false;
  if (m[6] !== undefined && Number(m[6]) > 59) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}

const DATE_EXPECTED = 'date (YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.fraction]] with Z or ±hh:mm)';
const SURROGATES = 'a string with unpaired surrogates';

function checkString(type: 'text' | 'longtext', max: number, v: string, path: string, ctx: CheckContext): Checked {
  if (exceedsCodePoints(v, max)) {
    ctx.errors.push(msg.invalidValue(path, `${type} (at most ${max} characters)`, `${codePointLength(v)} characters`));
    return INVALID;
  }
  if (!isWellFormed(v)) {
    ctx.errors.push(msg.invalidValue(path, `${type} (well-formed Unicode)`, SURROGATES));
    return INVALID;
  }
  return v;
}

/**
 * Checks one declared field's value and returns the value to keep (a fresh copy for
 * json), or INVALID after reporting why. Never coerces: "12" is not a number.
 */
export function checkFieldValue(type: FieldType, v: unknown, path: string, ctx: CheckContext): Checked {
  switch (type) {
    case 'bool':
      if (typeof v === 'boolean') return v;
      break;
    case 'text':
      if (typeof v === 'string') return checkString('text', TEXT_MAX_LENGTH, v, path, ctx);
      break;
    case 'longtext':
      if (typeof v === 'string') return checkString('longtext', LONGTEXT_MAX_LENGTH, v, path, ctx);
      break;
    case 'number':
      if (typeof v === 'number' && Number.isFinite(v)) {
        if (Number.isSafeInteger(v)) return v;
        ctx.errors.push(msg.invalidValue(path, 'number (an integer between -(2^53-1) and 2^53-1)', String(v)));
        return INVALID;
      }
      break;
    case 'decimal':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      break;
    case 'date':
      if (typeof v === 'string') {
        if (isIsoDate(v)) return v;
        ctx.errors.push(msg.invalidValue(path, DATE_EXPECTED, quote(v)));
        return INVALID;
      }
      break;
    case 'json':
      return cloneJson(v, path, path, 0, ctx);
    default: {
      // Only reachable with a definition that bypassed parseEventTypeDefinition.
      const unsupported: never = type;
      ctx.errors.push(msg.invalidType(path, `a supported field type (schema declares ${quote(String(unsupported))})`, kindOf(v)));
      return INVALID;
    }
  }
  ctx.errors.push(msg.invalidType(path, type, kindOf(v)));
  return INVALID;
}

/**
 * Validates and deep-copies a JSON value. `level` counts the containers around `v`.
 * Copying (rather than handing back the input) means a caller mutating its object after
 * validation cannot change what was validated, and accessor properties are read once.
 */
function cloneJson(v: unknown, fieldPath: string, path: string, level: number, ctx: CheckContext): Checked {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
  } else if (typeof v === 'string') {
    if (isWellFormed(v)) return v;
    ctx.errors.push(msg.invalidValue(path, 'json (well-formed Unicode)', SURROGATES));
    return INVALID;
  } else if (Array.isArray(v) || isPlainObject(v)) {
    if (level >= ctx.maxJsonDepth) {
      if (ctx.depthReported !== fieldPath) {
        ctx.depthReported = fieldPath;
        ctx.errors.push(msg.invalidValue(fieldPath, `json (at most ${ctx.maxJsonDepth} levels of nesting)`, 'deeper nesting'));
      }
      return INVALID;
    }
    return Array.isArray(v) ? cloneArray(v, fieldPath, path, level, ctx) : cloneObject(v, fieldPath, path, level, ctx);
  }
  ctx.errors.push(msg.invalidType(path, 'json', kindOf(v)));
  return INVALID;
}

function cloneArray(v: unknown[], fieldPath: string, path: string, level: number, ctx: CheckContext): Checked {
  const n = v.length;
  if (!chargeKeys(ctx, n)) return INVALID;
  const out: unknown[] = new Array<unknown>(n);
  let ok = true;
  for (let i = 0; i < n && !ctx.aborted; i++) {
    const c = cloneJson(v[i], fieldPath, `${path}[${i}]`, level + 1, ctx);
    if (c === INVALID) ok = false;
    else out[i] = c;
  }
  return ok && !ctx.aborted ? out : INVALID;
}

function cloneObject(v: Record<string, unknown>, fieldPath: string, path: string, level: number, ctx: CheckContext): Checked {
  const keys = Object.keys(v);
  if (!chargeKeys(ctx, keys.length)) return INVALID;
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const k of keys) {
    if (ctx.aborted) break;
    const child = v[k];
    // JSON.stringify drops undefined members, so on the wire they never existed.
    if (child === undefined) continue;
    const childPath = pathJoin(path, k);
    if (!isWellFormed(k)) {
      ctx.errors.push(msg.invalidValue(childPath, 'json (well-formed Unicode keys)', 'a key with unpaired surrogates'));
      ok = false;
      continue;
    }
    const c = cloneJson(child, fieldPath, childPath, level + 1, ctx);
    if (c === INVALID) ok = false;
    else setOwn(out, k, c);
  }
  return ok && !ctx.aborted ? out : INVALID;
}
