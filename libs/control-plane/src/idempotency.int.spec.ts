import type { Pool } from 'pg';
import { DEFAULT_PG_URL, createTestDatabase, dropTestDatabase } from '@relay/testing';
import { createPool, prepareDatabase } from './database';
import { IdempotencyRepository } from './ingestion';

/** Idempotency-key claims on real PostgreSQL. */
describe('IdempotencyRepository.claimMany', () => {
  let url: string;
  let pool: Pool;

  beforeAll(async () => {
    url = await createTestDatabase(process.env.RELAY_PG_URL || DEFAULT_PG_URL);
    await prepareDatabase(url);
    pool = createPool(url, 2);
  });

  afterAll(async () => {
    await pool?.end();
    if (url) await dropTestDatabase(url);
  });

  it('gives a key repeated within one batch to its first event (PostgreSQL refuses the same key twice in one upsert)', async () => {
    const repo = new IdempotencyRepository(pool);
    const owners = await repo.claimMany([
      { teamId: 't1', key: 'order-1', eventId: 'e1' },
      { teamId: 't1', key: 'order-1', eventId: 'e2' },
      { teamId: 't2', key: 'order-1', eventId: 'e3' },
    ]);
    expect(owners.get('t1\u0000order-1')).toBe('e1');
    expect(owners.get('t2\u0000order-1')).toBe('e3');
  });

  it('keeps the owner of a key claimed by an earlier batch', async () => {
    const repo = new IdempotencyRepository(pool);
    await repo.claimMany([{ teamId: 't1', key: 'order-2', eventId: 'first' }]);
    const owners = await repo.claimMany([{ teamId: 't1', key: 'order-2', eventId: 'second' }]);
    expect(owners.get('t1\u0000order-2')).toBe('first');
  });
});
