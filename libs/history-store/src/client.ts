import { resolve } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';

export interface HistoryClientOptions {
  // Optional settings (CLICKHOUSE_URL, _USER, _PASSWORD) are passed through as read: unset is undefined.
  /** ClickHouse HTTP(S) endpoint, e.g. `http://clickhouse:8123`. When set, the server is used. */
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Database that holds the history tables. Default `relay`. */
  database?: string;
  /** Data directory of the embedded chDB engine, used when `url` is not set (`:memory:` for a throwaway one). */
  dataDir?: string;
}

export type HistoryBackend = 'server' | 'embedded';

/**
 * A ClickHouse client plus the database the history tables live in. Everything above
 * (migrations, writer, queries) only uses `ch`, so the server and the embedded engine
 * share one code path.
 */
export interface HistoryClient {
  readonly ch: ClickHouseClient;
  /** Validated database name (a plain identifier). */
  readonly database: string;
  readonly backend: HistoryBackend;
  /** Idempotent. For the embedded engine the data directory is released with the last handle. */
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The database as a quoted identifier for SQL text (ClickHouse cannot bind identifiers in every statement). */
export function quotedDatabase(client: Pick<HistoryClient, 'database'>): string {
  return `\`${client.database}\``;
}

function validDatabase(name: string | undefined): string {
  const db = name ?? 'relay';
  if (!IDENTIFIER.test(db)) throw new TypeError(`history database name must match ${IDENTIFIER.source}, got ${JSON.stringify(db)}`);
  return db;
}

// chDB binds ONE data directory per process, and a second native connection to it from
// the same process is not something to rely on. So one ClickHouseClient (owning one
// ChdbConnection) is shared by every handle on that directory, reference-counted, and
// closed with the last handle. A single slot is enough: a second directory cannot open.
interface EmbeddedEngine {
  readonly key: string;
  readonly ch: ClickHouseClient;
  refs: number;
}
let engine: EmbeddedEngine | null = null;
let engineClosing: Promise<void> | null = null;

function openEmbedded(dataDir: string, database: string): HistoryClient {
  const key = dataDir === ':memory:' ? dataDir : resolve(dataDir);
  if (engine && engine.key !== key) {
    throw new Error(`embedded history store already open at ${engine.key}; chDB allows one data directory per process (requested ${key})`);
  }
  if (!engine) {
    if (engineClosing) throw new Error('embedded history store is still closing; await close() before opening it again');
    // Loaded lazily: chdb ships a native library that a server deployment never needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createChdbConnection } = require('chdb/connection') as typeof import('chdb/connection');
    // The cast bridges two copies of the same declarations: @clickhouse/client 1.23.1
    // bundles its own client-common types while chdb is typed against the standalone
    // @clickhouse/client-common 1.23.0, and their ClickHouseSettings differ by a field.
    // The runtime contract is the one chdb/connection is written for.
    const connection = createChdbConnection({ path: key }) as unknown as NonNullable<ClickHouseClientConfigOptions['connection']>;
    engine = { key, ch: createClient({ connection }), refs: 0 };
  }
  const shared = engine;
  shared.refs += 1;
  let closed = false;
  return {
    ch: shared.ch,
    database,
    backend: 'embedded',
    close: async () => {
      if (closed) return;
      closed = true;
      shared.refs -= 1;
      if (shared.refs > 0 || engine !== shared) return;
      engine = null;
      engineClosing = (async () => {
        await shared.ch.close();
        // chDB defers tearing the native connection down while an operation is still
        // running on it; wait for that so another directory can be opened right after.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { drainPending } = require('chdb') as typeof import('chdb');
        await drainPending();
      })();
      try {
        await engineClosing;
      } finally {
        engineClosing = null;
      }
    },
  };
}

/**
 * A client for the history store: a ClickHouse server when `url` is given, otherwise the
 * embedded chDB engine at `dataDir`. Takes no environment variables; the service's config
 * decides.
 */
export function createHistoryClient(opts: HistoryClientOptions): HistoryClient {
  const database = validDatabase(opts.database);
  if (opts.url) {
    // The client's own `database` option is deliberately not set: it would make every
    // request fail until migrations have created the database. Table names are qualified.
    const ch = createClient({
      url: opts.url,
      username: opts.username ?? 'default',
      password: opts.password ?? '',
      application: 'relay-history-store',
    });
    let closed = false;
    return {
      ch,
      database,
      backend: 'server',
      close: async () => {
        if (closed) return;
        closed = true;
        await ch.close();
      },
    };
  }
  if (!opts.dataDir) throw new TypeError('createHistoryClient needs either url (ClickHouse server) or dataDir (embedded chDB)');
  return openEmbedded(opts.dataDir, database);
}
