/**
 * What the benchmark reads from the running pipeline: Prometheus counters of the services,
 * CPU time of each process, history rows, and percentiles over them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// ---- Prometheus text format -------------------------------------------------------------

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of a `/metrics` page (comments and malformed lines skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    const value = Number(m[3]);
    if (Number.isFinite(value)) samples.push({ name: m[1] as string, labels, value });
  }
  return samples;
}

/** Sum of every sample named `name` whose labels include `labels`. */
export function sumOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

export async function scrape(baseUrl: string): Promise<Sample[]> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${baseUrl}/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** Per-stage batch figures between two scrapes of one consumer service. */
export interface StageDelta {
  batches: number;
  messages: number;
  avgBatchSize: number;
  avgBatchMs: number;
}

export function stageDelta(before: readonly Sample[], after: readonly Sample[]): StageDelta {
  const d = (name: string) => sumOf(after, name) - sumOf(before, name);
  const batches = d('relay_stage_batch_size_count');
  const messages = d('relay_stage_batch_size_sum');
  const seconds = d('relay_stage_batch_duration_seconds_sum');
  return {
    batches,
    messages,
    avgBatchSize: batches > 0 ? messages / batches : 0,
    avgBatchMs: batches > 0 ? (seconds * 1000) / batches : 0,
  };
}

// ---- CPU time per process ---------------------------------------------------------------

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far; undefined without procfs or once it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14 and stime 15 (1-based, whole line).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = { at: number; seconds: Map<string, number> };

export function cpuSnapshot(pids: ReadonlyMap<string, number>): CpuSnapshot {
  const seconds = new Map<string, number>();
  for (const [name, pid] of pids) {
    const s = cpuSecondsOf(pid);
    if (s !== undefined) seconds.set(name, s);
  }
  return { at: performance.now(), seconds };
}

/** Cores each process used on average between two snapshots (CPU seconds / wall seconds). */
export function coresBetween(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const wall = (after.at - before.at) / 1000;
  const cores = new Map<string, number>();
  if (wall <= 0) return cores;
  for (const [name, end] of after.seconds) {
    const start = before.seconds.get(name);
    if (start !== undefined) cores.set(name, (end - start) / wall);
  }
  return cores;
}

export function formatCores(cores: ReadonlyMap<string, number>): string {
  const total = [...cores.values()].reduce((a, b) => a + b, 0);
  const parts = [...cores].sort((a, b) => b[1] - a[1]).map(([name, c]) => `${name} ${c.toFixed(2)}`);
  return `${parts.join(', ')} (total ${total.toFixed(2)} cores)`;
}

// ---- history rows -----------------------------------------------------------------------

export interface HistoryRowLite {
  event_id: string;
  status: string;
  received_at: string;
  recorded_at: string;
}

/**
 * Every history row of one team and event type received in [fromMs, toMs), read from the
 * history service's internal query API (500 rows a page, keyset cursor).
 */
export async function readHistoryRows(
  historyUrl: string,
  q: { teamId: string; codeName: string; fromMs: number; toMs?: number },
): Promise<HistoryRowLite[]> {
  const rows: HistoryRowLite[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({
      team_id: q.teamId,
      code_name: q.codeName,
      from: new Date(q.fromMs).toISOString(),
      limit: '500',
    });
    if (q.toMs !== undefined) params.set('to', new Date(q.toMs).toISOString());
    if (cursor) params.set('cursor', cursor);
    const res = await fetch(`${historyUrl}/internal/v1/event-histories?${params.toString()}`, { signal: AbortSignal.timeout(30000) });
    if (!res.ok) throw new Error(`history query answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { data: HistoryRowLite[]; next_cursor: string | null };
    rows.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return rows;
}

// ---- statistics -------------------------------------------------------------------------

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (no interpolation: every figure is a value that occurred). */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number));
  return { count: sorted.length, p50: rank(50), p90: rank(90), p99: rank(99), max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN };
}

/** Accept → history latency of each row: recorded_at (history took the row) − received_at (gateway or producer stamped it). */
export function endToEndMs(rows: readonly HistoryRowLite[]): number[] {
  return rows.map((r) => Date.parse(r.recorded_at) - Date.parse(r.received_at));
}
