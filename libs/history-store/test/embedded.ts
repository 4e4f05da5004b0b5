// Shared by the specs: a real embedded engine (chDB) in a fresh temp directory per spec
// file, migrated, and removed again afterwards. No mocks: the SQL under test is the SQL
// that runs in production.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistoryClient, type HistoryClient } from '../src/client';
import { runMigrations } from '../src/migrations';
import type { EventHistoryInput } from '../src/types';

export interface TempStore {
  client: HistoryClient;
  dir: string;
  cleanup(): Promise<void>;
}

export async function openTempStore(opts: { migrate?: boolean; database?: string } = {}): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-history-'));
  const client = createHistoryClient({ dataDir: dir, database: opts.database ?? 'relay' });
  if (opts.migrate !== false) await runMigrations(client);
  return {
    client,
    dir,
    cleanup: async () => {
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Well inside the default retention: rows older than the TTL may be dropped as soon as
// they are inserted, so fixtures are always relative to now.
export const BASE_MS = Date.now() - 24 * 3600 * 1000;

export function makeEvent(overrides: Partial<EventHistoryInput> & { event_id: string }): EventHistoryInput {
  return {
    team_id: 'team-a',
    code_name: 'order.created',
    status: 'accepted',
    received_at: BASE_MS,
    payload: JSON.stringify({ id: overrides.event_id }),
    ...overrides,
  };
}

export async function countRows(client: HistoryClient, where = '1', params: Record<string, string> = {}): Promise<{ raw: number; final: number }> {
  const q = async (final: string): Promise<number> => {
    const rs = await client.ch.query({
      query: `SELECT count() AS n FROM \`${client.database}\`.events ${final} WHERE ${where}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: number | string }>();
    return Number(row?.n ?? 0);
  };
  return { raw: await q(''), final: await q('FINAL') };
}
