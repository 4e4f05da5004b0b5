/**
 * What the benchmark reads from the running pipeline: Prometheus counters of the services,
 * CPU time of each process, history rows, and percentiles over them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { AssignerProtocol, type Admin } from 'kafkajs';
import { parsePrometheus, sumOf, type Sample } from '@relay/testing';

// ---- Prometheus text format (parsePrometheus, sumOf: @relay/testing) --------------------

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

/**
 * CPU seconds used so far by this process's children that have exited and been reaped
 * (cutime + cstime of /proc/self/stat): how a short-lived tool JVM is accounted.
 */
export function reapedChildrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** Busy and idle CPU seconds of the whole machine, all cores (first line of /proc/stat). */
function machineCpuSeconds(): { busy: number; idle: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    const tps = ticksPerSecond();
    return { busy: (user + nice + system + irq + softirq + steal) / tps, idle: (idle + iowait) / tps };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of the PostgreSQL backends serving the given databases, found by their
 * process title (`postgres: <cluster>: <user> <database> <client> <state>`). Backends of
 * connections that closed meanwhile are not counted (the pools keep theirs open).
 */
export function postgresCpuSeconds(databases: ReadonlySet<string>): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  let total = 0;
  for (const pid of entries) {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const m = /^postgres: (?:[^:]+: )?\S+ (\S+) /.exec(title);
      if (!m || !databases.has(m[1] as string)) continue;
      total += cpuSecondsOf(Number(pid)) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

export interface CpuSnapshot {
  at: number;
  seconds: Map<string, number>;
  machine: { busy: number; idle: number } | undefined;
}

/**
 * CPU seconds of each named process, plus the machine's totals. `reapedLabel` adds the
 * CPU of children that exited meanwhile under that name (a tool JVM that ran to completion).
 */
export function cpuSnapshot(pids: ReadonlyMap<string, number>, reapedLabel?: string, extra: Record<string, () => number | undefined> = {}): CpuSnapshot {
  const seconds = new Map<string, number>();
  for (const [name, pid] of pids) {
    const s = cpuSecondsOf(pid);
    if (s !== undefined) seconds.set(name, s);
  }
  for (const [name, read] of Object.entries(extra)) {
    const s = read();
    if (s !== undefined) seconds.set(name, s);
  }
  if (reapedLabel) {
    const s = reapedChildrenCpuSeconds();
    if (s !== undefined) seconds.set(reapedLabel, s);
  }
  return { at: performance.now(), seconds, machine: machineCpuSeconds() };
}

/** A `/proc/<pid>/status` size field (`VmHWM`, `VmRSS`: "<n> kB") in MiB; undefined when absent. */
export function statusMiB(status: string, field: 'VmHWM' | 'VmRSS'): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
  return match ? Number(match[1]) / 1024 : undefined;
}

/**
 * Resident memory of each process: its peak over its whole life (the kernel's high-water
 * mark, VmHWM, so no sampling can miss a spike) and now. Processes that are gone are left out.
 */
export function memoryOf(pids: ReadonlyMap<string, number>): Map<string, { peakMiB: number; nowMiB: number }> {
  const out = new Map<string, { peakMiB: number; nowMiB: number }>();
  for (const [name, pid] of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const peakMiB = statusMiB(status, 'VmHWM');
      const nowMiB = statusMiB(status, 'VmRSS');
      if (peakMiB !== undefined && nowMiB !== undefined) out.set(name, { peakMiB, nowMiB });
    } catch {
      // exited
    }
  }
  return out;
}

/** Cores used on average between two snapshots (CPU seconds / wall seconds). */
export interface CoreUse {
  byProcess: Map<string, number>;
  /** Sum over the named processes. */
  ours: number;
  /** Busy cores of the whole machine, and what of it was not ours (other work on the host). */
  machine: number | undefined;
  others: number | undefined;
  idle: number | undefined;
}

export function coresBetween(before: CpuSnapshot, after: CpuSnapshot): CoreUse {
  const wall = (after.at - before.at) / 1000;
  const byProcess = new Map<string, number>();
  if (wall <= 0) return { byProcess, ours: 0, machine: undefined, others: undefined, idle: undefined };
  for (const [name, end] of after.seconds) {
    const start = before.seconds.get(name);
    if (start !== undefined) byProcess.set(name, (end - start) / wall);
  }
  const ours = [...byProcess.values()].reduce((a, b) => a + b, 0);
  if (!before.machine || !after.machine) return { byProcess, ours, machine: undefined, others: undefined, idle: undefined };
  const machine = (after.machine.busy - before.machine.busy) / wall;
  return {
    byProcess,
    ours,
    machine,
    others: Math.max(0, machine - ours),
    idle: (after.machine.idle - before.machine.idle) / wall,
  };
}

