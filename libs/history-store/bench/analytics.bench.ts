/**
 * History store at scale (embedded chDB): insert throughput of the history writer and
 * p50/p99 latency of listEventHistories and of every query in docs/analytics.md.
 *
 *   npm run bench:history -- [events…] [--runs 100] [--doc-runs 10] [--budget-s 30]
 *                            [--writer-events 250000] [--max-load 2.5] [--no-doc]
 *   npm run bench:history -- 1000000 10000000
 *
 * Each size runs on a fresh data directory, one team, events over 30 days from
 * test/fixtures.ts (≈8% rejected, 10% no_target, ≈1.23 scenario runs and 0.5 attempts
 * per event), in four steps:
 *
 *  1. writer: the newest `--writer-events` events and their runs and attempts, each
 *     table in turn through its writer (HistoryWriter, ScenarioRunWriter,
 *     WebhookAttemptWriter) as the history consumer drives it: Kafka chunks of 500 rows,
 *     3 partitions in flight, add() then flush() per chunk, the service's maxRows and
 *     maxWaitMs. Reports rows/s per table.
 *  2. bulk: the rest, same generator, through insertEvents / insertScenarioRuns /
 *     insertWebhookAttempts in 200k-event batches (generation of the next batch overlaps
 *     the engine's work on the current one).
 *  3. settle: waits until no background merge is running (merges are never forced: no
 *     OPTIMIZE, so FINAL merges the remaining parts at read time as in production).
 *  4. queries: one warm-up, then up to `--runs` (list) or `--doc-runs` (doc queries) runs,
 *     stopping early once a query has used `--budget-s` seconds (at least 5 runs).
 *
 * Before each size it waits (polling every 60 s, at most 15 min) until the 1-minute load
 * average is at most `--max-load` (0: do not wait), and it prints the load before and
 * after. Progress goes to stderr; the results, as markdown, to stdout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHistoryClient, type HistoryClient } from '../src/client';
import { runMigrations } from '../src/migrations';
import { HistoryQueries } from '../src/queries';
import { runReadOnlySql } from '../src/sql';
import {
  HistoryWriter,
  insertEvents,
  insertScenarioRuns,
  insertWebhookAttempts,
  ScenarioRunWriter,
  WebhookAttemptWriter,
  type HistoryTable,
  type HistoryWriterOptions,
  type TableWriter,
} from '../src/writer';
import { sampleHistory, type SampleHistory } from '../test/fixtures';

const TEAM = 'dev-team';
const TABLES: readonly string[] = ['events', 'scenario_runs', 'webhook_attempts'];
const SPAN_MS = 30 * 24 * 3600_000;
// Events per sampleHistory call; each call has its own seed, id prefix and slice of the
// 30 days, so a given size always produces the same data set.
const GEN_CHUNK = 50_000;
const BULK_BATCH = 200_000;
// What the history service runs with: RELAY_BATCH_MAX, RELAY_PARTITIONS_CONCURRENCY,
// and the writer options of services/history/src/app.module.ts (RELAY_HISTORY_FLUSH_MS).
const CONSUMER_CHUNK = 500;
const CONSUMER_CONCURRENCY = 3;
const WRITER_OPTIONS = { maxRows: 5000, maxWaitMs: 200 };
const MIN_RUNS = 5;
const LOAD_POLL_MS = 60_000;
const LOAD_WAIT_MAX_MS = 15 * 60_000;
const SETTLE_MAX_MS = 10 * 60_000;

interface Options {
  sizes: number[];
  runs: number;
  docRuns: number;
  budgetMs: number;
  writerEvents: number;
  maxLoad: number;
  doc: boolean;
}

interface TableRate {
  table: HistoryTable;
  rows: number;
  inserts: number;
  /** Sum of the inserts' durations (onFlush). */
  insertMs: number;
  wallMs: number;
}

interface WriterResult {
  events: number;
  tables: TableRate[];
}

interface BulkResult {
  events: number;
  rows: number;
  wallMs: number;
}

interface QueryResult {
  name: string;
  runs: number;
  p50: number;
  p99: number;
}

interface SizeResult {
  size: number;
  engine: string;
  loadBefore: string;
  loadAfter: string;
  waitedMs: number;
  writer: WriterResult;
  bulk: BulkResult;
  settle: { ms: number; settled: boolean };
  parts: Array<{ table: string; rows: number; parts: number; partitions: number }>;
  queries: QueryResult[];
  wallMs: number;
}

