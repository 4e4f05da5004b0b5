// Rough numbers for the history store on the embedded engine (chDB), the same SQL the
// server runs:
//   npx node -r ./tools/register.js libs/history-store/bench/history.bench.ts
// Measures insert throughput of 10k-row JSONEachRow batches, then page-query latency
// with 100k events of one team on disk (the worst case for a team-scoped query), before
// and after the background merges have collapsed the status versions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createHistoryClient,
  HistoryQueries,
  HistoryWriter,
  insertEvents,
  runMigrations,
  type EventHistoryInput,
  type ListEventHistoriesParams,
} from '../src/index';

const TEAM = 'bench-team';
const BATCH = 10_000;
const BATCHES = 10; // 100k events
const PROGRESSED = 0.2; // share of events that get a second, higher-ranked status row
const RUNS = 40;
const DAY = 24 * 3600 * 1000;
const CODE_NAMES = Array.from({ length: 10 }, (_, i) => `code.${i}`);

function event(i: number, now: number, status: EventHistoryInput['status'] = 'accepted'): EventHistoryInput {
  return {
    event_id: `0193${i.toString(16).padStart(12, '0')}`,
    team_id: TEAM,
    code_name: CODE_NAMES[i % CODE_NAMES.length]!,
    environment: i % 5 === 0 ? 'staging' : 'production',
    dialect: 'kafka',
    status,
    contact_id: `contact-${i % 1000}`,
    contact_email: `c${i % 1000}@example.com`,
    schema_version: 1,
    // 30 days back, 50 events per second-ish bursts so timestamps repeat
    received_at: now - 30 * DAY + Math.floor((i / BATCH / BATCHES) * 30 * DAY),
    payload: JSON.stringify({ order_id: i, total: i % 997, items: [{ sku: `sku-${i % 50}`, qty: 1 }] }),
  };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-history-bench-'));
  const client = createHistoryClient({ dataDir: dir });
  try {
    await runMigrations(client);
    const now = Date.now();

    console.log(`insert: ${BATCHES} x insertEvents(${BATCH} rows)`);
    const rates: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const rows = Array.from({ length: BATCH }, (_, k) => event(b * BATCH + k, now));
      const ms = await timeIt(() => insertEvents(client, rows));
      rates.push(BATCH / (ms / 1000));
    }
    console.log(
      `  rows/s  first ${Math.round(rates[0]!)}  median ${Math.round(pct(rates, 50))}  min ${Math.round(Math.min(...rates))}  max ${Math.round(Math.max(...rates))}`,
    );

    // Status progression through the buffered writer, as the history service does it.
    const progressed = Math.floor(BATCH * BATCHES * PROGRESSED);
    const writer = new HistoryWriter(client, { maxRows: BATCH, maxWaitMs: 1000 });
    const wMs = await timeIt(async () => {
      for (let i = 0; i < progressed; i++) writer.add(event(i * 5, now, i % 2 ? 'matched' : 'rejected'));
      await writer.flush();
    });
    await writer.close();
    console.log(`writer: ${progressed} status updates via HistoryWriter(maxRows ${BATCH}) -> ${Math.round(progressed / (wMs / 1000))} rows/s`);

    const queries = new HistoryQueries(client);
    const cursorAt = async (pages: number, params: ListEventHistoriesParams): Promise<string> => {
      let cursor: string | undefined;
      for (let p = 0; p < pages; p++) cursor = (await queries.listEventHistories({ ...params, ...(cursor ? { cursor } : {}) })).next_cursor ?? undefined;
      return cursor!;
    };
    const deep = await cursorAt(100, { teamId: TEAM, limit: 50 });
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['first page, limit 50', () => queries.listEventHistories({ teamId: TEAM, limit: 50 })],
      ['page 101 (cursor), limit 50', () => queries.listEventHistories({ teamId: TEAM, limit: 50, cursor: deep })],
      ['first page, limit 500', () => queries.listEventHistories({ teamId: TEAM, limit: 500 })],
      ['codeName filter', () => queries.listEventHistories({ teamId: TEAM, codeName: 'code.3' })],
      ['status=matched filter', () => queries.listEventHistories({ teamId: TEAM, status: 'matched' })],
      ['contactId filter', () => queries.listEventHistories({ teamId: TEAM, contactId: 'contact-42' })],
      ['last 24h window', () => queries.listEventHistories({ teamId: TEAM, from: now - DAY })],
      ['getEvent', () => queries.getEvent(TEAM, event(77_777, now).event_id)],
    ];
    const runCases = async (title: string): Promise<void> => {
      const counts = await client.ch.query({
        query: `SELECT count() AS raw, (SELECT count() FROM relay.events FINAL) AS final, (SELECT count() FROM system.parts WHERE database = 'relay' AND table = 'events' AND active) AS parts FROM relay.events`,
        format: 'JSONEachRow',
      });
      const [c] = await counts.json<{ raw: number; final: number; parts: number }>();
      console.log(`\nquery latency, ${title} (rows on disk ${c?.raw}, events ${c?.final}, parts ${c?.parts}; ${RUNS} runs each)`);
      for (const [name, fn] of cases) {
        await fn(); // warm-up
        const times: number[] = [];
        for (let r = 0; r < RUNS; r++) times.push(await timeIt(fn));
        console.log(`  ${name.padEnd(28)} p50 ${fmt(pct(times, 50)).padStart(9)}  p95 ${fmt(pct(times, 95)).padStart(9)}`);
      }
    };
    await runCases('versions not merged');
    await client.ch.command({ query: 'OPTIMIZE TABLE relay.events FINAL' });
    await runCases('after OPTIMIZE FINAL');
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