/** CPU milliseconds each process spent per unit of work (event, request, record) between two snapshots. */
export function cpuMsPer(before: CpuSnapshot, after: CpuSnapshot, units: number): Map<string, number> {
  const per = new Map<string, number>();
  if (units <= 0) return per;
  for (const [name, end] of after.seconds) {
    const start = before.seconds.get(name);
    if (start !== undefined) per.set(name, ((end - start) * 1000) / units);
  }
  return per;
}

export function formatCpuMs(per: ReadonlyMap<string, number>): string {
  const total = [...per.values()].reduce((a, b) => a + b, 0);
  const parts = [...per].sort((a, b) => b[1] - a[1]).map(([name, ms]) => `${name} ${ms.toFixed(3)}`);
  return `${parts.join(', ')} (total ${total.toFixed(3)} ms)`;
}

/** Busy cores of the whole machine over `ms` (undefined without procfs). */
export async function machineBusyCores(ms: number): Promise<number | undefined> {
  const before = cpuSnapshot(new Map());
  await new Promise((r) => setTimeout(r, ms));
  return coresBetween(before, cpuSnapshot(new Map())).machine;
}

export function formatCores(use: CoreUse): string {
  const parts = [...use.byProcess].sort((a, b) => b[1] - a[1]).map(([name, c]) => `${name} ${c.toFixed(2)}`);
  const machine =
    use.machine === undefined
      ? ''
      : `; machine busy ${use.machine.toFixed(2)}, of which other processes ${(use.others ?? 0).toFixed(2)}; idle ${(use.idle ?? 0).toFixed(2)}`;
  return `${parts.join(', ')} (ours ${use.ours.toFixed(2)} cores${machine})`;
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
 * history service's internal query API (500 rows a page, keyset cursor), with its service token.
 */
export async function readHistoryRows(
  history: { url: string; token: string },
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
    const res = await fetch(`${history.url}/internal/v1/event-histories?${params.toString()}`, {
      headers: { authorization: `Bearer ${history.token}` },
      signal: AbortSignal.timeout(30000),
    });
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

// ---- pipeline backlog (consumer groups) -------------------------------------------------

export interface Backlog {
  /** Messages not yet committed, over every consumer group of the pipeline. */
  total: number;
  byGroup: Record<string, number>;
  /** The end offsets seen, to tell two polls apart. */
  ends: string;
  /** False while a group rebalances (its topics cannot be read then). */
  stable: boolean;
}

/**
 * Lag of every consumer group whose id starts with `groupPrefix` (the pipeline's stages:
 * `<topic prefix>.validator`, `.history`, …) on the topics its members subscribe to:
 * end offset − committed offset, summed. Stages commit only after their outputs are
 * durable, so a backlog of 0 (twice, with the same end offsets) means every event has
 * gone through every stage, history included.
 */
export async function pipelineBacklog(admin: Admin, groupPrefix: string): Promise<Backlog> {
  const ids = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(groupPrefix));
  const { groups } = ids.length > 0 ? await admin.describeGroups(ids) : { groups: [] };
  const highs = new Map<string, Map<number, { high: bigint; low: bigint }>>();
  const offsetsOf = async (topic: string) => {
    let byPartition = highs.get(topic);
    if (!byPartition) {
      byPartition = new Map();
      for (const p of await admin.fetchTopicOffsets(topic)) byPartition.set(p.partition, { high: BigInt(p.high), low: BigInt(p.low) });
      highs.set(topic, byPartition);
    }
    return byPartition;
  };
  let total = 0;
  let stable = true;
  const byGroup: Record<string, number> = {};
  for (const group of groups) {
    if (group.state !== 'Stable' || group.members.length === 0) {
      stable = false;
      continue;
    }
    const topics = new Set<string>();
    for (const m of group.members) for (const t of AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? []) topics.add(t);
    let lag = 0;
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group.groupId, topics: [...topics] })) {
      const ends = await offsetsOf(topic);
      for (const p of partitions) {
        const end = ends.get(p.partition);
        if (!end) continue;
        const committed = BigInt(p.offset) < 0n ? end.low : BigInt(p.offset);
        if (end.high > committed) lag += Number(end.high - committed);
      }
    }
    byGroup[group.groupId.slice(groupPrefix.length)] = lag;
    total += lag;
  }
  const ends = JSON.stringify([...highs].sort(([a], [b]) => a.localeCompare(b)).map(([t, m]) => [t, [...m].map(([p, o]) => [p, String(o.high)])]));
  return { total, byGroup, ends, stable };
}
