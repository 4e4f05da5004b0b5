import { type TriggerValidationOptions, validateTriggerPayload } from './index';

const both = { target: 'both' as const, properties: {} };
const run = (body: unknown, options?: TriggerValidationOptions) => validateTriggerPayload(both, body, options);
const contact = (c: Record<string, unknown>, options?: TriggerValidationOptions) => run({ contact: c }, options);

const INTL = 'phone number in international format (+ then country code and number)';
const ID_EXPECTED = 'text (not empty, no leading or trailing whitespace, at most 255 characters)';

describe('contact.email', () => {
  it.each([
    ['marie.dupont@example.com', 'marie.dupont@example.com'],
    ['Marie.Dupont@Example.COM', 'marie.dupont@example.com'],
    ["o'brien+tag@sub.example.co.uk", "o'brien+tag@sub.example.co.uk"],
    ['x@xn--bcher-kva.example', 'x@xn--bcher-kva.example'],
    ['a@b.io', 'a@b.io'],
  ])('accepts %s as %s', (email, normalised) => {
    const r = contact({ email });
    expect(r.ok && r.value.contact).toEqual({ email: normalised });
    expect(r.ok && r.value.targetKey).toBe(`contact:email:${normalised}`);
  });

  it.each([
    'plain',
    '@example.com',
    'a@',
    'a@localhost',
    'a..b@example.com',
    '.a@example.com',
    'a.@example.com',
    'a@-example.com',
    'a@example-.com',
    'a@example.c0m',
    'a@example.c',
    'a b@example.com',
    ' a@example.com',
    'a@example.com ',
    '"quoted"@example.com',
    'a@[127.0.0.1]',
    'a@b@example.com',
    'josé@example.com',
    'a@exämple.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(64)}.com`,
    `a@${'b.'.repeat(130)}com`,
  ])('rejects %j', (email) => {
    expect(contact({ email })).toEqual({
      ok: false,
      errors: [expect.stringMatching(/^Invalid value for property: contact\.email\. Expected email address \(local@domain\.tld\), got "/)],
    });
  });

  it('rejects non-strings by kind', () => {
    expect(contact({ email: 42 })).toEqual({
      ok: false,
      errors: ['Invalid type for property: contact.email. Expected text, got integer'],
    });
  });
});

describe('contact.phone', () => {
  it.each([
    ['+33612345678', '+33612345678'],
    ['+33 6 12 34 56 78', '+33612345678'],
    ['+1 (415) 555-2671', '+14155552671'],
    ['+44 20 7946 0958', '+442079460958'],
  ])('normalises %s to %s without a default region', (phone, e164) => {
    const r = contact({ phone });
    expect(r.ok && r.value.contact).toEqual({ phone: e164 });
    expect(r.ok && r.value.targetKey).toBe(`contact:phone:${e164}`);
  });

  it.each(['0612345678', '0033612345678', '33612345678'])('requires a leading + without a default region: %s', (phone) => {
    expect(contact({ phone })).toEqual({
      ok: false,
      errors: [`Invalid value for property: contact.phone. Expected ${INTL}, got ${JSON.stringify(phone)}`],
    });
  });

  it.each([
    ['0612345678', '+33612345678'],
    ['06 12 34 56 78', '+33612345678'],
    ['0033612345678', '+33612345678'],
    ['+14155552671', '+14155552671'],
  ])('reads %s with defaultPhoneRegion FR as %s', (phone, e164) => {
    const r = contact({ phone }, { defaultPhoneRegion: 'FR' });
    expect(r.ok && r.value.contact?.phone).toBe(e164);
  });

  it.each(['+33', '+999 123', '+33 6 12', '+33612345678 ext. 12', 'call +33612345678', '+33612345678abc', '++33612345678', `+${'1'.repeat(30)}`, ''])(
    'rejects %j',
    (phone) => {
      expect(contact({ phone })).toEqual({
        ok: false,
        errors: [`Invalid value for property: contact.phone. Expected ${INTL}, got ${JSON.stringify(phone)}`],
      });
    },
  );

  it('names the default region in its message', () => {
    expect(contact({ phone: '123' }, { defaultPhoneRegion: 'FR' })).toEqual({
      ok: false,
      errors: ['Invalid value for property: contact.phone. Expected phone number (international format, or national format of FR), got "123"'],
    });
  });

  it('treats an unsupported default region as none', () => {
    expect(contact({ phone: '0612345678' }, { defaultPhoneRegion: 'XX' }).ok).toBe(false);
    expect(contact({ phone: '0612345678' }, { defaultPhoneRegion: '__proto__' }).ok).toBe(false);
  });

  it('rejects non-strings by kind', () => {
    expect(contact({ phone: 33612345678 })).toEqual({
      ok: false,
      errors: ['Invalid type for property: contact.phone. Expected text, got integer'],
    });
  });
});

describe('contact.id and visitor.id', () => {
  it.each([
    ['c-42', 'contact:id:c-42'],
    [42, 'contact:id:42'],
    [0, 'contact:id:0'],
    ['a:b', 'contact:id:a:b'],
  ])('accepts %j', (id, key) => {
    const r = contact({ id });
    expect(r.ok && r.value).toEqual({ contact: { id }, targetKey: key });
  });

  it.each([
    ['', 'empty string'],
    [' 42', '" 42"'],
    ['42\n', '"42\\n"'],
    ['a'.repeat(256), `"${'a'.repeat(40)}"…`],
  ])('rejects id %j', (id, got) => {
    expect(contact({ id })).toEqual({
      ok: false,
      errors: [`Invalid value for property: contact.id. Expected ${ID_EXPECTED}, got ${got}`],
    });
  });

  it.each([
    [true, 'Invalid type for property: visitor.id. Expected text or number, got boolean'],
    [null, 'Invalid type for property: visitor.id. Expected text or number, got null'],
    [{}, 'Invalid type for property: visitor.id. Expected text or number, got object'],
    [1.5, 'Invalid value for property: visitor.id. Expected number (an integer between -(2^53-1) and 2^53-1), got 1.5'],
  ])('rejects visitor id %j', (id, message) => {
    expect(run({ visitor: { id } })).toEqual({ ok: false, errors: [message] });
  });
});
