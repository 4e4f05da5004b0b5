import fc from 'fast-check';
import {
  CODE_NAME_PATTERN,
  type EventTypeDefinition,
  FIELD_TYPES,
  mergeEventTypePatch,
  parseEventTypeDefinition,
  parseEventTypePatch,
  type Result,
  SLOTS,
  type TriggerSchema,
  validateCodeName,
  validateTriggerPayload,
} from './index';

// The contract under fuzz: whatever the input, the functions return (never throw) either
// { ok: true, value } or { ok: false, errors } with at least one non-empty message, and
// an accepted value is plain JSON that validates again to itself.

const RUNS = 2000;

function expectResultShape(r: Result<unknown>): void {
  expect(typeof r).toBe('object');
  if (r.ok) {
    expect(r.value).toBeDefined();
  } else {
    expect(Array.isArray(r.errors)).toBe(true);
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) {
      expect(typeof e).toBe('string');
      expect(e.length).toBeGreaterThan(0);
    }
  }
}

// Anything JavaScript can hand us in-process: Maps, Sets, boxed values, typed and sparse
// arrays, null-prototype objects, bigints, Dates, lone surrogates, odd keys.
const anything = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
  key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'contact', 'metaData')),
});

// JSON text parsed the way the gateway does it, so "__proto__" becomes an own member.
const parsedJson = fc.json({ maxDepth: 4 }).map((s) => JSON.parse(s) as unknown);

const identity = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null)),
    email: fc.oneof(fc.emailAddress(), fc.string()),
    phone: fc.oneof(fc.constantFrom('+33612345678', '+1 (415) 555-2671', '0612345678', '+999'), fc.string()),
    customData: fc.dictionary(fc.constantFrom('tier', 'points', 'x', '__proto__'), parsedJson),
  },
  { requiredKeys: [] },
);

const fieldValue = fc.oneof(
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 300 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2024-02-29', '2023-02-29', '2024-05-01T10:00+02:00', 'a'.repeat(70_000)),
  parsedJson,
  anything,
);

const slot = fc.dictionary(fc.constantFrom('b', 't', 'lt', 'n', 'd', 'dt', 'j', 'unknown', '__proto__', 'constructor'), fieldValue, {
  maxKeys: 8,
});

// Bodies close enough to valid to reach every branch of the validator.
const nearValid = fc.record(
  {
    contact: fc.oneof(identity, anything),
    visitor: fc.oneof(identity, anything),
    metaData: fc.oneof(slot, anything),
    customData: slot,
    extra: anything,
  },
  { requiredKeys: [] },
);

// Deep but acyclic: well past maxJsonDepth so the depth guard, not the stack, ends it.
const deep = fc.integer({ min: 0, max: 2000 }).map((depth) => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { j: v };
  return { contact: { id: 1 }, metaData: { j: v } };
});

const allTypes = FIELD_TYPES.map((type, i) => ({ name: ['b', 't', 'lt', 'n', 'd', 'dt', 'j'][i] ?? type, type, required: i % 2 === 0 }));
const schemas: TriggerSchema[] = (['contact', 'visitor', 'both'] as const).map((target) => ({
  target,
  properties: {
    metaData: allTypes,
    customData: allTypes.map((f) => ({ ...f, required: false })),
    ...(target !== 'visitor' ? { 'contact.customData': [{ name: 'tier', type: 'text' as const, required: false }] } : {}),
    ...(target !== 'contact' ? { 'visitor.customData': [{ name: 'x', type: 'json' as const, required: false }] } : {}),
  },
}));

// Type-correct values for every field, so that a good share of runs is accepted and the
// "accepted values validate again to themselves" half of the property is exercised.
const validValue: Record<(typeof FIELD_TYPES)[number], fc.Arbitrary<unknown>> = {
  bool: fc.boolean(),
  text: fc.string({ maxLength: 255 }),
  longtext: fc.string({ maxLength: 2000, unit: 'grapheme' }),
  number: fc.maxSafeInteger(),
  decimal: fc.double({ noNaN: true, noDefaultInfinity: true }),
  date: fc
    .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
    .chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().slice(0, 10), d.toISOString().replace('Z', '+05:30'))),
  json: parsedJson,
};
const mostlyValid = fc.record(
  {
    contact: fc.record({ id: fc.oneof(fc.string({ minLength: 1 }), fc.integer()), email: fc.emailAddress() }, { requiredKeys: [] }),
    visitor: fc.record({ id: fc.oneof(fc.uuid(), fc.nat()) }),
    metaData: fc.record(Object.fromEntries(allTypes.map((f) => [f.name, validValue[f.type]]))),
    customData: fc.record(Object.fromEntries(allTypes.map((f) => [f.name, validValue[f.type]])), { requiredKeys: [] }),
  },
  { requiredKeys: ['metaData'] },
);

