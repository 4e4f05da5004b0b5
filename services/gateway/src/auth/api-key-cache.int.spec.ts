import type { Pool } from 'pg';
import { ApiKeysRepository, TeamsRepository, createPool, generateApiKey, prepareDatabase } from '@relay/control-plane';
import { DEFAULT_PG_URL, createTestDatabase, dropTestDatabase } from '@relay/testing';

/**
 * The gateway's key cache on real PostgreSQL: refusals are remembered briefly and boundedly
 * (a bad key retried in a loop costs one lookup per TTL, not one per request), and never
 * delay a key that becomes usable (created here, re-activated).
 */
describe('API key lookups: negative cache', () => {
  let url: string;
  let pool: Pool;
  let teamId: string;

  beforeAll(async () => {
    url = await createTestDatabase(process.env.RELAY_PG_URL || DEFAULT_PG_URL);
    await prepareDatabase(url);
    pool = createPool(url, 4);
    teamId = (await new TeamsRepository(pool).create('negative cache')).id;
  });

  afterAll(async () => {
    await pool?.end();
    if (url) await dropTestDatabase(url);
  });

  it('a bad key retried costs one lookup per TTL, then is looked up again', async () => {
    const keys = new ApiKeysRepository(pool, 5000, { negativeMs: 300 });
    const bad = generateApiKey('production');
    for (let i = 0; i < 100; i++) expect(await keys.verify(bad)).toBeNull();
    expect(keys.lookups).toBe(1);
    await new Promise((r) => setTimeout(r, 350));
    expect(await keys.verify(bad)).toBeNull();
    expect(keys.lookups).toBe(2);
  });

  it('is bounded: the oldest refusal is evicted first', async () => {
    const keys = new ApiKeysRepository(pool, 5000, { negativeMax: 50 });
    const bad = Array.from({ length: 51 }, () => generateApiKey('staging'));
    for (const k of bad) await keys.verify(k);
    expect(keys.lookups).toBe(51);
    await keys.verify(bad[50] as string); // still cached
    expect(keys.lookups).toBe(51);
    await keys.verify(bad[0] as string); // evicted by the 51st
    expect(keys.lookups).toBe(52);
  });

  it('a key created after it was refused works at once on this instance', async () => {
    const keys = new ApiKeysRepository(pool, 5000);
    const chosen = `dev-key-${generateApiKey('production')}`;
    expect(await keys.verify(chosen)).toBeNull();
    await keys.create(teamId, 'production', { key: chosen });
    expect(await keys.verify(chosen)).toMatchObject({ teamId });
  });

  it('a re-activated key works at once here (invalidate), and on other instances via the change feed (same invalidate)', async () => {
    const here = new ApiKeysRepository(pool, 5000);
    const there = new ApiKeysRepository(pool, 5000); // another gateway: its feed calls invalidate({keyId})
    const created = await here.create(teamId, 'production');
    await here.transition(created.keyId, 'deactivate');
    expect(await here.verify(created.key)).toBeNull();
    expect(await there.verify(created.key)).toBeNull();
    const before = here.lookups;
    expect(await here.verify(created.key)).toBeNull(); // refused from memory
    expect(here.lookups).toBe(before);

    await here.transition(created.keyId, 'activate');
    expect(await here.verify(created.key)).toMatchObject({ keyId: created.keyId });
    there.invalidate({ keyId: created.keyId });
    expect(await there.verify(created.key)).toMatchObject({ keyId: created.keyId });
  });

  it('without the feed, a re-activated key is refused at most for the negative TTL', async () => {
    const here = new ApiKeysRepository(pool, 5000);
    const there = new ApiKeysRepository(pool, 5000, { negativeMs: 200 });
    const created = await here.create(teamId, 'staging');
    await here.transition(created.keyId, 'deactivate');
    expect(await there.verify(created.key)).toBeNull();
    await here.transition(created.keyId, 'activate');
    expect(await there.verify(created.key)).toBeNull(); // still within its TTL
    await new Promise((r) => setTimeout(r, 250));
    expect(await there.verify(created.key)).toMatchObject({ keyId: created.keyId });
  });

  it('with a cache TTL of 0 nothing is cached, refusals included', async () => {
    const keys = new ApiKeysRepository(pool, 0);
    const bad = generateApiKey('production');
    await keys.verify(bad);
    await keys.verify(bad);
    expect(keys.lookups).toBe(2);
  });
});
