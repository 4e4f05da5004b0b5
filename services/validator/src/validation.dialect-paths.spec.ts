import type { EventEnvelope } from '@relay/contracts';
import type { StoredEventType } from '@relay/control-plane';
import { inboundMessage, type OutputRecord } from '@relay/kafka';
import { makeContactRef, makeEnvelope } from '@relay/testing';
import { createValidationHandler } from './validation.handler';

// An event re-validated here reports its paths as its emitter named them, like the gateway.
const eventType: StoredEventType = {
  id: 'et1',
  team_id: 'team-a',
  code_name: 'signup',
  name: 'Signup',
  description: null,
  target: 'contact',
  version: 1,
  properties: { customData: [{ name: 'plan', type: 'text', required: true }] },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

const handle = createValidationHandler({
  eventTypes: { get: async () => eventType, getVersion: async () => eventType },
  changes: { currentMany: async () => new Map() },
  idempotency: { claimMany: async () => new Map() },
  identity: { resolve: async () => new Map() },
  countRejection: () => undefined,
});

const errorsFor = async (dialect: string): Promise<string[]> => {
  const value: EventEnvelope = makeEnvelope({
    event_id: `e-${dialect}`,
    team_id: 'team-a',
    code_name: 'signup',
    dialect,
    contact: makeContactRef({ id: ' u1', email: 'a@b.co' }),
    custom_data_json: '{"plan":7}',
  });
  const message = inboundMessage(value, { topic: 'relay.events.ingested' });
  const [outcome] = await handle([message]);
  const out = (outcome as { outputs: OutputRecord<'rejected'>[] }).outputs[0] as OutputRecord<'rejected'>;
  expect(out.topic).toBe('rejected');
  return out.value.errors;
};

const ID_EXPECTED = 'Expected text (not empty, no leading or trailing whitespace, at most 255 characters), got " u1"';

describe('validation handler: error paths per dialect', () => {
  it('names Sendmator paths as seed 003 does', async () => {
    expect(await errorsFor('sendmator')).toEqual([
      `Invalid value for property: user_info.contact_external_id. ${ID_EXPECTED}`,
      'Invalid type for property: event_data.plan. Expected text, got integer',
    ]);
  });

  it('names Simon paths as seed 002 does', async () => {
    expect(await errorsFor('simon')).toEqual([
      `Invalid value for property: traits.userId. ${ID_EXPECTED}`,
      'Invalid type for property: properties.properties.plan. Expected text, got integer',
    ]);
  });

  it('keeps seed 000 paths for every other dialect', async () => {
    const seed = [`Invalid value for property: contact.id. ${ID_EXPECTED}`, 'Invalid type for property: customData.plan. Expected text, got integer'];
    expect(await errorsFor('kafka')).toEqual(seed);
    expect(await errorsFor('shopimind')).toEqual(seed);
    expect(await errorsFor('constructor')).toEqual(seed);
  });
});
