import { resolveAmong } from './contacts';
import { durationMs } from './duration';
import { compileScenario, judge, planActions, type MatchEvent } from './evaluate';
import { deliveryId, spreadFraction } from './ids';
import { parseContactInput, parseScenarioDefinition, type Contact, type Scenario } from './model';

const contact = (over: Partial<Contact> = {}): Contact => ({
  id: 'c1',
  external_id: null,
  email: 'marie@example.com',
  phone: null,
  name: 'Marie',
  tags: ['vip'],
  custom_data: { tier: 'gold' },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

const event = (over: Partial<MatchEvent> = {}): MatchEvent => ({
  event_id: 'e1',
  team_id: 't1',
  environment: 'production',
  code_name: 'store_purchase',
  received_at: 1_700_000_000_000,
  run_at: 1_700_000_000_000,
  metaData: { total_amount: 89.5, store_code: 'PAR-13' },
  customData: {},
  contactCustomData: null,
  variables: {},
  ...over,
});

const scenario = (body: Record<string, unknown>): Scenario => ({
  ...parseScenarioDefinition({ name: 's', code_names: ['store_purchase'], actions: [{ type: 'webhook', webhook_id: 'w1' }], ...body }),
  id: 's1',
  team_id: 't1',
  version: 1,
  created_at: '',
  updated_at: '',
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('scenario filters', () => {
  it.each([
    ['no filter', {}, contact(), 'candidate'],
    ['tags.any hit', { tags: { any: ['vip', 'new'] } }, contact(), 'candidate'],
    ['tags.any miss', { tags: { any: ['new'] } }, contact(), 'filtered'],
    ['tags.all miss', { tags: { all: ['vip', 'new'] } }, contact(), 'filtered'],
    ['tags.none hit', { tags: { none: ['vip'] } }, contact(), 'filtered'],
    ['payload filter holds', { filter: { '>': [{ var: 'event.metaData.total_amount' }, 50] } }, contact(), 'candidate'],
    ['payload filter fails', { filter: { '>': [{ var: 'event.metaData.total_amount' }, 100] } }, contact(), 'filtered'],
    ['attribute filter holds', { filter: { '==': [{ var: 'contact.custom_data.tier' }, 'gold'] } }, contact(), 'candidate'],
    ['attribute filter fails', { filter: { '==': [{ var: 'contact.custom_data.tier' }, 'gold'] } }, contact({ custom_data: {} }), 'filtered'],
    ['paused', { status: 'paused' }, contact(), 'paused'],
  ])('%s', (_name, body, c, outcome) => {
    expect(judge(compileScenario(scenario(body)), event(), c).outcome).toBe(outcome);
  });

  it('refuses unknown operators, bad durations and broken templates at save time, all at once', () => {
    expect(
      errorOf(() =>
        parseScenarioDefinition({
          name: 's',
          code_names: ['bad code'],
          filter: { nope: [1] },
          cooldown: 'a day',
          actions: [{ type: 'webhook', webhook_id: 'w', delay: 'PT5S', delay_max: 'PT1S', template: '{{#if}}' }],
        }),
      ),
    ).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: expect.arrayContaining([
        expect.stringMatching(/^code_names\.0/),
        expect.stringMatching(/^filter: Unrecognized operation nope/),
        expect.stringMatching(/^cooldown/),
        expect.stringMatching(/delay_max: must not be shorter/),
        expect.stringMatching(/template/),
      ]),
    });
  });
});

describe('actions', () => {
  it('renders the Handlebars template over event, contact and variables into payload_json', () => {
    const s = scenario({
      variables: { brand: 'Relay' },
      actions: [
        {
          type: 'webhook',
          webhook_id: 'w1',
          template: '{"to":"{{contact.email}}","total":{{event.metaData.total_amount}},"brand":"{{brand}}","c":{{json contact.custom_data}} }',
        },
      ],
    });
    const { planned } = planActions(compileScenario(s), event(), contact(), { now: 1, delayScale: 1 });
    expect(planned).toHaveLength(1);
    expect(JSON.parse(planned[0]?.delivery.payload_json ?? '')).toEqual({ to: 'marie@example.com', total: 89.5, brand: 'Relay', c: { tier: 'gold' } });
    expect(planned[0]?.due_at).toBeNull();
    expect(planned[0]?.delivery).toMatchObject({ kind: 'scenario_action', endpoint_id: 'w1', scenario_id: 's1', action_index: 0, event_id: 'e1' });
  });

  it('spreads a delay range deterministically per contact and scales it', () => {
    const s = compileScenario(scenario({ actions: [{ type: 'webhook', webhook_id: 'w', delay: 'P2D', delay_max: 'P4D' }] }));
    const due = (c: Contact, scale = 1) => planActions(s, event(), c, { now: 1, delayScale: scale }).planned[0]?.due_at as number;
    const a = due(contact());
    expect(a).toBe(due(contact()));
    expect(a - 1_700_000_000_000).toBeGreaterThanOrEqual(2 * 86400_000);
    expect(a - 1_700_000_000_000).toBeLessThan(4 * 86400_000);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => due(contact({ id: `c${i}` }))));
    expect(spread.size).toBeGreaterThan(40);
    expect(due(contact(), 0.001) - 1_700_000_000_000).toBeLessThan(4 * 86400);
  });

  it('waits for a future trigger_at even without a delay', () => {
    const s = compileScenario(scenario({}));
    expect(planActions(s, event({ run_at: 1_700_000_001_000 }), contact(), { now: 1, delayScale: 1 }).planned[0]?.due_at).toBe(1_700_000_001_000);
  });

  it('gives stable UUIDv7 delivery ids', () => {
    const id = deliveryId('e1', 's1', 0, 1_700_000_000_000);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id).toBe(deliveryId('e1', 's1', 0, 1_700_000_000_000));
    expect(id).not.toBe(deliveryId('e1', 's1', 1, 1_700_000_000_000));
    expect(spreadFraction('s', 'c', 0)).toBeGreaterThanOrEqual(0);
  });

  it('parses ISO 8601 durations', () => {
    expect(durationMs('PT24H')).toBe(86400_000);
    expect(durationMs('PT0.5S')).toBe(500);
    expect(durationMs('24h')).toBeNull();
  });
});

describe('identity', () => {
  const a = contact({ id: 'a', email: 'a@x.com', phone: '+33612345678' });
  const b = contact({ id: 'b', email: 'b@x.com', phone: '+33698765432', external_id: 'ext-b' });
  const find = (kind: 'id' | 'external_id' | 'email' | 'phone', v: string) => [a, b].find((c) => c[kind] === v);

  it('takes id, then external_id, then email, then phone; reports conflicts without merging', () => {
    expect(resolveAmong({ email: 'a@x.com', phone: '+33698765432' }, find)).toMatchObject({
      contact: { id: 'a' },
      matchedBy: 'email',
      conflicts: [{ kind: 'phone', contact_id: 'b' }],
    });
    expect(resolveAmong({ id: 'ext-b', email: 'a@x.com' }, find)).toMatchObject({ contact: { id: 'b' }, matchedBy: 'id' });
    expect(resolveAmong({ email: 'nobody@x.com' }, find).contact).toBeNull();
  });

  it('normalises contact input like the validator normalises events', () => {
    expect(parseContactInput({ email: 'Marie@Example.COM', phone: '+33 6 12 34 56 78', tags: ['a', 'a'] })).toEqual({
      email: 'marie@example.com',
      phone: '+33612345678',
      tags: ['a'],
    });
    expect(errorOf(() => parseContactInput({ email: 'nope', extra: 1 }))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
