// Runs every ```sql block of docs/analytics.md against a real embedded engine holding
// sample history, through the same read-only path as `npm run sql`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTempStore, type TempStore } from '../test/embedded';
import { sampleHistory } from '../test/fixtures';
import { runReadOnlySql } from './sql';
import { insertEvents, insertScenarioRuns, insertWebhookAttempts } from './writer';

const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'analytics.md'), 'utf8');
const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').trim());

let store: TempStore;

beforeAll(async () => {
  store = await openTempStore();
  const sample = sampleHistory({ teamId: 'dev-team', n: 2000, seed: 3 });
  await insertEvents(store.client, sample.events);
  await insertScenarioRuns(store.client, sample.runs);
  await insertWebhookAttempts(store.client, sample.attempts);
});

afterAll(async () => {
  await store.cleanup();
});

describe('docs/analytics.md', () => {
  it('has at least ten example queries', () => {
    expect(queries.length).toBeGreaterThanOrEqual(10);
  });

  it.each(queries.map((q, i) => [i + 1, q] as const))('query %i runs and answers with rows', async (_n, sql) => {
    const res = await runReadOnlySql(store.client, sql);
    expect(res.columns.length).toBeGreaterThan(0);
    expect(res.rows.length).toBeGreaterThan(0);
  });
});
