// A small migration runner of our own. The Node migration tools (node-pg-migrate, knex,
// umzug adapters, ...) target transactional SQL databases, and the ClickHouse ones are
// either Go/Python binaries (golang-migrate, clickhouse-migrations) that speak the
// native/HTTP protocol, or unmaintained npm packages; none of them can drive the
// embedded chDB engine, which is only reachable through the @clickhouse/client
// `connection` hook. The rules below are all we need and fit in one file:
//   - files `migrations/NNNN_name.sql`, applied once, in version order;
//   - each applied file recorded in `relay_schema_migrations` with a SHA-256 checksum;
//     editing an applied file is an error (write a new migration instead);
//   - ClickHouse has no transactional DDL and no locks, so every statement must be
//     idempotent (IF NOT EXISTS / IF EXISTS): a migration interrupted half-way, or run
//     by two instances starting at once, is simply run again.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quotedDatabase, type HistoryClient } from './client';

/** Where the SQL files live when running from the sources (tests, `node -r register`). */
export const DEFAULT_MIGRATIONS_DIR = join(__dirname, '..', 'migrations');
export const DEFAULT_RETENTION_DAYS = 365;

export interface MigrationFile {
  version: number;
  name: string;
  /** SHA-256 (hex) of the file with line endings normalised, before placeholders are filled. */
  checksum: string;
  /** Raw text, placeholders `{{database}}` and `{{retention_days}}` not yet filled. */
  sql: string;
}

export interface MigrationOptions {
  /** Rows older than this (by received_at) are dropped. Default 365. */
  retentionDays?: number;
  /** Default: the library's own `migrations/` folder. */
  migrationsDir?: string;
}

export interface MigrationResult {
  /** `NNNN_name` of the migrations applied by this run, in order. */
  applied: string[];
  /** Already recorded before this run. */
  alreadyApplied: string[];
  /** Recorded in the database but not present in this build (a newer build ran); reported, not an error. */
  unknownApplied: string[];
  /** True when the TTL of `events` was changed to match retentionDays. */
  retentionUpdated: boolean;
}

