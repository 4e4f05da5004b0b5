// Helpers to inspect untrusted values without trusting their prototype chain.

/**
 * The name used after "got" in error messages. JSON input only ever yields the first
 * seven; the others exist because in-process callers can hand us any JavaScript value.
 */
export type Kind =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'object'
  | 'array'
  | 'null'
  | 'non-finite number'
  | 'non-plain object'
  | 'undefined'
  | 'function'
  | 'symbol'
  | 'bigint';

export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      if (!Number.isFinite(v)) return 'non-finite number';
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'function';
    case 'symbol':
      return 'symbol';
    case 'bigint':
      return 'bigint';
    case 'object':
      if (v === null) return 'null';
      if (Array.isArray(v)) return 'array';
      return isPlainObject(v) ? 'object' : 'non-plain object';
  }
}

/**
 * A record as JSON.parse makes it: prototype null or some realm's Object.prototype.
 * Class instances, Dates, Maps, Buffers are not JSON and are rejected rather than
 * serialised into something the sender did not see.
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/**
 * Sets an own enumerable property even for the key `__proto__`, which plain assignment
 * would turn into a prototype change (JSON.parse creates such keys as ordinary members).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

const QUOTE_MAX = 40;

/** A short JSON-quoted echo of an input string, so one huge value cannot bloat a 400 body. */
export function quote(s: string): string {
  return s.length > QUOTE_MAX ? `${JSON.stringify(s.slice(0, QUOTE_MAX))}…` : JSON.stringify(s);
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A top-level key as an error path: `foo`, or `["foo bar"]` when not an identifier. */
export function rootPath(key: string): string {
  return IDENT.test(key) ? key : `[${quote(key)}]`;
}

/** Renders a key for an error path: identifiers as `.key`, anything else as `["key"]`. */
export function pathJoin(base: string, key: string): string {
  return IDENT.test(key) ? `${base}.${key}` : `${base}[${quote(key)}]`;
}

/**
 * Length in Unicode code points, which is what "255 characters" means to a sender and to
 * the VARCHAR columns downstream; UTF-16 length would count an emoji as two.
 * Only strings between `limit` and `2*limit` code units need an actual count.
 */
export function exceedsCodePoints(s: string, limit: number): boolean {
  if (s.length <= limit) return false;
  if (s.length > 2 * limit) return true;
  return codePointLength(s) > limit;
}

export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

// String.prototype.isWellFormed is ES2024 (Node 20+), newer than the ES2023 lib we compile against.
const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * False for strings holding unpaired UTF-16 surrogates: valid in JSON text, but turned
 * into U+FFFD when encoded to UTF-8 for Kafka, i.e. silently changed downstream.
 */
export function isWellFormed(s: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(s) : !LONE_SURROGATE.test(s);
}
