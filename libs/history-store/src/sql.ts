import type { HistoryClient } from './client';

/** A statement refused by {@link runReadOnlySql} before it reaches ClickHouse. */
export class ReadOnlySqlError extends Error {
  override readonly name = 'ReadOnlySqlError';
}

export interface SqlResult {
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  /** True when the result had more than maxRows rows and was cut. */
  truncated: boolean;
  elapsed_ms: number;
}

const ALLOWED = /^(SELECT|WITH|SHOW|DESCRIBE|DESC)\b/i;

/**
 * The statement without comments and a trailing `;`, or a ReadOnlySqlError. This is a
 * first filter with a clear message; the guarantee is ClickHouse's own `readonly = 1`
 * (see runReadOnlySql), which refuses writes, DDL, setting changes and table functions
 * such as file() or url() whatever the text looks like.
 */
export function readOnlyStatement(sql: string): string {
  const stripped = sql
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .trim()
    .replace(/;\s*$/, '')
    .trim();
  if (stripped.length === 0) throw new ReadOnlySqlError('empty query');
  if (!ALLOWED.test(stripped)) throw new ReadOnlySqlError('only SELECT, WITH, SHOW and DESCRIBE statements are allowed');
  // One statement only: chDB would run every statement of a multi-statement text.
  if (stripped.includes(';')) throw new ReadOnlySqlError('one statement at a time (no ";" inside the query)');
  // The result format is ours (JSONCompact), and the readonly setting is appended as the
  // statement's own SETTINGS clause on the embedded engine: a user FORMAT or SETTINGS
  // clause would clash with both.
  if (/\bFORMAT\s+\w+\s*$/i.test(stripped)) throw new ReadOnlySqlError('leave out FORMAT: results come back as a table');
  // A SETTINGS clause inside the statement (even in a subquery) can override a
  // query-level readonly = 1 on the embedded engine (measured: a subquery with
  // SETTINGS readonly = 0 could read files). So no SETTINGS clause at all; table names
  // such as system.settings stay readable.
  if (/(?<!\.)\bSETTINGS\b/i.test(stripped)) throw new ReadOnlySqlError('SETTINGS clauses are not allowed');
  return stripped;
}

interface JsonCompact {
  meta: Array<{ name: string; type: string }>;
  data: unknown[][];
}

/**
 * Runs one read-only statement against the history store and returns its rows.
 *
 * `readonly = 1` is how ClickHouse itself enforces read-only: on a server it is sent per
 * request (HTTP setting). On the embedded engine every `clickhouse_settings` entry turns
 * into a session `SET` that would stay on the one shared connection and make the
 * service's own inserts fail, so there it is the statement's own `SETTINGS readonly = 1`
 * clause, which applies to that query only.
 */
export async function runReadOnlySql(client: HistoryClient, sql: string, opts: { maxRows?: number } = {}): Promise<SqlResult> {
  const statement = readOnlyStatement(sql);
  const maxRows = opts.maxRows ?? 10_000;
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 1_000_000) throw new RangeError(`maxRows must be 1..1000000, got ${maxRows}`);
  const started = performance.now();
  const rs =
    client.backend === 'server'
      ? await client.ch.query({
          query: statement,
          format: 'JSONCompact',
          clickhouse_settings: { readonly: '1', max_result_rows: String(maxRows + 1), result_overflow_mode: 'break' },
        })
      : await client.ch.query({
          query: `${statement}\nSETTINGS readonly = 1, max_result_rows = ${maxRows + 1}, result_overflow_mode = 'break'`,
          format: 'JSONCompact',
        });
  const body = (await rs.json()) as unknown as JsonCompact;
  const rows = body.data ?? [];
  return {
    columns: body.meta ?? [],
    rows: rows.slice(0, maxRows),
    truncated: rows.length > maxRows,
    elapsed_ms: Math.round((performance.now() - started) * 10) / 10,
  };
}

/** Plain-text table of a result, for terminals. */
export function formatTable(result: Pick<SqlResult, 'columns' | 'rows'>): string {
  const cell = (v: unknown): string => (v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v));
  const header = result.columns.map((c) => c.name);
  const body = result.rows.map((r) => r.map(cell));
  const widths = header.map((h, i) => Math.min(80, Math.max(h.length, ...body.map((r) => (r[i] ?? '').length))));
  const fit = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (cells: string[]): string => cells.map((c, i) => fit(c, widths[i] ?? 0)).join(' │ ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...body.map(line)].join('\n');
}