/** An applied migration whose file no longer matches what was applied. */
export class MigrationChecksumError extends Error {
  override readonly name = 'MigrationChecksumError';
  constructor(
    readonly migration: string,
    readonly recorded: string,
    readonly actual: string,
  ) {
    super(`migration ${migration} was changed after it was applied (recorded checksum ${recorded}, file ${actual}); add a new migration instead`);
  }
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_NAME.exec(file);
    if (!m) throw new Error(`migration file ${file} does not match NNNN_name.sql`);
    // CRLF from a Windows checkout must not look like an edit.
    const sql = readFileSync(join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    const version = Number(m[1]);
    if (files.some((f) => f.version === version)) throw new Error(`two migration files with version ${m[1]}`);
    files.push({ version, name: m[2] ?? '', sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return files.sort((a, b) => a.version - b.version);
}

const label = (m: { version: number; name: string }): string => `${String(m.version).padStart(4, '0')}_${m.name}`;

/**
 * Statements of a migration file: full-line `--` comments dropped, split where a line
 * ends with `;`. The HTTP interface runs one statement per request, so the file cannot
 * be sent whole. (Keep `;` out of line ends inside string literals.)
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of sql.split('\n')) {
    if (line.trim().startsWith('--')) continue;
    current.push(line);
    if (line.trimEnd().endsWith(';')) {
      statements.push(current.join('\n').trim().replace(/;$/, ''));
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest) statements.push(rest);
  return statements.filter((s) => s.length > 0);
}

function fill(sql: string, values: Record<string, string>): string {
  return sql.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`unknown migration placeholder {{${key}}}`);
    return v;
  });
}

function validRetention(days: number | undefined): number {
  const d = days ?? DEFAULT_RETENTION_DAYS;
  if (!Number.isInteger(d) || d < 1 || d > 36500) throw new RangeError(`retentionDays must be an integer 1..36500, got ${d}`);
  return d;
}

interface AppliedRecord {
  version: number;
  name: string;
  checksum: string;
}

/** Applies pending migrations in order, then makes the TTL of `events` match retentionDays. */
export async function runMigrations(client: HistoryClient, opts: MigrationOptions = {}): Promise<MigrationResult> {
  const retentionDays = validRetention(opts.retentionDays);
  const files = loadMigrations(opts.migrationsDir);
  const db = quotedDatabase(client);

  await client.ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  // ReplacingMergeTree + FINAL: two instances racing on a first deploy may both record
  // the same version; they collapse into one record.
  await client.ch.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.relay_schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const rs = await client.ch.query({
    query: `SELECT version, name, checksum FROM ${db}.relay_schema_migrations FINAL ORDER BY version`,
    format: 'JSONEachRow',
  });
  const applied = new Map<number, AppliedRecord>();
  for (const r of await rs.json<AppliedRecord>()) applied.set(Number(r.version), r);

  // Check every applied file before applying anything new: a tampered history must stop
  // the run before the schema moves further.
  for (const f of files) {
    const rec = applied.get(f.version);
    if (rec && rec.checksum !== f.checksum) throw new MigrationChecksumError(label(f), rec.checksum, f.checksum);
  }

  const result: MigrationResult = {
    applied: [],
    alreadyApplied: files.filter((f) => applied.has(f.version)).map(label),
    unknownApplied: [...applied.values()]
      .filter((r) => !files.some((f) => f.version === Number(r.version)))
      .map((r) => label({ version: Number(r.version), name: r.name })),
    retentionUpdated: false,
  };
  const values = { database: db, retention_days: String(retentionDays) };
  for (const f of files) {
    if (applied.has(f.version)) continue;
    for (const statement of splitStatements(fill(f.sql, values))) {
      await client.ch.command({ query: statement });
    }
    await client.ch.insert({
      table: `${db}.relay_schema_migrations`,
      values: [{ version: f.version, name: f.name, checksum: f.checksum }],
      format: 'JSONEachRow',
    });
    result.applied.push(label(f));
  }
  result.retentionUpdated = await applyRetention(client, retentionDays);
  return result;
}

/** Every history table and the column its TTL counts from. */
export const RETENTION_TABLES = [
  { table: 'events', column: 'received_at' },
  { table: 'scenario_runs', column: 'received_at' },
  { table: 'webhook_attempts', column: 'attempted_at' },
] as const;

/**
 * Sets the TTL of every history table to `retentionDays` unless it already is. Runs after
 * the migrations because the retention is config, not schema: the checksum of the create
 * migrations must not change when an operator changes the retention. Returns true when a
 * TTL was changed (ClickHouse then recomputes TTL info of existing parts in the
 * background). A table a newer migration has not created yet is skipped, `events` is
 * required.
 */
export async function applyRetention(client: HistoryClient, retentionDays: number = DEFAULT_RETENTION_DAYS): Promise<boolean> {
  const days = validRetention(retentionDays);
  const rs = await client.ch.query({
    query: `SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}`,
    query_params: { db: client.database, names: RETENTION_TABLES.map((t) => t.table) },
    format: 'JSONEachRow',
  });
  const engines = new Map((await rs.json<{ name: string; engine_full: string }>()).map((r) => [r.name, r.engine_full]));
  if (!engines.has('events')) throw new Error(`table ${client.database}.events does not exist; run the migrations first`);
  let changed = false;
  for (const { table, column } of RETENTION_TABLES) {
    const engineFull = engines.get(table);
    if (engineFull === undefined) continue;
    const current = new RegExp(`TTL toDateTime\\(${column}\\) \\+ toIntervalDay\\((\\d+)\\)`).exec(engineFull)?.[1];
    if (current !== undefined && Number(current) === days) continue;
    // `days` is a validated integer from config; DDL cannot take query parameters here.
    await client.ch.command({
      query: `ALTER TABLE ${quotedDatabase(client)}.${table} MODIFY TTL toDateTime(${column}) + toIntervalDay(${days})`,
    });
    changed = true;
  }
  return changed;
}
