import type { EventEnvelope, RejectedEvent } from '@relay/contracts';
import type { StoredEventType } from '@relay/control-plane';
import { inboundMessage, type InboundMessage, type OutputRecord } from '@relay/kafka';
import { makeContactRef, makeEnvelope } from '@relay/testing';
import { createValidationHandler, type EventTypeLookup, type IdempotencyClaims, type IdentityLookup } from './validation.handler';

const eventType: StoredEventType = {
  id: 'et1',
  team_id: 'team-a',
  code_name: 'store_purchase',
  name: 'Store purchase',
  description: null,
  target: 'contact',
  version: 3,
  properties: {
    metaData: [
      { name: 'order_id', type: 'number', required: true },
      { name: 'total_amount', type: 'decimal', required: true },
    ],
  },
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

const lookup: EventTypeLookup = {
  get: async (teamId, codeName) => (teamId === 'team-a' && codeName === 'store_purchase' ? eventType : null),
  getVersion: async (teamId, codeName, version) =>
    teamId === 'team-a' && codeName === 'store_purchase' && version === 2
      ? { ...eventType, version: 2, properties: { metaData: [{ name: 'order_id', type: 'number', required: true }] } }
      : null,
};

const envelope = (overrides: Partial<EventEnvelope> = {}): EventEnvelope =>
  makeEnvelope({
    event_id: 'e1',
    team_id: 'team-a',
    received_at: 1700000000000,
    contact: makeContactRef({ email: 'A@B.COM' }),
    meta_data_json: '{"order_id":1,"total_amount":2.5}',
    ...overrides,
  });

const message = (value: EventEnvelope): InboundMessage<EventEnvelope> =>
  inboundMessage(value, { topic: 'relay.events.ingested', key: Buffer.from('team-a:contact:email:a@b.com') });

describe('validation handler', () => {
  const reasons: string[] = [];
  // In-memory stand-ins with the repositories' contract (the real ones are covered by the e2e specs).
  const claimed = new Map<string, string>();
  const idempotency: IdempotencyClaims = {
    claimMany: async (claims) => {
      for (const c of claims) if (!claimed.has(`${c.teamId}\u0000${c.key}`)) claimed.set(`${c.teamId}\u0000${c.key}`, c.eventId);
      return new Map(claimed);
    },
  };
  const identity: IdentityLookup = {
    resolve: async (teamId, ids) => new Map(ids.filter((id) => teamId === 'team-a' && id === 'known-client').map((id) => [id, 'linked@b.com'])),
  };
  // Team change sequences as PostgreSQL would answer them; `seqReads` records each batch's read.
  const teamSeqs = new Map([['team-a', { seq: 7, contactSeq: 0 }]]);
  const seqReads: string[][] = [];
  const changes = {
    currentMany: async (ids: Iterable<string>) => {
      const list = [...ids];
      seqReads.push(list);
      return new Map(list.map((id) => [id, teamSeqs.get(id) ?? { seq: 0, contactSeq: 0 }]));
    },
  };
  const handle = createValidationHandler({ eventTypes: lookup, changes, idempotency, identity, countRejection: (r) => reasons.push(r) });

  beforeEach(() => {
    reasons.length = 0;
    seqReads.length = 0;
  });

  it('looks up the current event type of a direct producer at the team sequence read after the batch was fetched', async () => {
    const asked: { teamId: string; seq: number }[] = [];
    const spying = createValidationHandler({
      eventTypes: { ...lookup, get: async (teamId, codeName, seq) => (asked.push({ teamId, seq }), lookup.get(teamId, codeName, seq)) },
      changes,
      idempotency,
      identity,
      countRejection: () => undefined,
    });
    const [direct] = await spying([message(envelope({ event_id: 'd1', schema_version: null }))]);
    expect(direct?.kind).toBe('ok');
    expect(seqReads).toEqual([['team-a']]);
    expect(asked).toEqual([{ teamId: 'team-a', seq: 7 }]);
    // An event the gateway checked carries its version: no current lookup for it.
    seqReads.length = 0;
    asked.length = 0;
    await spying([message(envelope({ event_id: 'g1', schema_version: 2, meta_data_json: '{"order_id":1}' }))]);
    expect(asked).toEqual([]);
  });

  it('sends a valid event to validated, normalised and stamped with the schema version', async () => {
    const [outcome] = await handle([message(envelope())]);
    expect(outcome).toEqual({
      kind: 'ok',
      outputs: [
        {
          topic: 'validated',
          key: 'team-a:contact:email:a@b.com',
          value: expect.objectContaining({
            event_id: 'e1',
            schema_version: 3,
            contact: makeContactRef({ email: 'a@b.com' }),
          }),
        },
      ],
    });
  });

  it('rejects with every error and keeps the envelope', async () => {
    const [outcome] = await handle([message(envelope({ meta_data_json: '{"order_id":"x","extra":1}' }))]);
    const out = (outcome as { outputs: OutputRecord<'rejected'>[] }).outputs[0] as OutputRecord<'rejected'>;
    const value = out.value;
    expect(out.topic).toBe('rejected');
    expect(value.reason_code).toBe('INVALID_PAYLOAD');
    expect(value.errors).toEqual(
      expect.arrayContaining(['Missing required property: metaData.total_amount', 'Invalid type for property: metaData.order_id. Expected number, got string']),
    );
    expect(value.errors.length).toBe(3);
    expect(JSON.parse(value.envelope_json)).toMatchObject({ event_id: 'e1' });
    expect(reasons).toEqual(['INVALID_PAYLOAD']);
  });

  it('rejects an unknown event type and broken JSON slots instead of throwing', async () => {
    const outcomes = await handle([message(envelope({ code_name: 'nope' })), message(envelope({ meta_data_json: '{not json' }))]);
    const codes = outcomes.map((o) => ((o as { outputs: OutputRecord<'rejected'>[] }).outputs[0]?.value as RejectedEvent).reason_code);
    expect(codes).toEqual(['UNKNOWN_EVENT_TYPE', 'INVALID_ENVELOPE']);
  });

  it('drops a second event with an idempotency key already used, keeps the first', async () => {
    const [first, second] = await handle([
      message(envelope({ event_id: 'k1', idempotency_key: 'order-9' })),
      message(envelope({ event_id: 'k2', idempotency_key: 'order-9' })),
    ]);
    expect(first?.kind).toBe('ok');
    expect(second).toEqual({ kind: 'drop', reason: 'idempotency key already used by event k1' });
  });

  it('resolves identity-requiring events through identify links, rejects the rest', async () => {
    const anonymous = { contact: null, requires_identity: true };
    const [linked, unknown] = await handle([
      message(envelope({ ...anonymous, client_id: 'known-client' })),
      message(envelope({ ...anonymous, client_id: 'stranger' })),
    ]);
    const linkedOut = (linked as { outputs: OutputRecord<'validated'>[] }).outputs[0];
    expect(linkedOut?.topic).toBe('validated');
    expect(linkedOut?.value.contact?.email).toBe('linked@b.com');
    const unknownOut = (unknown as { outputs: OutputRecord<'rejected'>[] }).outputs[0];
    expect((unknownOut?.value as RejectedEvent).reason_code).toBe('IDENTITY_REQUIRED');
  });

  it('validates an event against the version the gateway recorded, not the current one', async () => {
    const [outcome] = await handle([message(envelope({ schema_version: 2, meta_data_json: '{"order_id":1}' }))]);
    const out = (outcome as { outputs: OutputRecord<'validated'>[] }).outputs[0];
    expect(out?.topic).toBe('validated');
    expect(out?.value.schema_version).toBe(2);
  });
});