function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    options: {
      runs: { type: 'string', default: '100' },
      'doc-runs': { type: 'string', default: '10' },
      'budget-s': { type: 'string', default: '30' },
      'writer-events': { type: 'string', default: '250000' },
      'max-load': { type: 'string', default: '2.5' },
      doc: { type: 'boolean', default: true },
    },
  });
  const num = (name: string, text: string, min: number): number => {
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isFinite(n) || n < min) throw new RangeError(`${name} must be a number >= ${min}, got ${text}`);
    return n;
  };
  const sizes = positionals.length ? positionals.map((p) => Math.floor(num('events', p, 1))) : [1_000_000];
  return {
    sizes,
    runs: Math.floor(num('--runs', values.runs, 1)),
    docRuns: Math.floor(num('--doc-runs', values['doc-runs'], 1)),
    budgetMs: num('--budget-s', values['budget-s'], 0) * 1000,
    writerEvents: Math.floor(num('--writer-events', values['writer-events'], 0)),
    maxLoad: num('--max-load', values['max-load'], 0),
    doc: values.doc,
  };
}

const progress = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const loadText = (): string =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')}`;
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
const rate = (rows: number, ms: number): string => (ms > 0 ? `${thousands(rows / (ms / 1000))}` : '–');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a quiet machine so other work does not end up in the numbers; returns the time waited. */
async function waitForQuietMachine(maxLoad: number): Promise<number> {
  const started = performance.now();
  while (maxLoad > 0 && (loadavg()[0] ?? 0) > maxLoad) {
    if (performance.now() - started >= LOAD_WAIT_MAX_MS) {
      progress(`still ${loadText()} after ${seconds(LOAD_WAIT_MAX_MS)}: starting anyway`);
      break;
    }
    progress(`${loadText()} (> ${maxLoad}): waiting for a quieter machine`);
    await sleep(LOAD_POLL_MS);
  }
  return performance.now() - started;
}

/** Generation chunk `start` of a data set of `total` events: its own slice of the 30 days, like traffic arriving over time. */
function chunkAt(total: number, start: number, endMs: number): SampleHistory {
  const n = Math.min(GEN_CHUNK, total - start);
  return sampleHistory({
    teamId: TEAM,
    n,
    seed: start + 1,
    idPrefix: `b${start}`,
    endMs: endMs - (start / total) * SPAN_MS,
    spanMs: (n / total) * SPAN_MS,
  });
}

function generate(total: number, from: number, to: number, endMs: number): SampleHistory {
  const out: SampleHistory = { events: [], runs: [], attempts: [] };
  for (let start = from; start < to; start += GEN_CHUNK) {
    const s = chunkAt(total, start, endMs);
    for (const e of s.events) out.events.push(e);
    for (const r of s.runs) out.runs.push(r);
    for (const a of s.attempts) out.attempts.push(a);
  }
  return out;
}

/**
 * Step 1, one table at a time: its rows handed to its writer as HistoryConsumer does it,
 * add() a Kafka chunk's rows then flush(), CONSUMER_CONCURRENCY chunks in flight. One
 * table at a time because the embedded engine runs one statement at a time anyway, so
 * mixing them would only make each table's share of the time ambiguous.
 */
async function measureTableWriter<T>(table: HistoryTable, open: (opts: HistoryWriterOptions) => TableWriter<T>, rows: readonly T[]): Promise<TableRate> {
  const result: TableRate = { table, rows: 0, inserts: 0, insertMs: 0, wallMs: 0 };
  const writer = open({
    ...WRITER_OPTIONS,
    onFlush: (f) => {
      result.rows += f.rows;
      result.inserts += 1;
      result.insertMs += f.durationMs;
    },
  });
  let next = 0;
  const started = performance.now();
  let lastReport = started;
  const consume = async (): Promise<void> => {
    while (next < rows.length) {
      const chunk = rows.slice(next, (next += CONSUMER_CHUNK));
      writer.add(chunk);
      await writer.flush();
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        progress(`writer: ${table} ${thousands(result.rows)}/${thousands(rows.length)} rows, ${rate(result.rows, lastReport - started)} rows/s`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONSUMER_CONCURRENCY }, consume));
  result.wallMs = performance.now() - started;
  await writer.close();
  return result;
}

async function measureWriter(client: HistoryClient, sample: SampleHistory): Promise<WriterResult> {
  return {
    events: sample.events.length,
    tables: [
      await measureTableWriter('events', (o) => new HistoryWriter(client, o), sample.events),
      await measureTableWriter('scenario_runs', (o) => new ScenarioRunWriter(client, o), sample.runs),
      await measureTableWriter('webhook_attempts', (o) => new WebhookAttemptWriter(client, o), sample.attempts),
    ],
  };
}

async function insertSample(client: HistoryClient, s: SampleHistory): Promise<void> {
  await insertEvents(client, s.events);
  await insertScenarioRuns(client, s.runs);
  await insertWebhookAttempts(client, s.attempts);
}

