import { type EventTypeDefinition, mergeEventTypePatch, parseEventTypeDefinition, parseEventTypePatch } from './index';
import { storePurchaseType } from '@relay/testing';

const seedCreate = storePurchaseType;

function parsed(body: unknown): EventTypeDefinition {
  const r = parseEventTypeDefinition(body);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
}

describe('parseEventTypeDefinition', () => {
  it('parses the createEvent example of seed 000 with defaults applied', () => {
    expect(parseEventTypeDefinition(seedCreate())).toEqual({
      ok: true,
      value: { ...seedCreate(), target: 'contact' },
    });
  });

  it('keeps descriptions, every slot and every type, defaulting required to false', () => {
    const body = {
      name: 'Tier upgraded',
      code_name: 'loyalty.tier_upgraded',
      description: 'Fired by the loyalty engine',
      target: 'both',
      properties: {
        metaData: [{ name: 'tier', type: 'text', description: 'new tier' }],
        customData: [
          { name: 'b', type: 'bool' },
          { name: 'l', type: 'longtext' },
          { name: 'n', type: 'number' },
          { name: 'd', type: 'decimal' },
          { name: 'at', type: 'date' },
          { name: 'j', type: 'json', required: true },
        ],
        'contact.customData': [{ name: '_private', type: 'text', description: null }],
        'visitor.customData': [],
      },
    };
    const v = parsed(body);
    expect(v.description).toBe('Fired by the loyalty engine');
    expect(v.properties.metaData).toEqual([{ name: 'tier', type: 'text', required: false, description: 'new tier' }]);
    expect(v.properties.customData?.map((f) => [f.type, f.required])).toEqual([
      ['bool', false],
      ['longtext', false],
      ['number', false],
      ['decimal', false],
      ['date', false],
      ['json', true],
    ]);
    expect(v.properties['contact.customData']).toEqual([{ name: '_private', type: 'text', required: false }]);
    expect(v.properties['visitor.customData']).toEqual([]);
  });

  it('collects every error in one pass', () => {
    const body = {
      name: '   ',
      code_name: 'bad name',
      target: 'everyone',
      colour: 'red',
      properties: {
        metaData: [
          { name: '1x', type: 'int', required: 'yes', extra: 1 },
          { name: 'a', type: 'text' },
          { name: 'a', type: 'bool' },
          'oops',
          { type: 'text' },
          { name: 'constructor', type: 'json' },
          { name: 'ok', type: 5, description: 7 },
        ],
        bogus: [],
        customData: {},
      },
    };
    expect(parseEventTypeDefinition(body)).toEqual({
      ok: false,
      errors: [
        'Unknown property: colour',
        'Invalid value for property: name. Expected text (not blank, at most 255 characters, well-formed Unicode), got "   "',
        'code_name must not contain spaces',
        'Invalid value for property: target. Expected one of contact, visitor, both, got "everyone"',
        'Unknown property: properties.bogus',
        'Unknown property: properties.metaData[0].extra',
        'Invalid value for property: properties.metaData[0].name. Expected identifier (a letter or underscore, then letters, digits or underscores; at most 64 characters), got "1x"',
        'Invalid value for property: properties.metaData[0].type. Expected one of bool, text, longtext, number, decimal, date, json, got "int"',
        'Invalid type for property: properties.metaData[0].required. Expected bool, got string',
        'Duplicate field name: properties.metaData[2].name "a" (already declared at properties.metaData[1])',
        'Invalid type for property: properties.metaData[3]. Expected object, got string',
        'Missing required property: properties.metaData[4].name',
        'Invalid value for property: properties.metaData[5].name. Expected a name other than __proto__, constructor and prototype, got "constructor"',
        'Invalid type for property: properties.metaData[6].type. Expected text, got integer',
        'Invalid type for property: properties.metaData[6].description. Expected text, got integer',
        'Invalid type for property: properties.customData. Expected array, got object',
      ],
    });
  });

  it.each<[string, unknown, string[]]>([
    ['a non-object body', [], ['Invalid type for event type. Expected object, got array']],
    ['an empty body', {}, ['Missing required property: name', 'Missing required property: code_name']],
    [
      'wrong scalar types',
      { name: 1, code_name: 2, description: false, target: null, properties: null },
      [
        'Invalid type for property: name. Expected text, got integer',
        'Invalid type for property: code_name. Expected text, got integer',
        'Invalid type for property: description. Expected text, got boolean',
        'Invalid type for property: target. Expected text, got null',
        'Invalid type for property: properties. Expected object, got null',
      ],
    ],
    [
      'a too long name',
      { name: 'n'.repeat(256), code_name: 'x' },
      ['Invalid value for property: name. Expected text (not blank, at most 255 characters, well-formed Unicode), got 256 characters'],
    ],
    [
      'a too long description',
      { name: 'n', code_name: 'x', description: 'd'.repeat(1001) },
      ['Invalid value for property: description. Expected text (at most 1000 characters, well-formed Unicode), got 1001 characters'],
    ],
    [
      'a field name of 65 characters',
      { name: 'n', code_name: 'x', properties: { metaData: [{ name: 'f'.repeat(65), type: 'text' }] } },
      [
        `Invalid value for property: properties.metaData[0].name. Expected identifier (a letter or underscore, then letters, digits or underscores; at most 64 characters), got "${'f'.repeat(40)}"…`,
      ],
    ],
    [
      'visitor fields on a contact event',
      { name: 'n', code_name: 'x', properties: { 'visitor.customData': [{ name: 'v', type: 'text' }] } },
      ['Property not allowed for target contact: properties.visitor.customData'],
    ],
    [
      'contact fields on a visitor event',
      { name: 'n', code_name: 'x', target: 'visitor', properties: { 'contact.customData': [{ name: 'c', type: 'text' }] } },
      ['Property not allowed for target visitor: properties.contact.customData'],
    ],
    [
      'a prototype-polluting body',
      JSON.parse('{"name":"n","code_name":"x","__proto__":{"target":"both"},"properties":{"__proto__":[]}}'),
      ['Unknown property: __proto__', 'Unknown property: properties.__proto__'],
    ],
  ])('rejects %s', (_label, body, errors) => {
    expect(parseEventTypeDefinition(body)).toEqual({ ok: false, errors });
  });

  it('limits the fields per slot', () => {
    const fields = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, type: 'text' }));
    const body = { name: 'n', code_name: 'x', properties: { metaData: fields } };
    expect(parseEventTypeDefinition(body, { maxFieldsPerSlot: 4 }).ok).toBe(true);
    expect(parseEventTypeDefinition(body, { maxFieldsPerSlot: 3 })).toEqual({
      ok: false,
      errors: ['Too many fields in properties.metaData: 4 (at most 3)'],
    });
    const big = { name: 'n', code_name: 'x', properties: { metaData: Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, type: 'text' })) } };
    expect(parseEventTypeDefinition(big)).toEqual({ ok: false, errors: ['Too many fields in properties.metaData: 101 (at most 100)'] });
  });

  it('caps the error list', () => {
    const fields = Array.from({ length: 100 }, () => ({ name: '-', type: '-' }));
    const r = parseEventTypeDefinition({ name: 'n', code_name: 'x', properties: { metaData: fields } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.at(-1)).toBe('Too many errors: 100 more not shown');
  });
});

