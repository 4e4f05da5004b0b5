import { quotedDatabase, type HistoryClient } from './client';

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
  return execute(client, readOnlyStatement(sql), opts.maxRows);
}

async function execute(client: HistoryClient, statement: string, maxRowsOpt: number | undefined, params?: Record<string, string>): Promise<SqlResult> {
  const maxRows = maxRowsOpt ?? 10_000;
  if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 1_000_000) throw new RangeError(`maxRows must be 1..1000000, got ${maxRows}`);
  const started = performance.now();
  const rs =
    client.backend === 'server'
      ? await client.ch.query({
          query: statement,
          format: 'JSONCompact',
          ...(params ? { query_params: params } : {}),
          clickhouse_settings: { readonly: '1', max_result_rows: String(maxRows + 1), result_overflow_mode: 'break' },
        })
      : await client.ch.query({
          query: `${statement}\nSETTINGS readonly = 1, max_result_rows = ${maxRows + 1}, result_overflow_mode = 'break'`,
          format: 'JSONCompact',
          ...(params ? { query_params: params } : {}),
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

// ---------------------------------------------------------------- one team's SQL

/** A statement refused because it would read outside the calling team's tables. */
export class TeamSqlError extends ReadOnlySqlError {}

/**
 * The tables a team's SQL reads, each shadowed by a CTE of the same name that holds only
 * that team's rows, already collapsed with FINAL.
 */
export const TEAM_TABLES = ['events', 'scenario_runs', 'webhook_attempts'] as const;

/** Positions of a query tree where an identifier names a table. */
const TABLE_POSITIONS = new Set(['JOIN TREE', 'TABLE EXPRESSION', 'LEFT TABLE EXPRESSION', 'RIGHT TABLE EXPRESSION']);
/** `x IN t` reads table t when its right side is a name. */
const IN_FUNCTIONS = new Set(['in', 'notIn', 'globalIn', 'globalNotIn', 'nullIn', 'notNullIn', 'globalNullIn', 'globalNotNullIn']);
/** Functions that read a dictionary, a Join table or a file by name. */
const READING_FUNCTIONS = /^(dict[A-Za-z]*|joinGet[A-Za-z]*|file)$/;
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** What ClickHouse reads a statement without FROM from (one row, no data): allowed by name. */
const DUMMY_TABLE = 'system.one';

interface TreeNode {
  text: string;
  children: TreeNode[];
  parent: TreeNode | null;
}

/** The indented lines of `EXPLAIN QUERY TREE` as a tree (each child is indented deeper than its parent). */
function parseTree(lines: readonly string[]): TreeNode {
  const root: TreeNode = { text: '', children: [], parent: null };
  const stack: Array<{ indent: number; node: TreeNode }> = [{ indent: -1, node: root }];
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    while ((stack.at(-1)?.indent ?? -1) >= indent) stack.pop();
    const parent = stack.at(-1)?.node ?? root;
    const node: TreeNode = { text: line.trim(), children: [], parent };
    parent.children.push(node);
    stack.push({ indent, node });
  }
  return root;
}

const identifierOf = (text: string): string | null => {
  const at = text.lastIndexOf(', identifier: ');
  return text.startsWith('IDENTIFIER ') && at >= 0 ? text.slice(at + ', identifier: '.length) : null;
};

/**
 * Why a statement may not run as one team's SQL, or null. `treeLines` is ClickHouse's own
 * parse of it (`EXPLAIN QUERY TREE run_passes = 0`: the query tree before name resolution,
 * which runs nothing). Refused: a table function (`merge()`, `remote()`, `view()`, `file()`,
 * …: they read tables or files by name), a settings clause, a name with a database
 * (`relay.events`, `system.tables`, `INFORMATION_SCHEMA.…`) anywhere, a table (or `IN`
 * operand) that is neither one of TEAM_TABLES nor a CTE of the statement, and functions
 * reading dictionaries, Join tables or files.
 */
export function teamSqlRefusal(treeLines: readonly string[], databases: readonly string[]): string | null {
  const dbs = new Set(['system', 'information_schema', 'default', ...databases].map((d) => d.toLowerCase()));
  const ctes = new Set<string>(treeLines.flatMap((l) => /\bis_cte: 1, cte_name: (.+)$/.exec(l)?.[1] ?? []));
  const readable = new Set<string>([...TEAM_TABLES, ...ctes]);
  const tables = `read ${TEAM_TABLES.join(', ')} (your team's rows, already FINAL) or CTEs of the statement`;
  const walk = (node: TreeNode): string | null => {
    const { text } = node;
    if (text.startsWith('TABLE_FUNCTION ')) return `table functions are not available (${/table_function_name: (\w+)/.exec(text)?.[1] ?? '?'}): ${tables}`;
    if (text.startsWith('SETTINGS')) return 'SETTINGS clauses are not allowed';
    const fn = /^FUNCTION id: \d+(?:, alias: .*?)?, function_name: (\w+)/.exec(text)?.[1];
    if (fn && READING_FUNCTIONS.test(fn)) return `function ${fn} is not available: ${tables}`;
    const name = identifierOf(text);
    if (name !== null) {
      const parts = name.split('.');
      if (name === DUMMY_TABLE) return null;
      if (parts.length > 1 && dbs.has((parts[0] ?? '').toLowerCase())) return `${name}: name tables without a database; ${tables}`;
      const position = node.parent?.text ?? '';
      const inOperand =
        /^LIST id: \d+, nodes: 2$/.test(position) &&
        node.parent?.children[1] === node &&
        IN_FUNCTIONS.has(/function_name: (\w+)/.exec(node.parent?.parent?.parent?.text ?? '')?.[1] ?? '');
      if (TABLE_POSITIONS.has(position) || inOperand) {
        const table = name.replace(/, table_expression_modifiers: .*$/, '');
        if (/table_expression_modifiers: .*FINAL/.test(name)) return `leave out FINAL: ${TEAM_TABLES.join(', ')} are already collapsed`;
        if (!PLAIN_NAME.test(table) || !readable.has(table)) return `unknown table ${table}: ${tables}`;
      }
    }
    for (const child of node.children) {
      const why = walk(child);
      if (why) return why;
    }
    return null;
  };
  return walk(parseTree(treeLines));
}

/**
 * Runs one read-only statement as team `teamId`: it sees only that team's rows, whatever it
 * says. How:
 *
 * 1. ClickHouse parses it (`EXPLAIN QUERY TREE run_passes = 0`, which resolves and runs
 *    nothing) and {@link teamSqlRefusal} walks that tree: every table it names must be one of
 *    TEAM_TABLES or its own CTE, without a database; no table functions, no SETTINGS.
 * 2. It runs inside `WITH events AS (SELECT * FROM relay.events FINAL WHERE team_id =
 *    {team}), scenario_runs AS (…), webhook_attempts AS (…) SELECT * FROM (<statement>)`:
 *    a CTE is visible in every subquery and UNION branch and takes precedence over tables
 *    of the current database, so each name the check let through is the team's CTE (or a
 *    CTE of the statement, itself checked). The team is a bound query parameter.
 * 3. With `readonly = 1`, as every read-only statement.
 *
 * Chosen because both engines support it. A ClickHouse server has row policies (`CREATE
 * ROW POLICY … USING team_id = getSetting('SQL_team')` for a dedicated user), but chDB has
 * no access control (CREATE USER / CREATE ROW POLICY do not parse) and no custom `SQL_`
 * settings, and `readonly = 1` alone does not stop `merge('relay', 'events')` (measured on
 * chDB 26.7). A string filter on the text could be escaped by quoting and nesting; the
 * check reads ClickHouse's own parse instead.
 */
export async function runTeamSql(client: HistoryClient, sql: string, teamId: string, opts: { maxRows?: number } = {}): Promise<SqlResult> {
  const statement = readOnlyStatement(sql);
  if (!/^(SELECT|WITH)\b/i.test(statement)) throw new TeamSqlError("SELECT or WITH only: SHOW and DESCRIBE read the whole store's metadata");
  if (teamId.length === 0) throw new TypeError('runTeamSql needs a team id');
  const rs = await client.ch.query({ query: `EXPLAIN QUERY TREE run_passes = 0 ${statement}`, format: 'JSONCompact' });
  const tree = ((await rs.json()) as unknown as JsonCompact).data.map((row) => String(row[0]));
  const refusal = teamSqlRefusal(tree, [client.database]);
  if (refusal) throw new TeamSqlError(refusal);
  const db = quotedDatabase(client);
  const shadows = TEAM_TABLES.map((t) => `${t} AS (SELECT * FROM ${db}.${t} FINAL WHERE team_id = {relay_team_id:String})`).join(',\n  ');
  return execute(client, `WITH\n  ${shadows}\nSELECT * FROM (\n${statement}\n)`, opts.maxRows, { relay_team_id: teamId });
}

/** Plain-text table of a result, for terminals. */
export function formatTable(result: Pick<SqlResult, 'columns' | 'rows'>): string {
  const cell = (v: unknown): string => (v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v));
  const header = result.columns.map((c) => c.name);
  const body = result.rows.map((r) => r.map(cell));
  const widths = header.map((h, i) => Math.min(80, Math.max(h.length, ...body.map((r) => (r[i] ?? '').length))));
  const fit = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => fit(c, widths[i] ?? 0))
      .join(' │ ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...body.map(line)].join('\n');
}