/** Step 2: events [from, total) in BULK_BATCH inserts; the next batch is generated while the engine works. */
async function bulkLoad(client: HistoryClient, total: number, from: number, endMs: number): Promise<BulkResult> {
  const result: BulkResult = { events: 0, rows: 0, wallMs: 0 };
  const started = performance.now();
  let next: SampleHistory | null = from < total ? generate(total, from, Math.min(total, from + BULK_BATCH), endMs) : null;
  for (let start = from; next; start += BULK_BATCH) {
    const current = next;
    const inserting = insertSample(client, current);
    const after = start + BULK_BATCH;
    next = after < total ? generate(total, after, Math.min(total, after + BULK_BATCH), endMs) : null;
    await inserting;
    result.events += current.events.length;
    result.rows += current.events.length + current.runs.length + current.attempts.length;
    const elapsed = performance.now() - started;
    const eta = ((total - from - result.events) / result.events) * elapsed;
    progress(
      `bulk: ${thousands(from + result.events)}/${thousands(total)} events, ${thousands(result.rows)} rows in ${seconds(elapsed)}, ` +
        `${rate(result.rows, elapsed)} rows/s, ETA ${seconds(eta)}`,
    );
  }
  result.wallMs = performance.now() - started;
  return result;
}

async function scalar(client: HistoryClient, query: string): Promise<number> {
  const rs = await client.ch.query({ query: `SELECT (${query}) AS v`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ v: number | string }>();
  return Number(row?.v ?? 0);
}

/** Step 3: lets the background merges the load started finish, so they do not run during the timings. */
async function settle(client: HistoryClient): Promise<{ ms: number; settled: boolean }> {
  const started = performance.now();
  let quietPolls = 0;
  let lastReport = started;
  while (performance.now() - started < SETTLE_MAX_MS) {
    const merges = await scalar(client, 'SELECT count() FROM system.merges');
    quietPolls = merges === 0 ? quietPolls + 1 : 0;
    if (quietPolls >= 5) return { ms: performance.now() - started, settled: true };
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      progress(`settle: ${merges} merges running`);
    }
    await sleep(1000);
  }
  return { ms: performance.now() - started, settled: false };
}

