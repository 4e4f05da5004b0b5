import { type FieldType, type TriggerValidationOptions, validateTriggerPayload } from './index';

// Every field type against valid and invalid values, through the public entry point so
// the exact messages a sender sees are what is pinned.

function check(type: FieldType, value: unknown, options?: TriggerValidationOptions) {
  const schema = { target: 'contact' as const, properties: { metaData: [{ name: 'f', type, required: true }] } };
  return validateTriggerPayload(schema, { contact: { id: 'c1' }, metaData: { f: value } }, options);
}

const typeErr = (type: string, got: string) => `Invalid type for property: metaData.f. Expected ${type}, got ${got}`;
const valueErr = (expected: string, got: string) => `Invalid value for property: metaData.f. Expected ${expected}, got ${got}`;
const DATE_EXPECTED = 'date (YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.fraction]] with Z or ±hh:mm)';
const SAFE = 'number (an integer between -(2^53-1) and 2^53-1)';

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

const valid: Array<[FieldType, string, unknown]> = [
  ['bool', 'true', true],
  ['bool', 'false', false],
  ['text', 'empty string', ''],
  ['text', 'short', 'PAR-13'],
  ['text', '255 ASCII', 'a'.repeat(255)],
  ['text', '255 astral code points (510 UTF-16 units)', '😀'.repeat(255)],
  ['longtext', 'empty string', ''],
  ['longtext', '65535 characters', 'a'.repeat(65_535)],
  ['number', 'zero', 0],
  ['number', 'negative', -42],
  ['number', 'order id', 12_345],
  ['number', 'MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
  ['number', 'MIN_SAFE_INTEGER', Number.MIN_SAFE_INTEGER],
  ['number', '1e3 (JSON 1e3 is an integer)', 1e3],
  ['decimal', 'fraction', 89.5],
  ['decimal', 'integer', 5],
  ['decimal', 'negative', -1.25],
  ['decimal', 'large', 1e300],
  ['decimal', 'beyond safe integers', 2 ** 60],
  ['date', 'date', '2024-05-01'],
  ['date', 'leap day', '2024-02-29'],
  ['date', 'leap day of a 400 year', '2000-02-29'],
  ['date', 'first representable', '0001-01-01'],
  ['date', 'date-time Z', '2024-05-01T10:00:00Z'],
  ['date', 'date-time without seconds', '2024-05-01T10:00Z'],
  ['date', 'date-time with fraction and offset', '2024-05-01T10:00:00.123+02:00'],
  ['date', 'nanoseconds, negative half-hour offset', '2024-05-01T23:59:59.123456789-05:30'],
  ['date', 'last representable', '9999-12-31T23:59:59Z'],
  ['date', '-00:00 offset', '2024-05-01T10:00:00-00:00'],
  ['json', 'null', null],
  ['json', 'boolean', true],
  ['json', 'integer', 1],
  ['json', 'decimal', 1.5],
  ['json', 'string', 's'],
  ['json', 'empty array', []],
  ['json', 'empty object', {}],
  ['json', 'mixed', { a: [1, 'x', null, { b: false }] }],
  ['json', '10 levels deep', nested(10)],
  ['json', '__proto__ member from JSON.parse', JSON.parse('{"__proto__":{"x":1},"constructor":2}')],
];

const invalid: Array<[FieldType, string, unknown, string]> = [
  ['bool', 'string "true"', 'true', typeErr('bool', 'string')],
  ['bool', '1', 1, typeErr('bool', 'integer')],
  ['bool', '0.5', 0.5, typeErr('bool', 'number')],
  ['bool', 'null', null, typeErr('bool', 'null')],
  ['bool', 'object', {}, typeErr('bool', 'object')],
  ['bool', 'array', [], typeErr('bool', 'array')],
  ['text', 'integer', 12, typeErr('text', 'integer')],
  ['text', 'decimal', 1.5, typeErr('text', 'number')],
  ['text', 'boolean', true, typeErr('text', 'boolean')],
  ['text', 'null', null, typeErr('text', 'null')],
  ['text', 'array', ['a'], typeErr('text', 'array')],
  ['text', 'object', { a: 1 }, typeErr('text', 'object')],
  ['text', '256 characters', 'a'.repeat(256), valueErr('text (at most 255 characters)', '256 characters')],
  ['text', '256 astral code points', '😀'.repeat(256), valueErr('text (at most 255 characters)', '256 characters')],
  ['text', 'lone surrogate', 'a\uD800b', valueErr('text (well-formed Unicode)', 'a string with unpaired surrogates')],
  ['longtext', 'integer', 1, typeErr('longtext', 'integer')],
  ['longtext', 'null', null, typeErr('longtext', 'null')],
  ['longtext', '65536 characters', 'a'.repeat(65_536), valueErr('longtext (at most 65535 characters)', '65536 characters')],
  ['longtext', 'lone surrogate', '\uDC00', valueErr('longtext (well-formed Unicode)', 'a string with unpaired surrogates')],
  ['number', 'numeric string (no coercion)', '12', typeErr('number', 'string')],
  ['number', 'decimal', 1.5, valueErr(SAFE, '1.5')],
  ['number', '2^53', 2 ** 53, valueErr(SAFE, '9007199254740992')],
  ['number', '-1e300', -1e300, valueErr(SAFE, '-1e+300')],
  ['number', 'boolean', true, typeErr('number', 'boolean')],
  ['number', 'null', null, typeErr('number', 'null')],
  ['number', 'array', [1], typeErr('number', 'array')],
  ['number', 'object', {}, typeErr('number', 'object')],
  ['number', 'NaN (in-process only)', Number.NaN, typeErr('number', 'non-finite number')],
  ['number', 'bigint (in-process only)', 12n, typeErr('number', 'bigint')],
  ['decimal', 'numeric string', '89.50', typeErr('decimal', 'string')],
  ['decimal', 'boolean', false, typeErr('decimal', 'boolean')],
  ['decimal', 'null', null, typeErr('decimal', 'null')],
  ['decimal', 'array', [], typeErr('decimal', 'array')],
  ['decimal', 'object', {}, typeErr('decimal', 'object')],
  ['decimal', 'Infinity (in-process only)', Number.POSITIVE_INFINITY, typeErr('decimal', 'non-finite number')],
  ['date', 'epoch seconds', 1_714_557_600, typeErr('date', 'integer')],
  ['date', 'null', null, typeErr('date', 'null')],
  ['date', 'object', {}, typeErr('date', 'object')],
  ['date', 'Date instance (in-process only)', new Date(0), typeErr('date', 'non-plain object')],
  ['date', 'not a leap year', '2023-02-29', valueErr(DATE_EXPECTED, '"2023-02-29"')],
  ['date', 'century not leap', '1900-02-29', valueErr(DATE_EXPECTED, '"1900-02-29"')],
  ['date', 'month 13', '2024-13-01', valueErr(DATE_EXPECTED, '"2024-13-01"')],
  ['date', 'month 00', '2024-00-10', valueErr(DATE_EXPECTED, '"2024-00-10"')],
  ['date', 'April 31', '2024-04-31', valueErr(DATE_EXPECTED, '"2024-04-31"')],
  ['date', 'day 00', '2024-04-00', valueErr(DATE_EXPECTED, '"2024-04-00"')],
  ['date', 'year 0000', '0000-01-01', valueErr(DATE_EXPECTED, '"0000-01-01"')],
  ['date', 'no timezone', '2024-05-01T10:00:00', valueErr(DATE_EXPECTED, '"2024-05-01T10:00:00"')],
  ['date', 'space separator', '2024-05-01 10:00:00Z', valueErr(DATE_EXPECTED, '"2024-05-01 10:00:00Z"')],
  ['date', 'lower-case t and z', '2024-05-01t10:00:00z', valueErr(DATE_EXPECTED, '"2024-05-01t10:00:00z"')],
  ['date', 'hour 24', '2024-05-01T24:00:00Z', valueErr(DATE_EXPECTED, '"2024-05-01T24:00:00Z"')],
  ['date', 'minute 60', '2024-05-01T10:60:00Z', valueErr(DATE_EXPECTED, '"2024-05-01T10:60:00Z"')],
  ['date', 'leap second', '2016-12-31T23:59:60Z', valueErr(DATE_EXPECTED, '"2016-12-31T23:59:60Z"')],
  ['date', 'offset +24:00', '2024-05-01T10:00:00+24:00', valueErr(DATE_EXPECTED, '"2024-05-01T10:00:00+24:00"')],
  ['date', 'offset without colon', '2024-05-01T10:00:00+0200', valueErr(DATE_EXPECTED, '"2024-05-01T10:00:00+0200"')],
  ['date', 'basic format', '20240501', valueErr(DATE_EXPECTED, '"20240501"')],
  ['date', 'unpadded', '2024-5-1', valueErr(DATE_EXPECTED, '"2024-5-1"')],
  ['date', 'ten fraction digits', '2024-05-01T10:00:00.1234567890Z', valueErr(DATE_EXPECTED, '"2024-05-01T10:00:00.1234567890Z"')],
  ['date', 'huge string (echo truncated)', '2'.repeat(1_000_000), valueErr(DATE_EXPECTED, `"${'2'.repeat(40)}"…`)],
  ['json', '11 levels deep', nested(11), valueErr('json (at most 10 levels of nesting)', 'deeper nesting')],
  ['json', 'NaN (in-process only)', Number.NaN, typeErr('json', 'non-finite number')],
  ['json', 'function (in-process only)', () => 1, typeErr('json', 'function')],
  ['json', 'Map (in-process only)', new Map(), typeErr('json', 'non-plain object')],
];

describe('field types', () => {
  it.each(valid)('%s accepts %s', (type, _label, value) => {
    const r = check(type, value);
    expect(r).toEqual({ ok: true, value: expect.objectContaining({ metaData: { f: value } }) as unknown });
  });

  it.each(invalid)('%s rejects %s', (type, _label, value, message) => {
    expect(check(type, value)).toEqual({ ok: false, errors: [message] });
  });

  it('covers every field type with valid and invalid values', () => {
    const types: FieldType[] = ['bool', 'text', 'longtext', 'number', 'decimal', 'date', 'json'];
    for (const t of types) {
      expect(valid.some(([vt]) => vt === t)).toBe(true);
      expect(invalid.some(([it]) => it === t)).toBe(true);
    }
  });

  it('names every JSON kind after "got"', () => {
    const gots = new Set(invalid.map(([, , , m]) => /, got (\w+)$/.exec(m)?.[1]));
    for (const kind of ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']) expect(gots).toContain(kind);
  });

  describe('json', () => {
    it('points at the offending element inside the value', () => {
      const r = check('json', { a: [1, undefined, { b: () => 0 }], c: 'x\uD800' });
      expect(r).toEqual({
        ok: false,
        errors: [
          'Invalid type for property: metaData.f.a[1]. Expected json, got undefined',
          'Invalid type for property: metaData.f.a[2].b. Expected json, got function',
          'Invalid value for property: metaData.f.c. Expected json (well-formed Unicode), got a string with unpaired surrogates',
        ],
      });
    });

    it('reports too-deep nesting once per field', () => {
      const r = check('json', { a: nested(12), b: nested(12) });
      expect(r.ok || r.errors).toEqual([valueErr('json (at most 10 levels of nesting)', 'deeper nesting')]);
    });

    it('honours maxJsonDepth, 0 allowing scalars only', () => {
      expect(check('json', [1], { maxJsonDepth: 0 }).ok).toBe(false);
      expect(check('json', 1, { maxJsonDepth: 0 }).ok).toBe(true);
      expect(check('json', nested(3), { maxJsonDepth: 3 }).ok).toBe(true);
      expect(check('json', nested(4), { maxJsonDepth: 3 }).ok).toBe(false);
    });

    it('drops undefined object members, as JSON.stringify would', () => {
      const r = check('json', { a: 1, b: undefined });
      expect(r.ok && r.value.metaData).toEqual({ f: { a: 1 } });
      expect(r.ok && Object.keys(r.value.metaData?.f as object)).toEqual(['a']);
    });

    it('returns a deep copy that keeps __proto__ as an ordinary member', () => {
      const input = JSON.parse('{"list":[{"__proto__":{"polluted":true}}]}') as { list: object[] };
      const r = check('json', input);
      if (!r.ok) throw new Error(r.errors.join());
      const out = r.value.metaData?.f as { list: Array<Record<string, unknown>> };
      expect(out).not.toBe(input);
      expect(out.list).not.toBe(input.list);
      const first = out.list[0] ?? {};
      expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
      expect(Object.hasOwn(first, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('accepts null-prototype objects', () => {
      const o = Object.create(null) as Record<string, unknown>;
      o.a = 1;
      expect(check('json', o).ok).toBe(true);
    });
  });
});
