import { readdirSync } from 'node:fs';
import { Client } from 'pg';

export interface PostgresConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface PostgresDatabase extends PostgresConnection {
  database: string;
}

/** Databases this library creates have plain names, so no quoting surprises in JDBC URLs. */
const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const NOT_ANSWERING = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN', '57P03']);

/** Installed server versions (Debian layout), to print the exact pg_ctlcluster command. */
function installedPostgresVersions(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
  } catch {
    return [];
  }
}

function describeFailure(conn: PostgresConnection, error: unknown): Error {
  const err = error as { code?: string; message?: string };
  const where = `${conn.user}@${conn.host}:${conn.port}`;
  if (err.code && NOT_ANSWERING.has(err.code)) {
    const versions = installedPostgresVersions();
    const version = versions.length ? versions[versions.length - 1] : '<version>';
    return new Error(
      `PostgreSQL is not answering at ${conn.host}:${conn.port} (${err.code}). Start the local cluster with ` +
        `\`pg_ctlcluster ${version} main start\` (see \`pg_lsclusters\`), or pass other connection options ` +
        `(postgres: { host, port, user, password }).`,
    );
  }
  if (err.code === '28P01' || err.code === '28000') {
    return new Error(`PostgreSQL refused ${where}: ${err.message}. Pass a user/password that may connect (postgres: { user, password }).`);
  }
  return new Error(`PostgreSQL at ${where}: ${err.message ?? String(error)}`);
}

async function withMaintenanceClient<T>(conn: PostgresConnection, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: 'postgres',
    connectionTimeoutMillis: 5000,
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw describeFailure(conn, error);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Connects once; throws an error that says how to start PostgreSQL if it does not answer. */
export async function checkPostgres(conn: PostgresConnection): Promise<void> {
  await withMaintenanceClient(conn, (c) => c.query('SELECT 1'));
}

/** Creates the database unless it exists. Returns true when it was created. */
export async function ensureDatabase(db: PostgresDatabase): Promise<boolean> {
  if (!SAFE_NAME.test(db.database)) throw new Error(`database name "${db.database}" must match ${SAFE_NAME}`);
  return withMaintenanceClient(db, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.database]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${db.database}"`);
      return true;
    } catch (error) {
      // 42P04 duplicate_database: a concurrent run created it first; that is fine.
      if ((error as { code?: string }).code === '42P04') return false;
      throw error;
    }
  });
}

/** Drops a database (terminating its sessions). Used for per-run registry databases. */
export async function dropDatabase(db: PostgresDatabase): Promise<void> {
  if (!SAFE_NAME.test(db.database)) throw new Error(`database name "${db.database}" must match ${SAFE_NAME}`);
  await withMaintenanceClient(db, (client) => client.query(`DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`));
}

/** Lists databases whose names start with `prefix` (for cleaning up after crashed runs). */
export async function listDatabases(conn: PostgresConnection, prefix: string): Promise<string[]> {
  return withMaintenanceClient(conn, async (client) => {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    return rows.map((r) => r.datname);
  });
}
