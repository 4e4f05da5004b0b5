import { SeqCache, TeamChanges } from './team-changes';

describe('SeqCache', () => {
  it('answers from memory only while the entry is at least as recent as the sequence asked for', async () => {
    const cache = new SeqCache<string, string>({ max: 10 });
    let version = 0;
    const load = async () => `v${++version}`;
    expect(await cache.get('k', 3, load)).toBe('v1');
    expect(await cache.get('k', 3, load)).toBe('v1');
    expect(await cache.get('k', 2, load)).toBe('v1');
    expect(await cache.get('k', 4, load)).toBe('v2');
    expect(cache.loads).toBe(2);
  });

  it('shares one load between concurrent callers that need no more than it will give', async () => {
    const cache = new SeqCache<string, number>({ max: 10 });
    let release: (v: number) => void = () => undefined;
    let calls = 0;
    const slow = () => {
      calls++;
      return new Promise<number>((r) => (release = r));
    };
    const a = cache.get('k', 5, slow);
    const b = cache.get('k', 5, slow);
    const c = cache.get('k', 4, slow);
    release(42);
    expect(await Promise.all([a, b, c])).toEqual([42, 42, 42]);
    expect(calls).toBe(1);
  });

  it('starts a new load for a caller that needs a newer sequence than the one in flight', async () => {
    const cache = new SeqCache<string, string>({ max: 10 });
    const releases: ((v: string) => void)[] = [];
    const load = () => new Promise<string>((r) => releases.push(r));
    const older = cache.get('k', 1, load);
    const newer = cache.get('k', 2, load);
    expect(releases).toHaveLength(2);
    // The newer load finishes first; the older one must not replace it when it lands.
    releases[1]?.('new');
    releases[0]?.('old');
    expect(await newer).toBe('new');
    expect(await older).toBe('old');
    expect(cache.peek('k', 2)).toBe('new');
  });

  it('does not keep a failed load', async () => {
    const cache = new SeqCache<string, string>({ max: 10 });
    await expect(cache.get('k', 1, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', 1, async () => 'up')).toBe('up');
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const cache = new SeqCache<string, string>({ max: 2 });
    await cache.get('a', 0, async () => 'a');
    await cache.get('b', 0, async () => 'b');
    cache.peek('a', 0);
    await cache.get('c', 0, async () => 'c');
    expect(cache.size).toBe(2);
    expect(cache.peek('b', 0)).toBeUndefined();
    expect(cache.peek('a', 0)).toBe('a');
  });
});

describe('TeamChanges', () => {
  /** TeamChanges on a pool whose lookups answer when the test says, with the sequences of the moment they were sent. */
  function withFakePool(initial: Record<string, number>) {
    const seqs = new Map(Object.entries(initial));
    const sent: { teamIds: string[]; answer: () => void }[] = [];
    const pool = {
      query: (_sql: string, [teamIds]: [string[]]) =>
        new Promise((resolve) => {
          // The snapshot is taken when the lookup is sent, as PostgreSQL would.
          const rows = teamIds.filter((id) => seqs.has(id)).map((id) => ({ team_id: id, seq: String(seqs.get(id)), contact_seq: '0' }));
          sent.push({ teamIds, answer: () => resolve({ rows }) });
        }),
    };
    return { changes: new TeamChanges(pool as unknown as ConstructorParameters<typeof TeamChanges>[0]), seqs, sent };
  }
  const settle = () => new Promise<void>((r) => setImmediate(r));

  it('groups the calls made while a lookup is in flight into one next lookup', async () => {
    const { changes, sent } = withFakePool({ a: 1 });
    const first = changes.current('a');
    await settle();
    expect(sent).toHaveLength(1);
    const later = [changes.current('a'), changes.current('b')];
    await settle();
    const more = changes.current('a');
    await settle();
    expect(sent).toHaveLength(1);
    sent[0]?.answer();
    expect(await first).toEqual({ seq: 1, contactSeq: 0 });
    await settle();
    expect(sent).toHaveLength(2);
    expect(sent[1]?.teamIds).toEqual(['a', 'b', 'a']);
    sent[1]?.answer();
    expect(await Promise.all([...later, more])).toEqual([
      { seq: 1, contactSeq: 0 },
      { seq: 0, contactSeq: 0 },
      { seq: 1, contactSeq: 0 },
    ]);
    expect(changes.queries).toBe(2);
  });

  it('never answers a call with a lookup sent before it was made (read-your-writes)', async () => {
    const { changes, seqs, sent } = withFakePool({ a: 1 });
    const before = changes.current('a');
    await settle();
    // A change commits (a key revoked) while the first lookup is in flight.
    seqs.set('a', 2);
    const after = changes.current('a');
    sent[0]?.answer();
    expect((await before).seq).toBe(1);
    await settle();
    sent[1]?.answer();
    expect((await after).seq).toBe(2);
  });

  it('sends the waiting calls after a failed lookup too', async () => {
    const fails: (() => void)[] = [];
    let calls = 0;
    const pool = {
      query: () =>
        calls++ === 0
          ? new Promise((_, reject) => fails.push(() => reject(new Error('down'))))
          : Promise.resolve({ rows: [{ team_id: 'a', seq: '3', contact_seq: '1' }] }),
    } as unknown as ConstructorParameters<typeof TeamChanges>[0];
    const changes = new TeamChanges(pool);
    const failed = changes.current('a');
    await settle();
    const waiting = changes.current('a');
    fails[0]?.();
    await expect(failed).rejects.toThrow('down');
    expect(await waiting).toEqual({ seq: 3, contactSeq: 1 });
  });
});
