import {
  checkValidationOptions,
  compileTriggerValidator,
  type EventTarget,
  type EventTypeDefinition,
  type FieldSpec,
  parseEventTypeDefinition,
  type TriggerSchema,
  validateTriggerPayload,
} from './index';
import { storePurchaseType } from '@relay/testing';

// The createEvent example of seed 000, parsed as a client would send it.
function storePurchase(): EventTypeDefinition {
  const r = parseEventTypeDefinition(storePurchaseType());
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}

const seedTrigger = () => ({
  contact: { email: 'marie.dupont@example.com' },
  metaData: { order_id: 12345, total_amount: 89.5, store_code: 'PAR-13' },
});

const schema = (target: EventTarget, properties: TriggerSchema['properties'] = {}): TriggerSchema => ({ target, properties });
const field = (name: string, type: FieldSpec['type'], required = false): FieldSpec => ({ name, type, required });

describe('seed 000 examples', () => {
  it('accepts the triggerEvent example and derives the target key', () => {
    expect(validateTriggerPayload(storePurchase(), seedTrigger())).toEqual({
      ok: true,
      value: {
        contact: { email: 'marie.dupont@example.com' },
        metaData: { order_id: 12345, total_amount: 89.5, store_code: 'PAR-13' },
        targetKey: 'contact:email:marie.dupont@example.com',
      },
    });
  });

  it('answers the 400 example of "Validation on trigger" word for word', () => {
    const body = { contact: { email: 'marie.dupont@example.com' }, metaData: { order_id: '12345', store_code: 'PAR-13' } };
    expect(validateTriggerPayload(storePurchase(), body)).toEqual({
      ok: false,
      errors: ['Missing required property: metaData.total_amount', 'Invalid type for property: metaData.order_id. Expected number, got string'],
    });
  });

  it('rejects undeclared fields (strict validation)', () => {
    const body = seedTrigger();
    (body.metaData as Record<string, unknown>).foo = 1;
    expect(validateTriggerPayload(storePurchase(), body)).toEqual({ ok: false, errors: ['Unknown property: metaData.foo'] });
  });
});

