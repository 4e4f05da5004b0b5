import { ApiKeysRepository, TeamsRepository, generateApiKey } from '@relay/control-plane';
import { useMigratedDatabase } from '@relay/testing';

/**
 * The gateway's key cache on real PostgreSQL: unknown keys are remembered briefly and
 * boundedly (a bad key retried in a loop costs one lookup per TTL, not one per request);
 * every change of a key holds for the next request on every instance (team change sequence).
 */
describe('API key lookups: negative cache', () => {
  const db = useMigratedDatabase();
  let teamId: string;

  beforeAll(async () => {
    teamId = (await new TeamsRepository(db.pool).create('negative cache')).id;
  });

  it('a bad key retried costs one lookup per TTL, then is looked up again', async () => {
    const keys = new ApiKeysRepository(db.pool, 5000, { negativeMs: 300 });
    const bad = generateApiKey('production');
    for (let i = 0; i < 100; i++) expect(await keys.verify(bad)).toBeNull();
    expect(keys.lookups).toBe(1);
    await new Promise((r) => setTimeout(r, 350));
    expect(await keys.verify(bad)).toBeNull();
    expect(keys.lookups).toBe(2);
  });

  it('is bounded: the oldest refusal is evicted first', async () => {
    const keys = new ApiKeysRepository(db.pool, 5000, { negativeMax: 50 });
    const bad = Array.from({ length: 51 }, () => generateApiKey('staging'));
    for (const k of bad) await keys.verify(k);
    expect(keys.lookups).toBe(51);
    await keys.verify(bad[50] as string); // still cached
    expect(keys.lookups).toBe(51);
    await keys.verify(bad[0] as string); // evicted by the 51st
    expect(keys.lookups).toBe(52);
  });

  it('a key created after it was refused works at once on this instance', async () => {
    const keys = new ApiKeysRepository(db.pool, 5000);
    const chosen = `dev-key-${generateApiKey('production')}`;
    expect(await keys.verify(chosen)).toBeNull();
    await keys.create(teamId, 'production', { key: chosen });
    expect(await keys.verify(chosen)).toMatchObject({ teamId });
  });

  it('a key deactivated, re-activated or revoked on one instance holds at once on another, with no change feed', async () => {
    const here = new ApiKeysRepository(db.pool, 60_000);
    const there = new ApiKeysRepository(db.pool, 60_000); // another gateway, its entry cached
    const created = await here.create(teamId, 'production');
    expect(await there.verify(created.key)).toMatchObject({ keyId: created.keyId });
    const cachedLookups = there.lookups;
    expect(await there.verify(created.key)).toMatchObject({ keyId: created.keyId });
    expect(there.lookups).toBe(cachedLookups); // answered from memory while nothing changed

    await here.transition(created.keyId, 'deactivate');
    expect(await there.verify(created.key)).toBeNull();
    const refusedLookups = there.lookups;
    expect(await there.verify(created.key)).toBeNull(); // refused from memory
    expect(there.lookups).toBe(refusedLookups);

    await here.transition(created.keyId, 'activate');
    expect(await there.verify(created.key)).toMatchObject({ keyId: created.keyId });
    await here.transition(created.keyId, 'revoke');
    expect(await there.verify(created.key)).toBeNull();
  });

  it('the principal carries the team change sequence it was checked at', async () => {
    const keys = new ApiKeysRepository(db.pool, 60_000);
    const created = await keys.create(teamId, 'production');
    const first = await keys.verify(created.key);
    // Any change of the team: here a plan limit set with plain SQL (the trigger counts it).
    await db.pool.query('UPDATE teams SET rate_limit_requests = 1000, rate_limit_per_s = 60 WHERE id = $1', [teamId]);
    const second = await keys.verify(created.key);
    expect(second?.changeSeq).toBe((first?.changeSeq ?? 0) + 1);
    expect(second?.teamRateLimit).toMatchObject({ requests: 1000 });
  });

  it('with a cache TTL of 0 nothing is cached, refusals included', async () => {
    const keys = new ApiKeysRepository(db.pool, 0);
    const bad = generateApiKey('production');
    await keys.verify(bad);
    await keys.verify(bad);
    expect(keys.lookups).toBe(2);
  });
});
