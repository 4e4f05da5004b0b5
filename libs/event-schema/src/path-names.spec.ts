import {
  checkValidationOptions,
  compileTriggerValidator,
  type FieldSpec,
  type PathNames,
  SENDMATOR_PATHS,
  SIMON_PATHS,
  type TriggerSchema,
  TRIGGER_PATHS,
  validateTriggerPayload,
} from './index';

const field = (name: string, type: FieldSpec['type'], required = false): FieldSpec => ({ name, type, required });

const errorsOf = (schema: TriggerSchema, body: unknown, pathNames?: PathNames): string[] => {
  const r = validateTriggerPayload(schema, body, pathNames === undefined ? undefined : { pathNames });
  if (r.ok) throw new Error('expected errors');
  return r.errors;
};

const plan: TriggerSchema = {
  target: 'contact',
  properties: {
    customData: [field('plan', 'text', true), field('seats', 'number'), field('extra', 'json')],
    metaData: [field('contact.id', 'text'), field('customData', 'number')],
    'contact.customData': [field('tier', 'text', true)],
  },
};

describe('pathNames: error paths named as the emitter sent them', () => {
  it('renames a slot and every field path under it (nested ones included)', () => {
    const body = { contact: { id: 'u1', customData: { tier: 'gold' } }, customData: { seats: 'x', extra: { a: [1, 2n] }, nope: 1 } };
    expect(errorsOf(plan, body, { customData: 'event_data' })).toEqual([
      'Missing required property: event_data.plan',
      'Invalid type for property: event_data.seats. Expected number, got string',
      'Invalid type for property: event_data.extra.a[1]. Expected json, got bigint',
      'Unknown property: event_data.nope',
    ]);
  });

  it('matches whole segments only and lets the longest prefix win', () => {
    const names: PathNames = { contact: 'user_info', 'contact.id': 'user_info.contact_external_id' };
    const body = { contact: { id: ' u1', email: 'nope', customData: {} }, customData: { plan: 'p' } };
    expect(errorsOf(plan, body, names)).toEqual([
      'Invalid value for property: user_info.contact_external_id. Expected text (not empty, no leading or trailing whitespace, at most 255 characters), got " u1"',
      'Invalid value for property: user_info.email. Expected email address (local@domain.tld), got "nope"',
      'Missing required property: user_info.customData.tier',
    ]);
    // A key renames paths that start with it, never ones that merely contain it.
    expect(errorsOf(plan, { contact: { id: 'u1', customData: {} }, customData: {} }, { customData: 'event_data' })).toEqual([
      'Missing required property: contact.customData.tier',
      'Missing required property: event_data.plan',
    ]);
  });

  it('never touches a sender field named like a slot path, nor values quoted in messages', () => {
    const body = {
      contact: { email: 'contact.id@example' },
      metaData: { 'contact.id': 1, customData: 'x' },
      customData: { plan: 'p' },
      ['contact.id']: true,
    };
    const names: PathNames = { ...SENDMATOR_PATHS, metaData: 'meta' };
    expect(errorsOf({ ...plan, properties: { ...plan.properties, 'contact.customData': [] } }, body, names)).toEqual([
      'Unknown property: ["contact.id"]',
      'Invalid value for property: user_info.email. Expected email address (local@domain.tld), got "contact.id@example"',
      'Invalid type for property: meta["contact.id"]. Expected text, got integer',
      'Invalid type for property: meta.customData. Expected number, got string',
    ]);
  });

  it('names the paths of missing-target and not-allowed-for-target messages, not the target value', () => {
    const both: TriggerSchema = { target: 'both', properties: {} };
    const visitor: TriggerSchema = { target: 'visitor', properties: {} };
    const contact: TriggerSchema = { target: 'contact', properties: {} };
    const names: PathNames = { contact: 'user_info', visitor: 'anonymous' };
    expect(errorsOf(both, {}, names)).toEqual(['Missing required property: user_info or anonymous']);
    expect(errorsOf(contact, {}, names)).toEqual(['Missing required property: user_info']);
    expect(errorsOf(visitor, { contact: { id: 1 } }, names)).toEqual([
      'Missing required property: anonymous',
      'Property not allowed for target visitor: user_info',
    ]);
    expect(errorsOf(contact, { visitor: { id: 1 }, contact: {} }, names)).toEqual([
      'Missing required property: user_info.id, user_info.email or user_info.phone',
      'Property not allowed for target contact: anonymous',
    ]);
    expect(errorsOf(both, { visitor: {} }, { 'visitor.id': 'clientId' })).toEqual(['Missing required property: clientId']);
  });

  it('speaks Sendmator and Simon with the shared maps', () => {
    const contact: TriggerSchema = { target: 'contact', properties: { customData: [field('plan', 'text', true)] } };
    expect(errorsOf(contact, { contact: {} }, SENDMATOR_PATHS)).toEqual([
      'Missing required property: user_info.contact_external_id, user_info.email or user_info.phone',
      'Missing required property: event_data.plan',
    ]);
    expect(errorsOf(contact, { contact: { phone: '12' }, customData: 1 }, SENDMATOR_PATHS)).toEqual([
      'Invalid value for property: user_info.phone. Expected phone number in international format (+ then country code and number), got "12"',
      'Invalid type for property: event_data. Expected object, got integer',
    ]);
    // No Sendmator field feeds contact.customData, so it keeps its seed-000 name.
    expect(errorsOf(plan, { contact: { id: 'u' }, customData: { plan: 'p' } }, SENDMATOR_PATHS)).toEqual([
      'Missing required property: contact.customData.tier',
    ]);
    expect(errorsOf(contact, { contact: { id: [], email: 'x' }, customData: { plan: 1 } }, SIMON_PATHS)).toEqual([
      'Invalid type for property: traits.userId. Expected text or number, got array',
      'Invalid value for property: traits.email. Expected email address (local@domain.tld), got "x"',
      'Invalid type for property: properties.properties.plan. Expected text, got integer',
    ]);
    const visitors: TriggerSchema = { target: 'visitor', properties: { 'visitor.customData': [field('device', 'text', true)] } };
    expect(errorsOf(visitors, { metaData: {} }, SIMON_PATHS)).toEqual(['Missing required property: clientId']);
    expect(errorsOf(visitors, { visitor: { id: [] } }, SIMON_PATHS)).toEqual([
      'Invalid type for property: clientId. Expected text or number, got array',
      'Missing required property: visitor.customData.device',
    ]);
  });

  it('leaves the summary and size messages alone', () => {
    const many: TriggerSchema = { target: 'contact', properties: { customData: [] } };
    const customData = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}`, i]));
    const r = validateTriggerPayload(many, { contact: { id: 1 }, customData }, { pathNames: SENDMATOR_PATHS, maxErrors: 2 });
    expect(r).toEqual({
      ok: false,
      errors: ['Unknown property: event_data.f0', 'Unknown property: event_data.f1', 'Too many errors: 3 more not shown'],
    });
    const tooMany = validateTriggerPayload(many, { contact: { id: 1 }, customData }, { pathNames: SENDMATOR_PATHS, maxFieldsPerSlot: 2 });
    expect(tooMany).toEqual({ ok: false, errors: ['Too many properties in event_data: 5 (at most 2)'] });
    const tooLarge = validateTriggerPayload(many, { contact: { id: 1 }, customData }, { pathNames: SENDMATOR_PATHS, maxTotalKeys: 3 });
    expect(tooLarge).toEqual({ ok: false, errors: ['Payload too large: more than 3 keys and array elements in total'] });
  });

  it('changes nothing without a map, with an empty one, or for the compiled validator', () => {
    const bodies: unknown[] = [{}, { contact: {}, customData: { seats: 'x' } }, { visitor: 1, metaData: { customData: 'x' } }, null];
    for (const b of bodies) {
      const plain = validateTriggerPayload(plan, b);
      expect(validateTriggerPayload(plan, b, { pathNames: {} })).toEqual(plain);
      expect(validateTriggerPayload(plan, b, { pathNames: Object.fromEntries(TRIGGER_PATHS.map((p) => [p, p])) })).toEqual(plain);
      expect(compileTriggerValidator(plan, { pathNames: SIMON_PATHS })(b)).toEqual(validateTriggerPayload(plan, b, { pathNames: SIMON_PATHS }));
    }
  });

  it('reads a caller-owned map afresh on every call', () => {
    const names: Record<string, string> = { customData: 'event_data' };
    const schema: TriggerSchema = { target: 'contact', properties: { customData: [field('plan', 'text', true)] } };
    expect(errorsOf(schema, { contact: { id: 1 } }, names)).toEqual(['Missing required property: event_data.plan']);
    names.customData = 'data';
    expect(errorsOf(schema, { contact: { id: 1 } }, names)).toEqual(['Missing required property: data.plan']);
    expect(Object.isFrozen(SENDMATOR_PATHS) && Object.isFrozen(SIMON_PATHS)).toBe(true);
  });
});

describe('checkValidationOptions on pathNames', () => {
  it('accepts the shared maps', () => {
    expect(checkValidationOptions({ pathNames: SENDMATOR_PATHS })).toEqual([]);
    expect(checkValidationOptions({ pathNames: SIMON_PATHS })).toEqual([]);
  });

  it('reports unknown paths and unusable names, and ignores them when validating', () => {
    const bad = { 'contact.name': 'user_info.name', customData: 7, metaData: '', 'contact.id': 'ok' } as unknown as PathNames;
    expect(checkValidationOptions({ pathNames: bad })).toEqual([
      `pathNames has an unknown trigger path "contact.name" (known: ${TRIGGER_PATHS.join(', ')})`,
      'pathNames["customData"] must be a non-empty string',
      'pathNames["metaData"] must be a non-empty string',
    ]);
    expect(checkValidationOptions({ pathNames: 'event_data' as unknown as PathNames })).toEqual(['pathNames must be an object mapping trigger paths to names']);
    const schema: TriggerSchema = { target: 'contact', properties: { customData: [field('plan', 'text', true)] } };
    expect(errorsOf(schema, { contact: { id: ' x' } }, bad)).toEqual([
      'Invalid value for property: ok. Expected text (not empty, no leading or trailing whitespace, at most 255 characters), got " x"',
      'Missing required property: customData.plan',
    ]);
  });
});
