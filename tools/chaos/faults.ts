import type { RelayServiceName } from '@relay/local-stack';
import { makeContactRef, makeEnvelope } from '@relay/testing';
import { judge, orderInversions, type HistoryEvent, type Verdict } from './checker';
import { acked, startLoad, type LoadOptions } from './ledger';
import type { FaultProxy, ProxyMode } from './proxy';
import type { ReceiverMode } from './receiver';
import type { ChaosStack, RowFixture } from './stack';

export interface FaultResult {
  verdict: Verdict;
  /** Seconds from the end of the fault (or the kill) until an event acknowledged after it went end to end. */
  recoveryS: number;
  /** Other invariant breaches (E, D, B…), each one line; any makes the row FAIL. */
  failures: string[];
  notes: string[];
}

export interface Fault {
  name: string;
  /** Row(s) of the matrix in RELIABILITY.md. */
  rows: string;
  /** Cannot run on one machine: printed as SKIP with this reason. */
  skip?: string;
  run(stack: ChaosStack): Promise<FaultResult>;
}

/**
 * The load of every row: ~5 events/s over HTTP and ~2/s straight to Kafka, each owing three
 * webhooks. Modest on purpose: the run checks invariants, not throughput (the bench does
 * that), and on a shared 2-core machine a heavier load only measures the backlog.
 */
export const LOAD: Partial<LoadOptions> = { httpConcurrency: 1, httpPauseMs: 150, kafkaBatch: 2, kafkaPauseMs: 1000 };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STAGES: RelayServiceName[] = ['validator', 'matcher', 'dispatcher', 'history'];

