/**
 * History store at scale (embedded chDB): write throughput of the three tables and
 * p50/p99 latency of listEventHistories and of every query in docs/analytics.md.
 *
 *   npx node -r ./tools/register.js libs/history-store/bench/analytics.bench.ts [events=1000000] [runs=15]
 *
 * Data: one team, `events` over 30 days, from test/fixtures.ts (≈8% rejected, 10%
 * no_target, ~0.75 scenario runs and ~0.5 attempts per event).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistoryClient } from '../src/client';
import { runMigrations } from '../src/migrations';
import { HistoryQueries } from '../src/queries';
import { runReadOnlySql } from '../src/sql';
import { insertEvents, insertScenarioRuns, insertWebhookAttempts } from '../src/writer';
import { sampleHistory } from '../test/fixtures';

const TEAM = 'dev-team';
const total = Number(process.argv[2] ?? 1_000_000);
const repeats = Number(process.argv[3] ?? 15);
const CHUNK = 50_000;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

async function time(fn: () => Promise<unknown>, n: number): Promise<{ p50: number; p99: number }> {
  await fn(); // warm-up
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    xs.push(performance.now() - t);
  }
  return { p50: pct(xs, 50), p99: pct(xs, 99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-analytics-bench-'));
  const client = createHistoryClient({ dataDir: dir });
  try {
    await runMigrations(client);
    const end = Date.now() - 60_000;
    const span = 30 * 24 * 3600_000;
    const spent = { events: 0, scenario_runs: 0, webhook_attempts: 0 };
    const rows = { events: 0, scenario_runs: 0, webhook_attempts: 0 };
    for (let start = 0; start < total; start += CHUNK) {
      const n = Math.min(CHUNK, total - start);
      // Each chunk covers its own slice of the 30 days, like real traffic arriving over time.
      const sample = sampleHistory({ teamId: TEAM, n, seed: start + 1, idPrefix: `b${start}`, endMs: end - (start / total) * span, spanMs: (n / total) * span });
      for (const [table, list] of [
        ['events', sample.events],
        ['scenario_runs', sample.runs],
        ['webhook_attempts', sample.attempts],
      ] as const) {
        for (let i = 0; i < list.length; i += 10_000) {
          const t = performance.now();
          if (table === 'events') await insertEvents(client, sample.events.slice(i, i + 10_000));
          else if (table === 'scenario_runs') await insertScenarioRuns(client, sample.runs.slice(i, i + 10_000));
          else await insertWebhookAttempts(client, sample.attempts.slice(i, i + 10_000));
          spent[table] += performance.now() - t;
        }
        rows[table] += list.length;
      }
      process.stderr.write(`\rloaded ${start + n}/${total} events`);
    }
    process.stderr.write('\n');
    console.log('## write throughput (10k-row JSONEachRow inserts, embedded chDB)');
    for (const t of ['events', 'scenario_runs', 'webhook_attempts'] as const) {
      console.log(`${t.padEnd(18)} ${String(rows[t]).padStart(9)} rows  ${Math.round(rows[t] / (spent[t] / 1000))} rows/s`);
    }

    const q = new HistoryQueries(client);
    const first = await q.listEventHistories({ teamId: TEAM, limit: 50 });
    let cursor = first.next_cursor as string;
    for (let i = 0; i < 100; i++) cursor = (await q.listEventHistories({ teamId: TEAM, limit: 50, cursor })).next_cursor as string;
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['list: first page, limit 50', () => q.listEventHistories({ teamId: TEAM, limit: 50 })],
      ['list: page 101 via cursor', () => q.listEventHistories({ teamId: TEAM, limit: 50, cursor })],
      ['list: code_name filter', () => q.listEventHistories({ teamId: TEAM, codeName: 'store_purchase', limit: 50 })],
      ['list: status=rejected', () => q.listEventHistories({ teamId: TEAM, status: 'rejected', limit: 50 })],
      ['list: contact_email', () => q.listEventHistories({ teamId: TEAM, contactEmail: 'c1234@example.com', limit: 50 })],
      ['list: last 24 h', () => q.listEventHistories({ teamId: TEAM, from: Date.now() - 86_400_000, limit: 50 })],
      ['list: first page + relations', async () => q.attachRelations(TEAM, (await q.listEventHistories({ teamId: TEAM, limit: 50 })).data)],
    ];
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'analytics.md'), 'utf8');
    [...doc.matchAll(/\*\*(\d+)\. ([^*]+)\*\*\n\n```sql\n([\s\S]*?)```/g)].forEach((m) => {
      cases.push([`doc ${m[1]}: ${m[2]}`, () => runReadOnlySql(client, m[3] ?? '')]);
    });
    console.log(`\n## query latency, ${rows.events} events (${repeats} runs each, after 1 warm-up; parts not force-merged)`);
    console.log('| query | p50 ms | p99 ms |\n|---|---|---|');
    for (const [name, fn] of cases) {
      const r = await time(fn, repeats);
      console.log(`| ${name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
    }
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
