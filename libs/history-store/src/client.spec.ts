import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistoryClient } from './client';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'relay-history-client-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function one(client: ReturnType<typeof createHistoryClient>, sql: string): Promise<unknown> {
  const rs = await client.ch.query({ query: sql, format: 'JSONEachRow' });
  return (await rs.json<Record<string, unknown>>())[0];
}

describe('createHistoryClient (embedded)', () => {
  it('shares one engine per data directory and closes it with the last handle', async () => {
    const dir = tempDir();
    const a = createHistoryClient({ dataDir: dir });
    const b = createHistoryClient({ dataDir: join(dir, '.') }); // same directory, other spelling
    expect(a.backend).toBe('embedded');
    expect(a.ch).toBe(b.ch);
    expect(a.database).toBe('relay');

    await a.ch.command({ query: 'CREATE TABLE default.t (x UInt8) ENGINE = MergeTree ORDER BY x' });
    await a.ch.insert({ table: 'default.t', values: [{ x: 1 }], format: 'JSONEachRow' });
    await a.close();
    await a.close(); // idempotent: must not release b's reference
    expect(await one(b, 'SELECT count() AS n FROM default.t')).toEqual({ n: 1 });
    await b.close();
    await expect(b.ch.query({ query: 'SELECT 1' })).rejects.toThrow(/closed/);

    // Reopening the directory finds the data on disk.
    const c = createHistoryClient({ dataDir: dir });
    expect(await one(c, 'SELECT count() AS n FROM default.t')).toEqual({ n: 1 });
    await c.close();
  });

  it('refuses a second data directory while one is open, allows it after close', async () => {
    const first = createHistoryClient({ dataDir: tempDir() });
    expect(() => createHistoryClient({ dataDir: tempDir() })).toThrow(/one data directory per process/);
    await first.close();
    const second = createHistoryClient({ dataDir: tempDir() });
    expect(await one(second, 'SELECT 1 AS one')).toEqual({ one: 1 });
    await second.close();
  });

  it('closing while a query is still running waits for it', async () => {
    const client = createHistoryClient({ dataDir: tempDir() });
    const running = client.ch.query({ query: 'SELECT count() AS n FROM numbers(20000000)', format: 'JSONEachRow' });
    const result = running.then(async (rs) => rs.json());
    // The close must neither abort the engine nor leave the directory bound.
    await Promise.all([result.catch(() => undefined), client.close()]);
    const next = createHistoryClient({ dataDir: tempDir() });
    expect(await one(next, 'SELECT 2 AS two')).toEqual({ two: 2 });
    await next.close();
  });

  it('validates its options', () => {
    expect(() => createHistoryClient({})).toThrow(/url .* or dataDir/);
    expect(() => createHistoryClient({ dataDir: tempDir(), database: 'relay; DROP' })).toThrow(/database name/);
  });

  it('uses the server when url is given (no request until used)', async () => {
    const client = createHistoryClient({ url: 'http://127.0.0.1:1', database: 'hist' });
    expect(client.backend).toBe('server');
    expect(client.database).toBe('hist');
    await client.close();
  });
});
