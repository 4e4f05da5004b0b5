import path from 'node:path';
import { Pool, Client, type PoolClient } from 'pg';
import { runner } from 'node-pg-migrate';
import { backOff } from 'exponential-backoff';
import { ControlPlaneError } from './errors';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

const HOW_TO_START =
  'Start the local PostgreSQL server (Debian: `pg_ctlcluster <version> main start`, e.g. `pg_ctlcluster 15 main start`) ' +
  'or point RELAY_PG_URL at a reachable server.';

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
    throw new ControlPlaneError('DATABASE_UNAVAILABLE', `Database name "${name}" in RELAY_PG_URL must be a plain identifier`);
  }
  return name;
}

/** Creates the database named in `url` if it does not exist (connecting to `postgres`). */
export async function ensureDatabase(url: string): Promise<{ created: boolean }> {
  const name = databaseName(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (cause) {
    throw new ControlPlaneError('DATABASE_UNAVAILABLE', `PostgreSQL does not answer at ${admin.host}: ${(cause as Error).message}. ${HOW_TO_START}`, { cause });
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return { created: false };
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      // Two processes starting together may race; the loser sees duplicate_database.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return { created: false };
    }
    return { created: true };
  } finally {
    await client.end();
  }
}

/**
 * Applies pending migrations with node-pg-migrate. Its advisory lock makes concurrent runs
 * safe but fails fast ("Another migration is already running") instead of waiting, and
 * several services boot at once, so the loser waits and tries again: by then the winner
 * has usually applied everything and the retry is a no-op.
 */
export async function migrate(url: string, log: (msg: string) => void = () => undefined, waitMs = 60000): Promise<string[]> {
  const deadline = Date.now() + waitMs;
  try {
    const applied = await backOff(
      () =>
        runner({
          databaseUrl: url,
          dir: MIGRATIONS_DIR,
          direction: 'up',
          migrationsTable: 'relay_migrations',
          count: Infinity,
          // Features add their own tables in independent migrations; a database migrated by a
          // newer checkout must still accept an older-numbered one landing later.
          checkOrder: false,
          verbose: false,
          log,
        }),
      {
        numOfAttempts: Infinity,
        startingDelay: 50,
        maxDelay: 1000,
        retry: (cause: Error) => /another migration is already running/i.test(cause.message) && Date.now() < deadline,
      },
    );
    return applied.map((m) => m.name);
  } catch (cause) {
    throw new ControlPlaneError('MIGRATION_FAILED', `Control-plane migrations failed: ${(cause as Error).message}`, { cause });
  }
}

/** ensureDatabase + migrate: what every service that owns control-plane data runs at boot. */
export async function prepareDatabase(url: string, log?: (msg: string) => void): Promise<void> {
  await ensureDatabase(url);
  await migrate(url, log);
}

/** Runs `work` in one transaction on a pooled client: COMMIT on success, ROLLBACK on any error. */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function createPool(url: string, max = 10): Pool {
  const pool = new Pool({ connectionString: url, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