/** Only what JSON can carry: no undefined, holes, functions, Maps, class instances, NaN. */
function isPureJson(v: unknown): boolean {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return Object.keys(v).length === v.length && v.every(isPureJson);
  if (typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && Object.values(v).every(isPureJson);
}

describe('fuzz: validateTriggerPayload', () => {
  it('never throws and answers ok or a non-empty error list; accepted values validate again to themselves', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...schemas), fc.oneof(anything, parsedJson, nearValid, deep, mostlyValid), (schema, body) => {
        const r = validateTriggerPayload(schema, body);
        expectResultShape(r);
        if (r.ok) {
          accepted++;
          expect(typeof r.value.targetKey).toBe('string');
          expect(isPureJson(r.value)).toBe(true);
          const { targetKey, ...rest } = r.value;
          expect(validateTriggerPayload(schema, rest)).toEqual({ ok: true, value: { ...rest, targetKey } });
        }
      }),
      { numRuns: RUNS },
    );
    // Guards the generators: a property that never reaches the accepting path proves little.
    expect(accepted).toBeGreaterThan(RUNS / 50);
  });

  it('never throws with hostile options either', () => {
    const options = fc.record(
      {
        defaultPhoneRegion: fc.oneof(fc.constantFrom('FR', 'US', 'XX', '__proto__', 'constructor'), fc.string()),
        maxFieldsPerSlot: fc.oneof(fc.integer(), fc.double()),
        maxJsonDepth: fc.oneof(fc.integer(), fc.double()),
        maxTotalKeys: fc.oneof(fc.integer(), fc.double()),
        maxErrors: fc.oneof(fc.integer(), fc.double()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      // Bodies that mostly pass, so the options (not an early rejection) decide the path.
      fc.property(fc.constantFrom(...schemas), fc.oneof(mostlyValid, parsedJson), options, (schema, body, opts) => {
        expectResultShape(validateTriggerPayload(schema, body, opts));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: event type definitions', () => {
  const field = fc.record(
    {
      name: fc.oneof(fc.constantFrom('order_id', 'a', '__proto__', 'constructor', '1x'), fc.string()),
      type: fc.oneof(fc.constantFrom(...FIELD_TYPES), fc.string()),
      required: fc.oneof(fc.boolean(), anything),
      description: fc.oneof(fc.string(), anything),
      extra: anything,
    },
    { requiredKeys: ['name', 'type'] },
  );
  const properties = fc.dictionary(fc.oneof(fc.constantFrom(...SLOTS), fc.string()), fc.oneof(fc.array(field, { maxLength: 5 }), anything), { maxKeys: 5 });
  const definitionLike = fc.record(
    {
      name: fc.oneof(fc.string({ maxLength: 300 }), anything),
      code_name: fc.oneof(fc.constantFrom('store_purchase', 'Order.Created', 'loyalty.points_earned'), fc.string()),
      description: fc.oneof(fc.string(), fc.constant(null), anything),
      target: fc.oneof(fc.constantFrom('contact', 'visitor', 'both'), anything),
      properties: fc.oneof(properties, anything),
      unknown: anything,
    },
    { requiredKeys: [] },
  );
  const validField = fc.record(
    {
      name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/).filter((n) => !['__proto__', 'constructor', 'prototype'].includes(n)),
      type: fc.constantFrom(...FIELD_TYPES),
      required: fc.boolean(),
      description: fc.string({ maxLength: 255 }),
    },
    { requiredKeys: ['name', 'type'] },
  );
  const validDefinition = fc.record(
    {
      name: fc.string({ minLength: 1, maxLength: 255 }).filter((n) => n.trim() !== ''),
      code_name: fc.stringMatching(CODE_NAME_PATTERN).filter((c) => c.length <= 100),
      description: fc.string({ maxLength: 1000 }),
      target: fc.constantFrom('contact', 'visitor', 'both'),
      properties: fc.record(Object.fromEntries(SLOTS.map((slot) => [slot, fc.uniqueArray(validField, { selector: (f) => f.name, maxLength: 6 })])), {
        requiredKeys: [],
      }),
    },
    { requiredKeys: ['name', 'code_name'] },
  );
  const input = fc.oneof(anything, parsedJson, definitionLike, validDefinition);

  it('parseEventTypeDefinition never throws; accepted definitions parse again to themselves and drive the validator', () => {
    let accepted = 0;
    fc.assert(
      fc.property(input, fc.oneof(anything, nearValid), (body, trigger) => {
        const r = parseEventTypeDefinition(body);
        expectResultShape(r);
        if (r.ok) {
          accepted++;
          expect(parseEventTypeDefinition(r.value)).toEqual(r);
          expectResultShape(validateTriggerPayload(r.value, trigger));
        }
      }),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 50);
  });

  it('parseEventTypePatch and mergeEventTypePatch never throw', () => {
    const base = parseEventTypeDefinition({ name: 'n', code_name: 'store_purchase', properties: { metaData: [{ name: 'a', type: 'text' }] } });
    const current = (base as { value: EventTypeDefinition }).value;
    fc.assert(
      fc.property(input, (body) => {
        const p = parseEventTypePatch(body);
        expectResultShape(p);
        if (p.ok) expectResultShape(mergeEventTypePatch(current, p.value));
      }),
      { numRuns: RUNS },
    );
  });

  it('validateCodeName never throws and returns only non-empty messages', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), anything), (s) => {
        const errors = validateCodeName(s);
        expect(Array.isArray(errors)).toBe(true);
        for (const e of errors) expect(e.startsWith('code_name ')).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
