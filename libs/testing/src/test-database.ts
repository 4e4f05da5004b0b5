import { randomBytes } from 'node:crypto';
import type { afterAll as jestAfterAll, beforeAll as jestBeforeAll } from '@jest/globals';
import { Client, type Pool } from 'pg';
import { createPool, prepareDatabase } from '@relay/control-plane';
import { DEFAULT_PG_URL } from './stack';

// Jest's hooks, from the test environment's globals: `@jest/globals` refuses to load outside
// Jest, and this module is also loaded by tools (the bench) that never call them.
declare const beforeAll: typeof jestBeforeAll;
declare const afterAll: typeof jestAfterAll;

const TEST_DB = /^relay_test_[a-z0-9_]+$/;

function withDatabase(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(baseUrl: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: withDatabase(baseUrl, 'postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database named relay_test_<random>; returns its URL. */
async function createTestDatabase(baseUrl: string): Promise<string> {
  const name = `relay_test_${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return withDatabase(baseUrl, name);
}

/**
 * A fresh relay_test_* database with Relay's schema (migrations applied); returns its URL.
 * Dropped again if the migrations fail.
 */
export async function createMigratedDatabase(baseUrl: string): Promise<string> {
  const url = await createTestDatabase(baseUrl);
  try {
    await prepareDatabase(url);
  } catch (error) {
    await dropTestDatabase(url).catch(() => undefined);
    throw error;
  }
  return url;
}

/** Drops a test database; refuses anything not named relay_test_* (never a real one). */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!TEST_DB.test(name)) throw new Error(`Refusing to drop "${name}": not a test database (relay_test_*)`);
  await admin(url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/**
 * A spec's own database with Relay's schema, through Jest hooks: before the spec's tests a
 * fresh relay_test_* database, migrated, and a pool on it; after them the pool is ended and
 * the database dropped. `url` and `pool` are readable from the hooks and tests on.
 */
export function useMigratedDatabase(poolSize = 4): { readonly url: string; readonly pool: Pool } {
  let url: string | undefined;
  let pool: Pool | undefined;
  beforeAll(async () => {
    url = await createMigratedDatabase(process.env.RELAY_PG_URL || DEFAULT_PG_URL);
    pool = createPool(url, poolSize);
  });
  afterAll(async () => {
    await pool?.end();
    if (url) await dropTestDatabase(url);
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useMigratedDatabase: read before its beforeAll ran');
    return value;
  };
  return {
    get url() {
      return ready(url);
    },
    get pool() {
      return ready(pool);
    },
  };
}
