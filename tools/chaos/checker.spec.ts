import { judge, orderInversions, type OwedDelivery } from './checker';
import type { LedgerEntry } from './ledger';
import type { ReceivedRequest } from './receiver';
import { formatLine } from './report';

const entry = (eventId: string, extra: Partial<LedgerEntry> = {}): LedgerEntry => ({
  eventId,
  row: 'r',
  via: 'http',
  contact: 0,
  seq: 0,
  ackedAt: 0,
  owesWebhooks: true,
  ...extra,
});
const request = (path: string, webhookId: string, eventId: string, status = 200, kind = 'subscription'): ReceivedRequest => ({
  path,
  webhookId,
  items: [{ eventId, kind }],
  status,
  at: 0,
  headers: {},
  body: '',
});
const owed: OwedDelivery[] = [{ path: '/a', endpointId: 'ep-a', kind: 'subscription' }];

describe('chaos checker', () => {
  it('counts an acknowledged event missing from history and the DLQ as lost, and one in the DLQ as not lost', () => {
    const verdict = judge({
      entries: [entry('e1', { owesWebhooks: false, partition: 0, offset: '5' }), entry('e2', { owesWebhooks: false, partition: 1, offset: '7' })],
      history: new Map(),
      deadLettered: new Set(['0:5']),
      requests: [],
      owed,
    });
    expect(verdict).toMatchObject({ acked: 2, lost: 1, undelivered: 0, examples: { lost: ['e2'] } });
  });

  it('counts a webhook never answered 2xx as undelivered unless history says failed with a reason', () => {
    const history = new Map([
      ['e1', { event_id: 'e1', status: 'matched', deliveries: [] }],
      ['e2', { event_id: 'e2', status: 'matched', deliveries: [{ endpoint_id: 'ep-a', kind: 'subscription', status: 'failed', last_error: 'HTTP 410' }] }],
      ['e3', { event_id: 'e3', status: 'matched', deliveries: [{ endpoint_id: 'ep-a', kind: 'subscription', status: 'failed', last_error: null }] }],
      ['e4', { event_id: 'e4', status: 'matched' }],
    ]);
    const verdict = judge({
      entries: ['e1', 'e2', 'e3', 'e4'].map((id) => entry(id)),
      history,
      deadLettered: new Set(),
      requests: [request('/a', 'w1', 'e1', 503), request('/a', 'w4', 'e4', 200)],
      owed,
    });
    expect(verdict.lost).toBe(0);
    // e1 only got a 503 answer, e3 failed without a reason.
    expect(verdict.undelivered).toBe(2);
  });

  it('lets an event acknowledged after its endpoint was disabled owe it nothing, unless a delivery was created', () => {
    const history = new Map([
      ['before', { event_id: 'before', status: 'matched', deliveries: [] }],
      ['skipped', { event_id: 'skipped', status: 'matched', deliveries: [] }],
      ['created', { event_id: 'created', status: 'matched', deliveries: [{ endpoint_id: 'ep-a', kind: 'subscription', status: 'pending', last_error: null }] }],
      ['attempted', { event_id: 'attempted', status: 'matched', deliveries: [] }],
    ]);
    const verdict = judge({
      entries: [
        entry('before', { ackedAt: 999 }),
        entry('skipped', { ackedAt: 1000 }),
        entry('created', { ackedAt: 1001 }),
        entry('attempted', { ackedAt: 1002 }),
      ],
      history,
      deadLettered: new Set(),
      requests: [request('/a', 'w1', 'attempted', 410)],
      owed: [{ ...owed[0]!, skippableFrom: 1000 }],
    });
    // `before` was owed (acknowledged before the cut-off); a created or attempted delivery must end.
    expect(verdict.undelivered).toBe(3);
    expect(verdict.examples.undelivered).toEqual(['before@/a/subscription', 'created@/a/subscription', 'attempted@/a/subscription']);
  });

  it('tells redeliveries under the same webhook-id (allowed) from ones under another id (foreign duplicates)', () => {
    const verdict = judge({
      entries: [entry('e1'), entry('e2')],
      history: new Map([
        ['e1', { event_id: 'e1', status: 'matched' }],
        ['e2', { event_id: 'e2', status: 'matched' }],
      ]),
      deadLettered: new Set(),
      requests: [request('/a', 'w1', 'e1'), request('/a', 'w1', 'e1'), request('/a', 'w2', 'e2'), request('/a', 'w3', 'e2'), request('/other', 'w9', 'e2')],
      owed,
    });
    expect(verdict).toMatchObject({ undelivered: 0, foreignDupes: 1, sameIdDupes: 1 });
  });

  it('counts per-contact order inversions at one endpoint', () => {
    const entries = [entry('a', { seq: 1 }), entry('b', { seq: 2 }), entry('c', { seq: 3, contact: 1 })];
    expect(orderInversions(entries, [request('/a', 'w', 'a'), request('/a', 'w', 'b'), request('/a', 'w', 'c')], '/a', 'subscription')).toBe(0);
    expect(orderInversions(entries, [request('/a', 'w', 'b'), request('/a', 'w', 'c'), request('/a', 'w', 'a')], '/a', 'subscription')).toBe(1);
  });

  it('prints the fault line in the exact format', () => {
    const verdict = { acked: 10, lost: 0, undelivered: 1, foreignDupes: 0, sameIdDupes: 0, examples: { lost: [], undelivered: [], foreignDupes: [] } };
    expect(formatLine('pg-down', false, { verdict, recoveryS: 3.14159 })).toBe(
      'fault pg-down FAIL acked=10 lost=0 undelivered=1 foreign_dupes=0 recovery_s=3.1',
    );
    expect(formatLine('x', true, { verdict, recoveryS: Infinity })).toMatch(/ recovery_s=inf$/);
  });
});