describe('error collection', () => {
  it('collects every error across the body in a stable order', () => {
    const s = schema('both', {
      metaData: [field('a', 'number', true), field('b', 'text')],
      customData: [field('c', 'bool', true)],
      'contact.customData': [field('tier', 'text', true)],
      'visitor.customData': [field('page', 'text')],
    });
    const body = {
      extra: 1,
      'bad key': 2,
      contact: { email: 'nope', nickname: 'x', customData: { tier: 3 } },
      visitor: { customData: { page: 'home', other: true } },
      metaData: { b: 5, z: null },
      customData: [],
    };
    expect(validateTriggerPayload(s, body)).toEqual({
      ok: false,
      errors: [
        'Unknown property: extra',
        'Unknown property: ["bad key"]',
        'Unknown property: contact.nickname',
        'Invalid value for property: contact.email. Expected email address (local@domain.tld), got "nope"',
        'Invalid type for property: contact.customData.tier. Expected text, got integer',
        'Missing required property: visitor.id',
        'Unknown property: visitor.customData.other',
        'Missing required property: metaData.a',
        'Invalid type for property: metaData.b. Expected text, got integer',
        'Unknown property: metaData.z',
        'Invalid type for property: customData. Expected object, got array',
      ],
    });
  });

  it('reports missing required fields of an absent slot', () => {
    const s = schema('contact', { customData: [field('x', 'text', true), field('y', 'date', true)] });
    expect(validateTriggerPayload(s, { contact: { id: 1 } })).toEqual({
      ok: false,
      errors: ['Missing required property: customData.x', 'Missing required property: customData.y'],
    });
  });

  it('refuses null for a declared non-json field rather than treating it as absent', () => {
    const s = schema('contact', { metaData: [field('x', 'text')] });
    expect(validateTriggerPayload(s, { contact: { id: 1 }, metaData: { x: null } })).toEqual({
      ok: false,
      errors: ['Invalid type for property: metaData.x. Expected text, got null'],
    });
  });

  it('treats undefined members as absent, as they are on the wire', () => {
    const s = schema('contact', { metaData: [field('x', 'text', true)] });
    expect(validateTriggerPayload(s, { contact: { id: 1, email: undefined }, metaData: { x: undefined }, visitor: undefined })).toEqual({
      ok: false,
      errors: ['Missing required property: metaData.x'],
    });
  });

  it('caps the error list and says how many were left out', () => {
    const metaData = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const r = validateTriggerPayload(schema('contact'), { contact: { id: 1 }, metaData }, { maxErrors: 10 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(11);
    expect(r.errors[0]).toBe('Unknown property: metaData.k0');
    expect(r.errors[10]).toBe('Too many errors: 40 more not shown');
  });
});

describe('targets', () => {
  const noTarget = 'Missing required property: contact or visitor';
  it.each<[EventTarget, Record<string, unknown>, string[] | string]>([
    ['contact', { contact: { id: 'c' } }, 'contact:id:c'],
    ['contact', {}, ['Missing required property: contact']],
    ['contact', { visitor: { id: 'v' } }, ['Missing required property: contact', 'Property not allowed for target contact: visitor']],
    ['contact', { contact: { id: 'c' }, visitor: { id: 'v' } }, ['Property not allowed for target contact: visitor']],
    ['visitor', { visitor: { id: 'v' } }, 'visitor:v'],
    ['visitor', { visitor: { id: 7 } }, 'visitor:7'],
    ['visitor', {}, ['Missing required property: visitor']],
    ['visitor', { contact: { id: 'c' } }, ['Missing required property: visitor', 'Property not allowed for target visitor: contact']],
    ['both', {}, [noTarget]],
    ['both', { contact: { id: 'c' } }, 'contact:id:c'],
    ['both', { visitor: { id: 'v' } }, 'visitor:v'],
    ['both', { contact: { phone: '+33612345678' }, visitor: { id: 'v' } }, 'contact:phone:+33612345678'],
    ['both', { contact: {} }, ['Missing required property: contact.id, contact.email or contact.phone']],
    ['both', { visitor: {} }, ['Missing required property: visitor.id']],
    ['both', { contact: 'c@example.com' }, ['Invalid type for property: contact. Expected object, got string']],
    ['both', { visitor: null }, ['Invalid type for property: visitor. Expected object, got null']],
  ])('%s with %j', (target, body, expected) => {
    const r = validateTriggerPayload(schema(target), body);
    if (typeof expected === 'string') expect(r.ok && r.value.targetKey).toBe(expected);
    else expect(r).toEqual({ ok: false, errors: expected });
  });

  it('prefers id over email over phone for the target key', () => {
    const s = schema('contact');
    const all = { id: 'c1', email: 'A@B.co', phone: '+33612345678' };
    expect(validateTriggerPayload(s, { contact: all })).toEqual({
      ok: true,
      value: { contact: { id: 'c1', email: 'a@b.co', phone: '+33612345678' }, targetKey: 'contact:id:c1' },
    });
    const r = validateTriggerPayload(s, { contact: { email: 'A@B.co', phone: '+33612345678' } });
    expect(r.ok && r.value.targetKey).toBe('contact:email:a@b.co');
  });

  it('enforces contact.customData required fields only when a contact is sent', () => {
    const s = schema('both', { 'contact.customData': [field('tier', 'text', true)] });
    expect(validateTriggerPayload(s, { visitor: { id: 'v' } }).ok).toBe(true);
    expect(validateTriggerPayload(s, { contact: { id: 'c' } })).toEqual({
      ok: false,
      errors: ['Missing required property: contact.customData.tier'],
    });
    const r = validateTriggerPayload(s, { contact: { id: 'c', customData: { tier: 'gold' } } });
    expect(r.ok && r.value.contact).toEqual({ id: 'c', customData: { tier: 'gold' } });
  });
});

describe('hostile and unusual input', () => {
  const s = storePurchase();

  it.each([
    [null, 'null'],
    [[], 'array'],
    ['{}', 'string'],
    [42, 'integer'],
    [undefined, 'undefined'],
    [new Date(), 'non-plain object'],
    [new (class Body {})(), 'non-plain object'],
  ])('rejects a %p body', (body, kind) => {
    expect(validateTriggerPayload(s, body)).toEqual({ ok: false, errors: [`Invalid type for payload. Expected object, got ${kind}`] });
  });

  it('treats __proto__ and constructor keys as ordinary unknown properties', () => {
    const body = JSON.parse(
      '{"__proto__":{"contact":{"id":1}},"constructor":{"prototype":{"x":1}},"contact":{"email":"a@b.co","__proto__":{"id":2}},"metaData":{"order_id":1,"total_amount":2,"__proto__":{"polluted":1},"constructor":1}}',
    ) as unknown;
    expect(validateTriggerPayload(s, body)).toEqual({
      ok: false,
      errors: [
        'Unknown property: __proto__',
        'Unknown property: constructor',
        'Unknown property: contact.__proto__',
        'Unknown property: metaData.__proto__',
        'Unknown property: metaData.constructor',
      ],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not satisfy a required field from the prototype chain', () => {
    const t = schema('contact', { metaData: [field('toString', 'json', true)] });
    expect(validateTriggerPayload(t, { contact: { id: 1 }, metaData: {} })).toEqual({
      ok: false,
      errors: ['Missing required property: metaData.toString'],
    });
    const inherited = Object.create({ contact: { id: 1 } }) as object;
    expect(validateTriggerPayload(schema('contact'), inherited).ok).toBe(false);
  });

  it('turns throwing getters and proxies into an error', () => {
    const getter = Object.defineProperty({}, 'contact', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const trap = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    for (const body of [getter, trap, { contact: { id: 1 }, metaData: trap }]) {
      expect(validateTriggerPayload(s, body)).toEqual({
        ok: false,
        errors: ['Invalid type for payload: it could not be read as JSON data'],
      });
    }
  });

  it('returns fresh objects sharing nothing with the input', () => {
    const body = seedTrigger();
    const r = validateTriggerPayload(s, body);
    if (!r.ok) throw new Error(r.errors.join());
    expect(r.value.contact).not.toBe(body.contact);
    expect(r.value.metaData).not.toBe(body.metaData);
    body.metaData.order_id = 999;
    expect(r.value.metaData?.order_id).toBe(12345);
  });

  it('survives a corrupt stored schema', () => {
    const corrupt = { target: 'nobody', properties: { metaData: 'oops', customData: [null, { name: 1 }, { name: 'x', type: 'blob' }] } };
    const r = validateTriggerPayload(corrupt as unknown as TriggerSchema, { contact: { id: 1 }, customData: { x: 1 } });
    expect(r).toEqual({
      ok: false,
      errors: ['Invalid type for property: customData.x. Expected a supported field type (schema declares "blob"), got integer'],
    });
    expect(validateTriggerPayload(null as unknown as TriggerSchema, {})).toEqual({
      ok: false,
      errors: ['Invalid type for event type schema: it could not be read as JSON data'],
    });
  });
});

describe('limits', () => {
  it('rejects a slot with more keys than maxFieldsPerSlot without listing each', () => {
    const metaData = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, i]));
    expect(validateTriggerPayload(schema('contact'), { contact: { id: 1 }, metaData }, { maxFieldsPerSlot: 5 })).toEqual({
      ok: false,
      errors: ['Too many properties in metaData: 6 (at most 5)'],
    });
  });

  it('stops at maxTotalKeys, counting members and elements everywhere', () => {
    const s = schema('contact', { metaData: [field('blob', 'json')] });
    const body = { contact: { id: 1 }, metaData: { blob: Array.from({ length: 10 }, () => ({ a: 1 })) } };
    // 2 top-level + 1 contact + 1 metaData + 10 elements + 10 members = 24
    expect(validateTriggerPayload(s, body, { maxTotalKeys: 24 }).ok).toBe(true);
    expect(validateTriggerPayload(s, body, { maxTotalKeys: 23 })).toEqual({
      ok: false,
      errors: ['Payload too large: more than 23 keys and array elements in total'],
    });
  });

  it('stops early on a huge array instead of walking it', () => {
    const s = schema('contact', { metaData: [field('blob', 'json')] });
    const body = { contact: { id: 1 }, metaData: { blob: new Array<number>(5_000_000).fill(0) } };
    const started = process.hrtime.bigint();
    const r = validateTriggerPayload(s, body);
    // Walking 5M elements takes seconds; the bound is loose so a loaded CI machine does not flake.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
    expect(r).toEqual({ ok: false, errors: ['Payload too large: more than 1000 keys and array elements in total'] });
  });

  it('falls back to defaults for bad option values and reports them via checkValidationOptions', () => {
    const bad = { maxFieldsPerSlot: 0, maxJsonDepth: -1, maxTotalKeys: 1.5, maxErrors: Number.NaN, defaultPhoneRegion: 'ZZ' };
    expect(checkValidationOptions(bad)).toEqual([
      'maxFieldsPerSlot must be an integer between 1 and 10000',
      'maxJsonDepth must be an integer between 0 and 1000',
      'maxTotalKeys must be an integer between 1 and 10000000',
      'maxErrors must be an integer between 1 and 10000',
      'defaultPhoneRegion must be a supported ISO 3166-1 alpha-2 region code such as FR',
    ]);
    expect(checkValidationOptions({ defaultPhoneRegion: 'FR', maxJsonDepth: 0 })).toEqual([]);
    expect(validateTriggerPayload(storePurchase(), seedTrigger(), bad).ok).toBe(true);
  });
});

describe('compileTriggerValidator', () => {
  it('gives the same answers as validateTriggerPayload', () => {
    const s = storePurchase();
    const v = compileTriggerValidator(s);
    const bodies: unknown[] = [seedTrigger(), {}, { contact: { id: 1 }, metaData: { order_id: 'x' } }, null];
    for (const b of bodies) expect(v(b)).toEqual(validateTriggerPayload(s, b));
  });

  it('validates the normalised output again to the same value (idempotent)', () => {
    const s = storePurchase();
    const first = validateTriggerPayload(s, {
      contact: { email: 'MARIE@Example.com', phone: '+33 6 12 34 56 78' },
      metaData: { order_id: 1, total_amount: 2 },
    });
    if (!first.ok) throw new Error(first.errors.join());
    const { targetKey, ...again } = first.value;
    expect(validateTriggerPayload(s, again)).toEqual({ ok: true, value: { ...again, targetKey } });
  });
});