/** Every history row of one event type, through the public API (paged), and how many event ids appear more than once. */
async function historyOf(stack: ChaosStack, codeName: string): Promise<{ rows: Map<string, HistoryEvent>; duplicates: number }> {
  const rows = new Map<string, HistoryEvent>();
  let duplicates = 0;
  let cursor: string | null = null;
  do {
    const page: { status: number; body: { data: HistoryEvent[]; next_cursor: string | null } } = await stack.relay.api(
      'GET',
      `/v1/event-histories?limit=500&code_name=${codeName}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (page.status !== 200) throw new Error(`history answered ${page.status}`);
    for (const row of page.body.data) {
      if (rows.has(row.event_id)) duplicates++;
      rows.set(row.event_id, row);
    }
    cursor = page.body.next_cursor;
  } while (cursor);
  return { rows, duplicates };
}

/** Runs the checker until the row is settled (nothing lost or undelivered) or the deadline passes. */
export async function settle(
  stack: ChaosStack,
  fx: RowFixture,
  deadlineMs = 120000,
): Promise<{ verdict: Verdict; historyDuplicates: number; rows: Map<string, HistoryEvent> }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    let verdict: Verdict | undefined;
    let historyDuplicates = 0;
    let rows = new Map<string, HistoryEvent>();
    try {
      const history = await historyOf(stack, fx.codeName);
      historyDuplicates = history.duplicates;
      rows = history.rows;
      verdict = judge({
        entries: stack.ledger.of(fx.row),
        history: history.rows,
        deadLettered: stack.deadLettered,
        requests: stack.receiver.log,
        owed: fx.owed,
      });
    } catch {
      // history not answering (yet): try again until the deadline
    }
    if (verdict && ((verdict.lost === 0 && verdict.undelivered === 0) || Date.now() > deadline)) return { verdict, historyDuplicates, rows };
    if (!verdict && Date.now() > deadline) {
      const acked = stack.ledger.of(fx.row).length;
      // Nothing could be checked: every acknowledged event counts as lost until history answers.
      return {
        verdict: {
          acked,
          lost: acked,
          undelivered: 0,
          foreignDupes: 0,
          sameIdDupes: 0,
          examples: { lost: ['(the history API never answered: nothing could be checked)'], undelivered: [], foreignDupes: [] },
        },
        historyDuplicates,
        rows,
      };
    }
    await sleep(1000);
  }
}

/**
 * After a fault: one HTTP event (retried until acknowledged) must go end to end — in
 * history and delivered to every endpoint that owes it. Returns when it has, in seconds
 * since `from`.
 */
export async function probe(stack: ChaosStack, fx: RowFixture, from: number, deadlineMs = 120000, owed = fx.owed): Promise<number> {
  const deadline = from + deadlineMs;
  let eventId: string | undefined;
  while (!eventId) {
    try {
      const res = await fetch(`${stack.relay.gatewayUrl}/v1/events/trigger/${fx.codeName}`, {
        method: 'POST',
        headers: { 'x-api-key': stack.relay.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ contact: { email: 'c0@example.com' }, metaData: { n: -1 } }),
        signal: AbortSignal.timeout(5000),
      });
      const body = (await res.json().catch(() => ({}))) as { event_id?: string };
      if (res.status === 202 && body.event_id) {
        eventId = body.event_id;
        stack.ledger.add({ eventId, row: fx.row, via: 'http', contact: 0, owesWebhooks: true });
      }
    } catch {
      // gateway restarting
    }
    if (!eventId) {
      if (Date.now() > deadline) return Infinity;
      await sleep(250);
    }
  }
  for (;;) {
    const delivered = owed.every((o) =>
      stack.receiver.log.some((r) => r.path === o.path && r.status >= 200 && r.status < 300 && r.items.some((i) => i.eventId === eventId && i.kind === o.kind)),
    );
    if (delivered) {
      const res = await stack.relay.api('GET', `/v1/event-histories/${eventId}`).catch(() => ({ status: 0 }));
      if (res.status === 200) return (Date.now() - from) / 1000;
    }
    if (Date.now() > deadline) return Infinity;
    await sleep(200);
  }
}

export interface LoadFaultOptions {
  load?: Partial<LoadOptions>;
  fixture?: { steadyConcurrency?: number; primaryTimeoutMs?: number };
  warmMs?: number;
  /** Injects the fault and resolves when it is over (healed, or the process killed). */
  inject(stack: ChaosStack, fx: RowFixture): Promise<void>;
  /** Load goes on this long after the fault. */
  afterMs?: number;
  /** Refusals allowed during the fault: 503 + Retry-After are always fine; this allows none of the others. */
  explicit?: boolean;
  /** Deliveries the probe waits for (default: all of the row's). */
  probeOwed?: (fx: RowFixture) => RowFixture['owed'];
  check?(stack: ChaosStack, fx: RowFixture, result: FaultResult): Promise<void>;
  settleMs?: number;
}

/** The run's steady HTTP + direct-Kafka load on one row's fixture, recorded in the stack's ledger. */
export function startRowLoad(stack: ChaosStack, fx: RowFixture, overrides: Partial<LoadOptions> = {}): ReturnType<typeof startLoad> {
  const { relay } = stack;
  const target = {
    gatewayUrl: relay.gatewayUrl,
    apiKey: relay.apiKey,
    teamId: relay.teamId,
    contacts: stack.contacts,
    producer: stack.producer,
    registry: stack.registry,
  };
  return startLoad(target, stack.ledger, { row: fx.row, codeName: fx.codeName, ...LOAD, ...overrides });
}

/** The common shape of a row: load, fault, probe for recovery, more load, then the ledger check. */
export async function underLoad(stack: ChaosStack, name: string, options: LoadFaultOptions): Promise<FaultResult> {
  const fx = await stack.fixture(name, options.fixture);
  const load = startRowLoad(stack, fx, options.load);
  const failures: string[] = [];
  const notes: string[] = [];
  let recoveryS = Infinity;
  try {
    await sleep(options.warmMs ?? 2000);
    await options.inject(stack, fx);
    const healedAt = Date.now();
    recoveryS = await probe(stack, fx, healedAt, 120000, options.probeOwed?.(fx));
    await sleep(options.afterMs ?? 1000);
  } finally {
    await load.stop();
  }
  const { verdict, historyDuplicates, rows } = await settle(stack, fx, options.settleMs);
  const result: FaultResult = { verdict, recoveryS, failures, notes };
  if (!Number.isFinite(recoveryS)) failures.push('no event went end to end within 120 s of the fault');
  if (historyDuplicates > 0) failures.push(`D: ${historyDuplicates} events have more than one history row`);
  const refusals = stack.ledger.refusalsOf(name);
  const statuses = Object.entries(refusals.byStatus)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  if (statuses || refusals.noAnswer || refusals.kafkaUnacked) {
    notes.push(`refused: ${statuses || 'none'}; unanswered HTTP ${refusals.noAnswer}; direct produces not acked ${refusals.kafkaUnacked}`);
  }
  if (options.explicit !== false && (refusals.bare > 0 || refusals.noAnswer > 0)) {
    failures.push(`E: ${refusals.bare} answers were a 5xx other than 503 + Retry-After, ${refusals.noAnswer} requests got no answer within 15 s`);
  }
  if (verdict.sameIdDupes) notes.push(`${verdict.sameIdDupes} redeliveries under the same webhook-id (allowed)`);
  for (const [kind, ids] of Object.entries(verdict.examples)) if (ids.length) notes.push(`${kind} e.g. ${ids.join(', ')}`);
  if (verdict.undelivered > 0) {
    // What history says of the first undelivered event: the stage it stopped at.
    const eventId = verdict.examples.undelivered[0]?.split('@')[0] ?? '';
    const row = rows.get(eventId);
    const entry = stack.ledger.of(name).find((e) => e.eventId === eventId);
    notes.push(
      `history of ${eventId} (${entry?.via ?? '?'}, acked ${entry ? new Date(entry.ackedAt).toISOString() : '?'}): ${row ? JSON.stringify({ status: row.status, deliveries: row.deliveries }) : 'none'}`,
    );
  }
  await options.check?.(stack, fx, result);
  return result;
}

const receiverFault = (
  name: string,
  rows: string,
  mode: (fx: RowFixture, stack: ChaosStack) => ReceiverMode,
  faultMs = 6000,
  extra: Partial<LoadFaultOptions> = {},
): Fault => ({
  name,
  rows,
  run: (stack) =>
    underLoad(stack, name, {
      fixture: { primaryTimeoutMs: 1000 },
      ...extra,
      async inject(s, fx) {
        s.receiver.set(fx.primary.path, mode(fx, s));
        await sleep(faultMs);
        s.receiver.set(fx.primary.path, { kind: 'ok' });
      },
    }),
});

/** A dependency behind its proxy misbehaves for `ms` under load. */
const proxyFault = (name: string, rows: string, proxies: (s: ChaosStack) => FaultProxy[], mode: ProxyMode, ms: number): Fault => ({
  name,
  rows,
  run: (stack) =>
    underLoad(stack, name, {
      async inject(s) {
        for (const p of proxies(s)) p.set(mode);
        await sleep(ms);
        for (const p of proxies(s)) p.set({ kind: 'pass' });
      },
    }),
});

/** SIGSTOP, then SIGCONT `ms` later: a frozen process (GC pause, stalled VM) that comes back. */
async function freeze(pid: number, ms: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await sleep(ms);
  process.kill(pid, 'SIGCONT');
}

const killStage = (service: RelayServiceName, rows: string): Fault => ({
  name: `kill-${service}`,
  rows,
  run: (stack) =>
    underLoad(stack, `kill-${service}`, {
      // While the gateway itself is down, requests fail to connect: that is the fault, not an E breach.
      explicit: service !== 'gateway',
      async inject(s) {
        await waitWarm(s, service);
        await s.relay.services.kill(service, 'SIGKILL');
      },
    }),
});

/** The supervisor's standby of a service has loaded its modules (as on a stack that has run a while). */
export async function waitWarm(stack: ChaosStack, service: RelayServiceName): Promise<void> {
  const deadline = Date.now() + 60000;
  while (!stack.relay.services.warm(service) && Date.now() < deadline) await sleep(100);
}

function pidOf(stack: ChaosStack, service: RelayServiceName): number {
  const s = stack.relay.services.services.find((x) => x.name === service);
  if (!s) throw new Error(`${service} not running`);
  return s.pid;
}

export async function produceRaw(stack: ChaosStack, row: string, key: string, value: Buffer): Promise<void> {
  const meta = acked(await stack.producer.send({ topic: stack.registry.topic('ingested'), acks: -1, messages: [{ key, value }] }));
  stack.ledger.add({
    eventId: `poison-${meta.partition}-${meta.baseOffset}`,
    row,
    via: 'kafka',
    contact: 0,
    owesWebhooks: false,
    partition: meta.partition,
    offset: meta.baseOffset,
  });
}

export const FAULTS: Fault[] = [
  {
    name: 'broker-kill',
    rows: '1',
    run: (stack) =>
      underLoad(stack, 'broker-kill', {
        async inject(s) {
          await s.restartBroker();
        },
        check: async (_s, _fx, r) => {
          r.notes.push(
            process.env.RELAY_CHAOS_KAFKA_NODES === '3'
              ? 'three nodes (replication factor 3, min.insync.replicas 2): one node SIGKILLed and restarted under load'
              : 'one broker: a SIGKILL keeps the page cache, so this tests clients and the gateway, not replication (RELAY_CHAOS_KAFKA_NODES=3 runs the row on three nodes)',
          );
        },
      }),
  },
  {
    name: 'broker-freeze',
    rows: '2',
    run: (stack) =>
      underLoad(stack, 'broker-freeze', {
        async inject(s) {
          await freeze(s.kafka().nodes[0]?.pid ?? s.kafka().pid, 10000);
        },
      }),
  },
  {
    name: 'dispatcher-dies-after-send',
    rows: '3',
    run: (stack) =>
      underLoad(stack, 'dispatcher-dies-after-send', {
        async inject(s, fx) {
          await waitWarm(s, 'dispatcher');
          let fired!: () => void;
          const done = new Promise<void>((r) => (fired = r));
          // The next request to the primary endpoint: SIGKILL the dispatcher once the request
          // is in (the side effect happened), before it can record the attempt.
          s.receiver.set(fx.primary.path, {
            kind: 'hook',
            action: async () => {
              await s.relay.services.kill('dispatcher', 'SIGKILL');
              fired();
            },
          });
          await done;
        },
        check: async (_s, _fx, r) => {
          if (r.verdict.sameIdDupes === 0) r.notes.push('no redelivery seen: the dispatcher had recorded the attempt before it died');
        },
      }),
  },
  ...STAGES.map((s) => killStage(s, s === 'history' ? '4, 12' : '4')),
  killStage('gateway', '4'),
  {
    name: 'kill-loop',
    rows: '4',
    run: (stack) =>
      underLoad(stack, 'kill-loop', {
        async inject(s) {
          const until = Date.now() + 30000;
          let i = 0;
          while (Date.now() < until) {
            const service = STAGES[Math.floor(Math.random() * STAGES.length)] ?? 'validator';
            await s.relay.services.kill(service, 'SIGKILL');
            i++;
            await sleep(2000 + Math.random() * 4000);
          }
          // Wait for the last restarts before the recovery clock starts.
          for (const service of STAGES) await s.relay.services.waitReady(service, 60000).catch(() => undefined);
          void i;
        },
      }),
  },
  {
    name: 'stage-frozen',
    rows: '5',
    run: (stack) =>
      underLoad(stack, 'stage-frozen', {
        async inject(s) {
          // Longer than the 6 s session: the group moves on without it, and the thawed
          // process must notice it was fenced (its commits fail) and rejoin.
          await freeze(pidOf(s, 'matcher'), 10000);
        },
      }),
  },
  {
    name: 'poison',
    rows: '6',
    run: (stack) =>
      underLoad(stack, 'poison', {
        async inject(s, fx) {
          const key = `${s.relay.teamId}:contact:email:c1@example.com`;
          await produceRaw(s, fx.row, key, Buffer.from('definitely not avro'));
          // The wire format with a known schema id and a truncated body.
          const good = await s.registry.encode(
            'ingested',
            makeEnvelope({ team_id: s.relay.teamId, code_name: fx.codeName, contact: makeContactRef({ email: 'c1@example.com' }), meta_data_json: '{"n":0}' }),
          );
          await produceRaw(s, fx.row, key, good.subarray(0, 12));
        },
        check: async (s, fx, r) => {
          const poison = s.ledger.of(fx.row).filter((e) => !e.owesWebhooks);
          const reasons = poison.map((e) => s.dlqReasons.get(`${e.partition}:${e.offset}`) ?? 'not dead-lettered');
          r.notes.push(`DLQ: ${reasons.join('; ')}`);
        },
      }),
  },
  {
    name: 'duplicates-and-replay',
    rows: '7',
    run: (stack) =>
      underLoad(stack, 'duplicates-and-replay', {
        load: { kafkaBatch: 0 },
        async inject(s, fx) {
          // The same Idempotency-Key sent 6 times at once, 10 keys: one event id per key.
          const failures: string[] = [];
          for (let k = 0; k < 10; k++) {
            const key = `chaos-${fx.codeName}-${k}`;
            const answers = await Promise.all(
              Array.from({ length: 6 }, () =>
                fetch(`${s.relay.gatewayUrl}/v1/events/trigger/${fx.codeName}`, {
                  method: 'POST',
                  headers: { 'x-api-key': s.relay.apiKey, 'content-type': 'application/json', 'idempotency-key': key },
                  body: JSON.stringify({ contact: { email: 'c2@example.com' }, metaData: { n: k } }),
                }).then(async (res) => ({ status: res.status, id: ((await res.json()) as { event_id?: string }).event_id })),
              ),
            );
            const ids = new Set(answers.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.id));
            for (const id of ids) if (id) s.ledger.add({ eventId: id, row: fx.row, via: 'http', contact: 2, owesWebhooks: true });
            if (ids.size > 1) failures.push(`key ${k}: ${ids.size} event ids`);
          }
          dupFailures.set(fx.row, failures);
          // Topic replay: the same envelopes (same event ids) produced twice, seconds apart.
          const envelopes = Array.from({ length: 20 }, (_, i) =>
            makeEnvelope({
              team_id: s.relay.teamId,
              code_name: fx.codeName,
              contact: makeContactRef({ email: `c${i % 10}@example.com` }),
              meta_data_json: JSON.stringify({ n: 1000 + i }),
            }),
          );
          for (let round = 0; round < 2; round++) {
            for (const [i, e] of envelopes.entries()) {
              const meta = acked(
                await s.producer.send({
                  topic: s.registry.topic('ingested'),
                  acks: -1,
                  messages: [{ key: `${s.relay.teamId}:contact:email:c${i % 10}@example.com`, value: await s.registry.encode('ingested', e) }],
                }),
              );
              if (round === 0)
                s.ledger.add({
                  eventId: e.event_id,
                  row: fx.row,
                  via: 'kafka',
                  contact: i % 10,
                  owesWebhooks: true,
                  partition: meta.partition,
                  offset: meta.baseOffset,
                });
            }
            await sleep(4000);
          }
        },
        check: async (_s, fx, r) => {
          for (const f of dupFailures.get(fx.row) ?? []) r.failures.push(`D: Idempotency-Key ${f}`);
        },
      }),
  },
  receiverFault('receiver-5xx', '8', () => ({ kind: 'status', status: 503 })),
  receiverFault('receiver-429', '8', () => ({ kind: 'status', status: 429, headers: { 'retry-after': '2' } })),
  receiverFault('receiver-timeout', '8, 9', () => ({ kind: 'sleep', ms: 2500 })),
  receiverFault('receiver-reset', '8', () => ({ kind: 'reset' })),
  receiverFault('receiver-huge-body', '9', () => ({ kind: 'huge', bytes: 10 * 1024 * 1024 }), 4000),
  receiverFault(
    'receiver-redirect',
    '9',
    (fx, s) => ({ kind: 'status', status: 302, headers: { location: `${s.receiver.baseUrl}${fx.primary.path}/redirected` } }),
    6000,
    {
      check: async (s, fx, r) => {
        const followed = s.receiver.log.filter((q) => q.path === `${fx.primary.path}/redirected`).length;
        if (followed) r.failures.push(`3xx followed ${followed} times`);
      },
    },
  ),
  {
    name: 'receiver-410',
    rows: '8',
    run: (stack) =>
      underLoad(stack, 'receiver-410', {
        // The primary answers 410 for good: its deliveries must end `failed` with a reason and the endpoint be disabled; the steady one is unaffected.
        probeOwed: (fx) => fx.owed.filter((o) => o.path !== fx.primary.path),
        async inject(s, fx) {
          // Events matched once the endpoint is disabled owe it nothing; 5 s of slack covers
          // events acknowledged before the switch that the matcher handles after the disable.
          for (const owed of fx.owed) if (owed.path === fx.primary.path) owed.skippableFrom = Date.now() - 5000;
          s.receiver.set(fx.primary.path, { kind: 'status', status: 410 });
          await sleep(6000);
        },
        check: async (s, fx, r) => {
          const endpoint = await s.relay.api('GET', `/v1/webhooks/${fx.primary.id}`);
          const status = (endpoint.body as { data?: { status?: string } }).data?.status ?? (endpoint.body as { status?: string }).status;
          if (status === 'enabled') r.failures.push('410: the endpoint is still enabled');
          const after410 = s.receiver.log.filter((q) => q.path === fx.primary.path).length;
          r.notes.push(`${after410} requests reached the 410 endpoint; endpoint status ${status}`);
        },
      }),
  },
  proxyFault('registry-down', '11', (s) => [s.registryProxy], { kind: 'down' }, 10000),
  {
    name: 'pg-terminate-backends',
    rows: '13',
    run: (stack) =>
      underLoad(stack, 'pg-terminate-backends', {
        async inject(s, fx) {
          let killed = 0;
          for (let i = 0; i < 3; i++) {
            killed += await s.terminatePgBackends();
            await sleep(1500);
          }
          pgKilled.set(fx.row, killed);
        },
        check: async (_s, fx, r) => {
          r.notes.push(`${pgKilled.get(fx.row)} backends of the pipeline's database terminated (3 rounds)`);
        },
      }),
  },
  proxyFault('pg-down', '13', (s) => [s.pgProxy], { kind: 'down' }, 8000),
  proxyFault('latency', '14', (s) => [s.pgProxy, s.registryProxy], { kind: 'delay', delayMs: 500, jitterMs: 200 }, 15000),
];

const dupFailures = new Map<string, string[]>();
const pgKilled = new Map<string, number>();

export { orderInversions };