describe('parseEventTypePatch', () => {
  it('accepts any subset', () => {
    expect(parseEventTypePatch({ code_name: 'Order.Created' })).toEqual({ ok: true, value: { code_name: 'Order.Created' } });
    expect(parseEventTypePatch({ description: null, properties: { customData: null, metaData: [{ name: 'x', type: 'date' }] } })).toEqual({
      ok: true,
      value: { description: null, properties: { customData: null, metaData: [{ name: 'x', type: 'date', required: false }] } },
    });
  });

  it.each<[string, unknown, string[]]>([
    ['a non-object', 'x', ['Invalid type for event type patch. Expected object, got string']],
    ['an empty patch', {}, ['Empty patch: provide at least one of name, code_name, description, target, properties']],
    ['unknown keys', { id: 3 }, ['Unknown property: id']],
    ['a null name', { name: null }, ['Invalid type for property: name. Expected text, got null']],
    ['a null target', { target: null }, ['Invalid type for property: target. Expected text, got null']],
    ['a bad code_name', { code_name: 'a.b.c' }, ['code_name may contain at most one dot']],
    ['null properties', { properties: null }, ['Invalid type for property: properties. Expected object, got null']],
    [
      'a target contradicting slots in the same patch',
      { target: 'contact', properties: { 'visitor.customData': [{ name: 'v', type: 'text' }] } },
      ['Property not allowed for target contact: properties.visitor.customData'],
    ],
  ])('rejects %s', (_label, body, errors) => {
    expect(parseEventTypePatch(body)).toEqual({ ok: false, errors });
  });
});

describe('mergeEventTypePatch', () => {
  const current = () => parsed({ ...seedCreate(), description: 'POS', properties: { ...seedCreate().properties, customData: [{ name: 'c', type: 'text' }] } });
  const patch = (body: unknown) => {
    const r = parseEventTypePatch(body);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.value;
  };

  it('replaces given slots, removes null ones, keeps the rest', () => {
    const r = mergeEventTypePatch(
      current(),
      patch({ name: 'Store purchase', properties: { customData: null, 'contact.customData': [{ name: 't', type: 'text' }] } }),
    );
    expect(r).toEqual({
      ok: true,
      value: {
        ...current(),
        name: 'Store purchase',
        properties: { metaData: current().properties.metaData, 'contact.customData': [{ name: 't', type: 'text', required: false }] },
      },
    });
  });

  it('removes the description with null', () => {
    const r = mergeEventTypePatch(current(), patch({ description: null }));
    expect(r.ok && 'description' in r.value).toBe(false);
  });

  it('re-checks the target against the stored slots', () => {
    const withContactFields = parsed({ ...seedCreate(), properties: { 'contact.customData': [{ name: 't', type: 'text' }] } });
    expect(mergeEventTypePatch(withContactFields, patch({ target: 'visitor' }))).toEqual({
      ok: false,
      errors: ['Property not allowed for target visitor: properties.contact.customData'],
    });
  });
});
