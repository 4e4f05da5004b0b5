import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTempStore, type TempStore } from '../test/embedded';
import { createHistoryClient, type HistoryClient } from './client';
import { applyRetention, DEFAULT_MIGRATIONS_DIR, loadMigrations, MigrationChecksumError, runMigrations, splitStatements } from './migrations';

let store: TempStore;
let scratch: string;

beforeAll(async () => {
  store = await openTempStore({ migrate: false });
  scratch = mkdtempSync(join(tmpdir(), 'relay-migrations-'));
});

afterAll(async () => {
  await store.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

// A second handle on the same engine (same data directory) for another database, so each
// test starts from an empty schema.
function onDatabase(database: string): HistoryClient {
  return createHistoryClient({ dataDir: store.dir, database });
}

async function recorded(client: HistoryClient): Promise<Array<{ version: number; name: string; checksum: string }>> {
  const rs = await client.ch.query({
    query: `SELECT version, name, checksum FROM \`${client.database}\`.relay_schema_migrations ORDER BY version`,
    format: 'JSONEachRow',
  });
  return rs.json();
}

describe('runMigrations', () => {
  it('applies every migration once and records it', async () => {
    const client = onDatabase('m_idempotent');
    try {
      const files = loadMigrations();
      expect(files.length).toBeGreaterThan(0);
      const first = await runMigrations(client);
      expect(first.applied).toEqual(files.map((f) => `${String(f.version).padStart(4, '0')}_${f.name}`));
      expect(first.alreadyApplied).toEqual([]);

      const second = await runMigrations(client);
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(first.applied);
      expect(second.retentionUpdated).toBe(false);

      const rows = await recorded(client);
      expect(rows.map((r) => Number(r.version))).toEqual(files.map((f) => f.version));
      expect(rows.map((r) => r.checksum)).toEqual(files.map((f) => f.checksum));
    } finally {
      await client.close();
    }
  });

  it('refuses to run when an applied migration was edited', async () => {
    const dir = join(scratch, 'edited');
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const client = onDatabase('m_checksum');
    try {
      await runMigrations(client, { migrationsDir: dir });
      const [first] = loadMigrations(dir);
      appendFileSync(join(dir, `${String(first!.version).padStart(4, '0')}_${first!.name}.sql`), '\n-- edited\n');
      // A new migration must not be applied past the tampered one either.
      writeFileSync(join(dir, '9999_later.sql'), `CREATE TABLE IF NOT EXISTS {{database}}.later (x UInt8) ENGINE = MergeTree ORDER BY x;\n`);

      await expect(runMigrations(client, { migrationsDir: dir })).rejects.toBeInstanceOf(MigrationChecksumError);
      const rs = await client.ch.query({ query: `EXISTS TABLE m_checksum.later`, format: 'JSONEachRow' });
      expect(Number((await rs.json<{ result: number }>())[0]?.result)).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('does not treat CRLF line endings as an edit', () => {
    const dir = join(scratch, 'crlf');
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const [first] = loadMigrations(dir);
    const file = join(dir, `${String(first!.version).padStart(4, '0')}_${first!.name}.sql`);
    writeFileSync(file, first!.sql.replace(/\n/g, '\r\n'));
    expect(loadMigrations(dir)[0]?.checksum).toBe(first!.checksum);
  });

  it('applies new migrations in version order on top of applied ones', async () => {
    const dir = join(scratch, 'ordered');
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const client = onDatabase('m_ordered');
    try {
      await runMigrations(client, { migrationsDir: dir });
      writeFileSync(join(dir, '9001_second.sql'), `ALTER TABLE {{database}}.first ADD COLUMN IF NOT EXISTS y UInt8;\n`);
      writeFileSync(
        join(dir, '9000_first.sql'),
        `-- two statements in one file\nCREATE TABLE IF NOT EXISTS {{database}}.first (x UInt8)\nENGINE = MergeTree ORDER BY x;\nINSERT INTO {{database}}.first VALUES (1);\n`,
      );
      const res = await runMigrations(client, { migrationsDir: dir });
      expect(res.applied).toEqual(['9000_first', '9001_second']);
      const rs = await client.ch.query({ query: 'SELECT x, y FROM m_ordered.first', format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ x: 1, y: 0 }]);
    } finally {
      await client.close();
    }
  });

  it('rejects badly named migration files', () => {
    const dir = join(scratch, 'badname');
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    writeFileSync(join(dir, '12_oops.sql'), 'SELECT 1;\n');
    expect(() => loadMigrations(dir)).toThrow(/NNNN_name/);
  });
});

describe('retention', () => {
  async function ttlDays(client: HistoryClient): Promise<number> {
    const rs = await client.ch.query({
      query: `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'events'`,
      query_params: { db: client.database },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ engine_full: string }>();
    return Number(/toIntervalDay\((\d+)\)/.exec(row?.engine_full ?? '')?.[1]);
  }

  it('creates the table with the configured retention and follows later changes', async () => {
    const client = onDatabase('m_retention');
    try {
      await runMigrations(client, { retentionDays: 90 });
      expect(await ttlDays(client)).toBe(90);
      const changed = await runMigrations(client, { retentionDays: 30 });
      expect(changed.applied).toEqual([]);
      expect(changed.retentionUpdated).toBe(true);
      expect(await ttlDays(client)).toBe(30);
      expect(await applyRetention(client, 30)).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('defaults to 365 days and validates the setting', async () => {
    const client = onDatabase('m_default_retention');
    try {
      await runMigrations(client);
      expect(await ttlDays(client)).toBe(365);
      await expect(runMigrations(client, { retentionDays: 0 })).rejects.toThrow(RangeError);
    } finally {
      await client.close();
    }
  });
});

describe('splitStatements', () => {
  it('splits on line-final semicolons and drops comment lines', () => {
    expect(splitStatements('-- c;\nCREATE TABLE a\n(x UInt8);\n\n-- d\nSELECT 1;\nSELECT 2')).toEqual(['CREATE TABLE a\n(x UInt8)', 'SELECT 1', 'SELECT 2']);
  });
});
