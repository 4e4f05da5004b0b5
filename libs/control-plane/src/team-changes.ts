import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';

/**
 * A team's change sequences (migration `team_changes`): `seq` moves with every change to
 * its event types, API keys, limits, scenarios and webhook endpoints, `contactSeq` with
 * every contact change made through the API. Both only grow.
 */
export interface TeamSeq {
  seq: number;
  contactSeq: number;
}

export const NO_CHANGES: TeamSeq = Object.freeze({ seq: 0, contactSeq: 0 });

/**
 * Reads teams' current change sequences: the "read" half of read-your-writes (see
 * docs/architecture.md). Always asks PostgreSQL — a cached sequence is exactly what this
 * must not trust — but concurrent asks share one query: DataLoader coalesces the
 * `current()` calls into one `= ANY($1)` lookup, and while a lookup is in flight the calls
 * that arrive meanwhile wait and go together in the next one (one lookup in flight at a
 * time, like the producer's grouping). Under load the gateway pays one primary-key read
 * per round trip, not per request (measured in docs/benchmarks.md: one per request when
 * only same-tick calls were grouped, since requests arrive in different ticks).
 *
 * Still read-your-writes: a call never joins a lookup that was sent before it was made, so
 * the sequence it gets is at least the one committed when it was made.
 */
export class TeamChanges {
  private readonly loader: DataLoader<string, TeamSeq>;
  /** Lookups sent and not yet answered. */
  private inFlight = 0;
  /** Dispatches of the batches that wait for the lookup in flight. */
  private waiting: (() => void)[] = [];
  /** Queries made (observable by tests and benchmarks). */
  queries = 0;

  constructor(private readonly pool: Pool) {
    this.loader = new DataLoader((teamIds) => this.read(teamIds), {
      cache: false,
      maxBatchSize: 1000,
      // DataLoader's own schedule (after the current promise jobs) when idle; otherwise the
      // batch is sent once the lookup in flight is answered.
      batchScheduleFn: (dispatch) => {
        if (this.inFlight === 0) void Promise.resolve().then(() => process.nextTick(dispatch));
        else this.waiting.push(dispatch);
      },
    });
  }

  current(teamId: string): Promise<TeamSeq> {
    return this.loader.load(teamId);
  }

  /** One query for all the teams of a consumed batch. */
  async currentMany(teamIds: Iterable<string>): Promise<Map<string, TeamSeq>> {
    const ids = [...new Set(teamIds)];
    const seqs = ids.length === 0 ? [] : await this.read(ids);
    return new Map(ids.map((id, i) => [id, seqs[i] ?? NO_CHANGES]));
  }

  private async read(teamIds: readonly string[]): Promise<TeamSeq[]> {
    this.queries++;
    this.inFlight++;
    let rows: { team_id: string; seq: string; contact_seq: string }[];
    try {
      ({ rows } = await this.pool.query<{ team_id: string; seq: string; contact_seq: string }>(
        'SELECT team_id, seq, contact_seq FROM team_changes WHERE team_id = ANY($1::text[])',
        [teamIds],
      ));
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) {
        const next = this.waiting;
        this.waiting = [];
        for (const dispatch of next) dispatch();
      }
    }
    const byTeam = new Map(rows.map((r) => [r.team_id, { seq: Number(r.seq), contactSeq: Number(r.contact_seq) }]));
    return teamIds.map((id) => byTeam.get(id) ?? NO_CHANGES);
  }
}

interface Entry<V> {
  seq: number;
  value: V;
}

/**
 * A cache whose entries are only as good as the team sequence they were loaded at.
 * `get(key, seq, load)` answers from memory when the entry was loaded at `seq` or later;
 * otherwise it loads (single flight per key: concurrent callers share a load that is at
 * least as recent as they need) and remembers the result at `seq`.
 *
 * Correct because `seq` is read from PostgreSQL *before* `load` starts: the load then sees
 * every change numbered `seq` or less. Bounded by `max` entries (least recently used go);
 * `ttlMs` only bounds memory held by idle keys — consistency never depends on it.
 *
 * Entries live in lru-cache; loads in flight are tracked here, not with its `fetchMethod`:
 * `fetch` hands every caller the load already in flight for a key (even with
 * `forceRefresh`), while a caller that read a newer `seq` than that load needs its own.
 */
export class SeqCache<K extends string, V> {
  private readonly entries: LRUCache<K, Entry<V>>;
  private readonly loading = new Map<K, { seq: number; promise: Promise<V> }>();
  /** Loads performed (observable by tests). */
  loads = 0;

  constructor(options: { max: number; ttlMs?: number }) {
    this.entries = new LRUCache<K, Entry<V>>({ max: options.max, ...(options.ttlMs ? { ttl: options.ttlMs } : {}) });
  }

  async get(key: K, seq: number, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.seq >= seq) return hit.value;
    const pending = this.loading.get(key);
    if (pending && pending.seq >= seq) return pending.promise;
    this.loads++;
    const promise = load().then((value) => {
      const current = this.entries.get(key);
      // A slower, older load must not replace a newer entry.
      if (!current || current.seq <= seq) this.entries.set(key, { seq, value });
      return value;
    });
    const flight = { seq, promise };
    this.loading.set(key, flight);
    void promise
      .finally(() => {
        if (this.loading.get(key) === flight) this.loading.delete(key);
      })
      .catch(() => undefined);
    return promise;
  }

  /** The entry if it is at least as recent as `seq`, without loading. */
  peek(key: K, seq: number): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.seq >= seq ? hit.value : undefined;
  }

  set(key: K, seq: number, value: V): void {
    const current = this.entries.get(key);
    if (!current || current.seq <= seq) this.entries.set(key, { seq, value });
  }

  delete(key: K): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