async function partsOf(client: HistoryClient): Promise<SizeResult['parts']> {
  const rs = await client.ch.query({
    query: `SELECT table, sum(rows) AS rows, count() AS parts, uniqExact(partition) AS partitions
      FROM system.parts WHERE database = {db:String} AND table IN {tables:Array(String)} AND active
      GROUP BY table ORDER BY table`,
    query_params: { db: client.database, tables: TABLES },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ table: string; rows: string | number; parts: string | number; partitions: string | number }>();
  return rows.map((r) => ({ table: r.table, rows: Number(r.rows), parts: Number(r.parts), partitions: Number(r.partitions) }));
}

/** Nearest-rank percentile: with fewer than 100 runs, p99 is the slowest run. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function timeQuery(name: string, fn: () => Promise<unknown>, maxRuns: number, budgetMs: number): Promise<QueryResult> {
  await fn(); // warm-up: caches, first read of the marks
  const xs: number[] = [];
  const started = performance.now();
  while (xs.length < maxRuns && (xs.length < MIN_RUNS || performance.now() - started < budgetMs)) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  xs.sort((a, b) => a - b);
  const r = { name, runs: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) };
  progress(`query: ${name}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${r.runs} runs)`);
  return r;
}

function docQueries(): Array<[string, string]> {
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'analytics.md'), 'utf8');
  return [...doc.matchAll(/\*\*(\d+)\. ([^*]+)\*\*\n\n```sql\n([\s\S]*?)```/g)].map((m) => [`doc ${m[1]}: ${m[2]}`, m[3] ?? '']);
}

/** Step 4. */
async function measureQueries(client: HistoryClient, opts: Options): Promise<QueryResult[]> {
  const q = new HistoryQueries(client);
  let cursor = (await q.listEventHistories({ teamId: TEAM, limit: 50 })).next_cursor as string;
  for (let i = 0; i < 100; i++) cursor = (await q.listEventHistories({ teamId: TEAM, limit: 50, cursor })).next_cursor as string;
  const list: Array<[string, () => Promise<unknown>]> = [
    ['list: first page, limit 50', () => q.listEventHistories({ teamId: TEAM, limit: 50 })],
    ['list: page 101 via cursor', () => q.listEventHistories({ teamId: TEAM, limit: 50, cursor })],
    ['list: code_name filter', () => q.listEventHistories({ teamId: TEAM, codeName: 'store_purchase', limit: 50 })],
    ['list: status=rejected', () => q.listEventHistories({ teamId: TEAM, status: 'rejected', limit: 50 })],
    ['list: contact_email', () => q.listEventHistories({ teamId: TEAM, contactEmail: 'c1234@example.com', limit: 50 })],
    ['list: last 24 h', () => q.listEventHistories({ teamId: TEAM, from: Date.now() - 86_400_000, limit: 50 })],
    ['list: first page + relations', async () => q.attachRelations(TEAM, (await q.listEventHistories({ teamId: TEAM, limit: 50 })).data)],
  ];
  const results: QueryResult[] = [];
  for (const [name, fn] of list) results.push(await timeQuery(name, fn, opts.runs, opts.budgetMs));
  if (!opts.doc) return results;
  for (const [name, sql] of docQueries()) results.push(await timeQuery(name, () => runReadOnlySql(client, sql), opts.docRuns, opts.budgetMs));
  return results;
}

async function runSize(size: number, opts: Options): Promise<SizeResult> {
  const waitedMs = await waitForQuietMachine(opts.maxLoad);
  const loadBefore = loadText();
  progress(`${thousands(size)} events: start, ${loadBefore}`);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'relay-history-bench-'));
  const client = createHistoryClient({ dataDir: dir });
  try {
    await runMigrations(client);
    const engine = await engineText(client);
    const endMs = Date.now() - 60_000;
    // Whole generation chunks, so the data set does not depend on --writer-events.
    const writerEvents = Math.min(size, Math.ceil(opts.writerEvents / GEN_CHUNK) * GEN_CHUNK);
    const writer = writerEvents > 0 ? await measureWriter(client, generate(size, 0, writerEvents, endMs)) : { events: 0, tables: [] };
    const bulk = await bulkLoad(client, size, writerEvents, endMs);
    const settled = await settle(client);
    const parts = await partsOf(client);
    const queries = await measureQueries(client, opts);
    return { size, engine, loadBefore, loadAfter: loadText(), waitedMs, writer, bulk, settle: settled, parts, queries, wallMs: performance.now() - started };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: SizeResult): string {
  const lines: string[] = [];
  const parts = r.parts.map((p) => `${p.table} ${thousands(p.rows)} rows in ${p.parts} parts / ${p.partitions} partitions`).join('; ');
  lines.push(`## ${thousands(r.size)} events`, '');
  lines.push(
    `${r.engine}. Wall time ${seconds(r.wallMs)}. Before: ${r.loadBefore}${r.waitedMs > 1000 ? ` (waited ${seconds(r.waitedMs)} for it)` : ''}; after: ${r.loadAfter}.`,
  );
  lines.push(
    `Active parts at query time (merges ${r.settle.settled ? `settled after ${seconds(r.settle.ms)}` : `still running after ${seconds(r.settle.ms)}`}, never forced): ${parts}.`,
    '',
  );
  lines.push(
    `Writer: the newest ${thousands(r.writer.events)} events and their runs and attempts, each table through its writer as the history ` +
      `consumer drives it (chunks of ${CONSUMER_CHUNK} rows, ${CONSUMER_CONCURRENCY} in flight, add() then flush(), maxRows ${WRITER_OPTIONS.maxRows}, ` +
      `maxWaitMs ${WRITER_OPTIONS.maxWaitMs}), one table after the other.`,
    '',
    '| table | rows | inserts | rows/insert | ms/insert | rows/s |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const t of r.writer.tables) {
    const inserts = Math.max(1, t.inserts);
    lines.push(
      `| ${t.table} | ${thousands(t.rows)} | ${t.inserts} | ${thousands(t.rows / inserts)} | ${(t.insertMs / inserts).toFixed(1)} | ${rate(t.rows, t.wallMs)} |`,
    );
  }
  lines.push(
    '',
    `Bulk: ${thousands(r.bulk.events)} more events (${thousands(r.bulk.rows)} rows, all three tables) through insertEvents / insertScenarioRuns / ` +
      `insertWebhookAttempts in ${thousands(BULK_BATCH)}-event batches: ${seconds(r.bulk.wallMs)}, ${rate(r.bulk.rows, r.bulk.wallMs)} rows/s including generation.`,
    '',
  );
  lines.push('| query | runs | p50 ms | p99 ms |', '|---|---:|---:|---:|');
  for (const q of r.queries) lines.push(`| ${q.name} | ${q.runs} | ${q.p50.toFixed(1)} | ${q.p99.toFixed(1)} |`);
  return lines.join('\n');
}

async function engineText(client: HistoryClient): Promise<string> {
  const rs = await client.ch.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
  const [row] = await rs.json<{ v: string }>();
  const cpu = cpus();
  return `embedded chDB (ClickHouse ${row?.v ?? '?'}), ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.versions.node}`;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const results: SizeResult[] = [];
  for (const size of opts.sizes) results.push(await runSize(size, opts));
  console.log(`# History store bench\n\n\`npm run bench:history -- ${process.argv.slice(2).join(' ')}\`\n`);
  for (const r of results) console.log(`${report(r)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
