import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

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
export async function createTestDatabase(baseUrl: string): Promise<string> {
  const name = `relay_test_${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return withDatabase(baseUrl, name);
}

/** Drops a test database; refuses anything not named relay_test_* (never a real one). */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!TEST_DB.test(name)) throw new Error(`Refusing to drop "${name}": not a test database (relay_test_*)`);
  await admin(url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
