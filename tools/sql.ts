// `npm run sql -- [--team <team_id>] "<query>"`: one read-only query against the history
// store, printed as a table. With --team it reads that team's `events`, `scenario_runs` and
// `webhook_attempts` only (runTeamSql); without, the whole store (operators holding the
// ClickHouse credentials or the data directory).
//
// Where it runs, in order:
//   1. CLICKHOUSE_URL set: straight to that ClickHouse server (readonly = 1 per request).
//   2. A history service answers on RELAY_HISTORY_PORT: through its internal SQL endpoint,
//      which needs --team and the service token (RELAY_HISTORY_TOKEN, else the one `npm
//      start` keeps in .relay/history-token). The embedded engine (chDB) lets one process
//      open a data directory, and while the service runs that process is the service.
//   3. Otherwise the embedded data directory (RELAY_CHDB_PATH) is opened here directly.
// In every case only SELECT / WITH / SHOW / DESCRIBE pass and ClickHouse enforces
// readonly = 1 itself.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { adminCliConfigSchema, historyConfigSchema, loadConfig } from '@relay/config';
import {
  createHistoryClient,
  formatTable,
  readOnlyStatement,
  ReadOnlySqlError,
  runReadOnlySql,
  runTeamSql,
  type HistoryClient,
  type SqlResult,
} from '@relay/history-store';
import { historyToken } from '@relay/http-api';

type Via = 'server' | 'service' | 'embedded';

/** The service token: RELAY_HISTORY_TOKEN, else the one `npm start` generated, else the dev-only one. */
function serviceToken(configured: string | undefined): string {
  if (configured) return configured;
  const { RELAY_STATE_DIR } = loadConfig('sql', adminCliConfigSchema.pick({ RELAY_STATE_DIR: true }));
  const file = path.resolve(process.cwd(), RELAY_STATE_DIR, 'history-token');
  return historyToken(existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
}

async function viaService(url: string, token: string, query: string, teamId: string): Promise<SqlResult | null> {
  let res: Response;
  try {
    res = await fetch(`${url}/internal/v1/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, team_id: teamId }),
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
  const args = process.argv.slice(2);
  const teamAt = args.indexOf('--team');
  const team = teamAt >= 0 ? args[teamAt + 1] : undefined;
  if (teamAt >= 0) args.splice(teamAt, 2);
  const query = args.join(' ').trim();
  if (!query || (teamAt >= 0 && !team)) {
    process.stderr.write('usage: npm run sql -- [--team <team_id>] "SELECT count() FROM events"\n');
    return 2;
  }
  const run = (client: HistoryClient): Promise<SqlResult> => (team ? runTeamSql(client, query, team) : runReadOnlySql(client, query));
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
      result = await run(client);
    } finally {
      await client.close();
    }
  } else {
    via = 'service';
    const url = `http://127.0.0.1:${config.RELAY_HISTORY_PORT}`;
    if (!team) {
      // The service answers one team's SQL only; without --team, the embedded directory is
      // the operator's path, and it is only free while the service is not running.
      const up = await fetch(`${url}/health/live`).then(
        () => true,
        () => false,
      );
      if (up) {
        process.stderr.write(`the history service on port ${config.RELAY_HISTORY_PORT} answers one team's SQL: pass --team <team_id> (e.g. --team dev-team)\n`);
        return 2;
      }
    }
    result = team ? await viaService(url, serviceToken(config.RELAY_HISTORY_TOKEN), query, team) : null;
    if (!result) {
      via = 'embedded';
      if (!existsSync(config.RELAY_CHDB_PATH)) {
        process.stderr.write(
          `no history store at ${config.RELAY_CHDB_PATH} and no history service on port ${config.RELAY_HISTORY_PORT}; run npm start first\n`,
        );
        return 1;
      }
      const client = createHistoryClient({ dataDir: config.RELAY_CHDB_PATH, database: config.CLICKHOUSE_DATABASE });
      try {
        result = await run(client);
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
