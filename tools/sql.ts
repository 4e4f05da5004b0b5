// `npm run sql -- "<query>"`: one read-only query against the history store, printed as
// a table.
//
// Where it runs, in order:
//   1. CLICKHOUSE_URL set: straight to that ClickHouse server (readonly = 1 per request).
//   2. A history service answers on RELAY_HISTORY_PORT: through its internal read-only SQL
//      endpoint. The embedded engine (chDB) lets one process open a data directory, and
//      while the service runs that process is the service.
//   3. Otherwise the embedded data directory (RELAY_CHDB_PATH) is opened here directly.
// In every case only SELECT / WITH / SHOW / DESCRIBE pass and ClickHouse enforces
// readonly = 1 itself.
import { existsSync } from 'node:fs';
import { historyConfigSchema, loadConfig } from '@relay/config';
import { createHistoryClient, formatTable, readOnlyStatement, ReadOnlySqlError, runReadOnlySql, type SqlResult } from '@relay/history-store';

type Via = 'server' | 'service' | 'embedded';

async function viaService(url: string, query: string): Promise<SqlResult | null> {
  let res: Response;
  try {
    res = await fetch(`${url}/internal/v1/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    // Nothing listening: no service owns the data directory, open it here.
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return null;
    throw error;
  }
  if (res.status === 404) return null; // something else on that port, or an older history build
  const body = (await res.json()) as SqlResult & { success?: boolean; message?: string; code?: string };
  if (!res.ok) throw new Error(`${body.code ?? res.status}: ${body.message ?? res.statusText}`);
  return body;
}

async function main(): Promise<number> {
  const query = process.argv.slice(2).join(' ').trim();
  if (!query) {
    process.stderr.write('usage: npm run sql -- "SELECT count() FROM relay.events FINAL"\n');
    return 2;
  }
  try {
    readOnlyStatement(query); // a clear message before anything is contacted
  } catch (error) {
    if (error instanceof ReadOnlySqlError) {
      process.stderr.write(`refused: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const config = loadConfig('history', historyConfigSchema);
  let result: SqlResult | null = null;
  let via: Via;
  if (config.CLICKHOUSE_URL) {
    via = 'server';
    const client = createHistoryClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      database: config.CLICKHOUSE_DATABASE,
    });
    try {
      result = await runReadOnlySql(client, query);
    } finally {
      await client.close();
    }
  } else {
    via = 'service';
    result = await viaService(`http://127.0.0.1:${config.RELAY_HISTORY_PORT}`, query);
    if (!result) {
      via = 'embedded';
      if (!existsSync(config.RELAY_CHDB_PATH)) {
        process.stderr.write(`no history store at ${config.RELAY_CHDB_PATH} and no history service on port ${config.RELAY_HISTORY_PORT}; run npm start first\n`);
        return 1;
      }
      const client = createHistoryClient({ dataDir: config.RELAY_CHDB_PATH, database: config.CLICKHOUSE_DATABASE });
      try {
        result = await runReadOnlySql(client, query);
      } finally {
        await client.close();
      }
    }
  }
  process.stdout.write(`${formatTable(result)}\n`);
  process.stderr.write(
    `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${result.truncated ? ', truncated' : ''}, ${result.elapsed_ms} ms, via ${via})\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
