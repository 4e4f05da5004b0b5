import { SeqCache } from './team-changes';

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
