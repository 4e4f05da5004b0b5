import { useMigratedDatabase } from '@relay/testing';
import { IdempotencyRepository } from './ingestion';

/** Idempotency-key claims on real PostgreSQL. */
describe('IdempotencyRepository.claimMany', () => {
  const db = useMigratedDatabase(2);

  it('gives a key repeated within one batch to its first event (PostgreSQL refuses the same key twice in one upsert)', async () => {
    const repo = new IdempotencyRepository(db.pool);
    const owners = await repo.claimMany([
      { teamId: 't1', key: 'order-1', eventId: 'e1' },
      { teamId: 't1', key: 'order-1', eventId: 'e2' },
      { teamId: 't2', key: 'order-1', eventId: 'e3' },
    ]);
    expect(owners.get('t1\u0000order-1')).toBe('e1');
    expect(owners.get('t2\u0000order-1')).toBe('e3');
  });

  it('keeps the owner of a key claimed by an earlier batch', async () => {
    const repo = new IdempotencyRepository(db.pool);
    await repo.claimMany([{ teamId: 't1', key: 'order-2', eventId: 'first' }]);
    const owners = await repo.claimMany([{ teamId: 't1', key: 'order-2', eventId: 'second' }]);
    expect(owners.get('t1\u0000order-2')).toBe('first');
  });
});
