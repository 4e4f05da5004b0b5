/**
 * `npm run bench`: throughput and latency of the pipeline against the raw ceilings of this
 * machine, in one run, with one HTTP load generator (autocannon):
 *
 *  1. Kafka + Apicurio on free ports (startTestStack).
 *  2. Ceilings: bare Fastify under the same autocannon load; Kafka's ProducerPerformance
 *     and ConsumerPerformance on a fresh 6-partition topic.
 *  3. The pipeline (startRelay: five services, fresh topics, test database, chDB dir).
 *  4. HTTP ingest: seed 000 trigger bodies at full speed → requests/s and accept latency;
 *     then accept → history: every accepted event is waited for in history.
 *  5. HTTP at a quarter of that rate: accept → history latency without a backlog.
 *  6. Straight to Kafka: N envelopes (Avro, registry) with kafkajs → producer rate and
 *     first produce → all in history.
 *  7. Summary table, `metric <name> <value>` and `ratio <name> <value>` lines.
 *
 * Everything it starts is stopped on exit, failure or Ctrl-C. Settings: BENCH_* variables
 * (see docs/benchmarks.md).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type Admin, type Message } from 'kafkajs';
import { v7 as uuidv7 } from 'uuid';
import { gatewayConfigSchema, historyConfigSchema } from '@relay/config';
import { ContractRegistry } from '@relay/contracts';
import { SERVICE_NAMES, ensureKafka, getFreePort, spawnManaged, tailFile, type ManagedProcess } from '@relay/local-stack';
import {
  DEFAULT_PG_URL,
  createTestTopic,
  freshTopicName,
  makeContactRef,
  makeEnvelope,
  startRelay,
  startTestStack,
  storePurchaseType,
  sumOf,
  type RelayUnderTest,
  type Sample,
} from '@relay/testing';
import { runConsumerPerformance, runProducerPerformance, type ConsumerPerfResult, type ProducerPerfResult } from './kafka-perf';
import { runLoad, stopLoad, type LoadResult } from './load';
import { RelayStartGuard } from './relay-start-guard';
import {
  coresBetween,
  cpuMsPer,
  cpuSnapshot,
  endToEndMs,
  formatCores,
  memoryOf,
  formatCpuMs,
  machineBusyCores,
  percentiles,
  pipelineBacklog,
  postgresCpuSeconds,
  readHistoryRows,
  scrape,
  stageDelta,
  type CoreUse,
  type CpuSnapshot,
  type Percentiles,
  type StageDelta,
} from './observe';

const ROOT = path.resolve(__dirname, '..', '..');

// ---- settings ---------------------------------------------------------------------------

function setting(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

const S = {
  connections: setting('BENCH_CONNECTIONS', 50),
  durationS: setting('BENCH_DURATION_S', 15),
  warmupS: setting('BENCH_WARMUP_S', 3, 0),
  pacedS: setting('BENCH_PACED_S', 10, 0),
  pacedFraction: setting('BENCH_PACED_FRACTION', 0.25, 0.01),
  subscriptionEvents: setting('BENCH_SUBSCRIPTION_EVENTS', 200, 0),
  kafkaEvents: setting('BENCH_KAFKA_EVENTS', 50000),
  kafkaBatch: setting('BENCH_KAFKA_BATCH', 1000),
  kafkaInFlight: setting('BENCH_KAFKA_IN_FLIGHT', 4),
  perfRecords: setting('BENCH_PERF_RECORDS', 200000),
  recordSize: setting('BENCH_RECORD_SIZE', 350),
  drainTimeoutS: setting('BENCH_DRAIN_TIMEOUT_S', 240),
};

// ---- output -----------------------------------------------------------------------------

const startedAt = performance.now();
const elapsed = () => ((performance.now() - startedAt) / 1000).toFixed(1);
const say = (line: string) => console.log(`[bench ${elapsed().padStart(5)} s] ${line}`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

// ---- cleanup ----------------------------------------------------------------------------

const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
const onCleanup = (what: string, run: () => Promise<unknown>) => cleanups.push({ what, run });
let cleaning: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    stopLoad();
    for (const { what, run } of cleanups.reverse()) {
      say(`cleanup: ${what}`);
      try {
        await run();
      } catch (error) {
        say(`cleanup: ${what} failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

let signalled = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    signalled++;
    if (signalled > 1) {
      say(`${sig} again: exiting without waiting for the cleanup (child watchdogs stop the JVMs)`);
      process.exit(130);
    }
    say(`${sig}: stopping everything the benchmark started`);
    void cleanUp().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

// ---- phases -----------------------------------------------------------------------------

const triggerBody = (prefix: string) => (n: number) => ({
  contact: { email: `${prefix}-${n}@bench.example.com` },
  metaData: { order_id: n, total_amount: 89.5, store_code: 'PAR-13' },
});

const storePurchase = storePurchaseType();

async function waitHttp(url: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.hasExited()) throw new Error(`${proc.name} exited before answering:\n${tailFile(proc.logFile)}`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${tailFile(proc.logFile)}`);
    await sleep(100);
  }
}

interface CeilingResults {
  fastify: LoadResult;
  fastifyCores: CoreUse;
  /** CPU ms per request of the Fastify process. */
  fastifyCpuMs: number;
  producerPerf: ProducerPerfResult;
  producerPerfCores: CoreUse;
  producerPerfCpuMs: Map<string, number>;
  consumerPerf: ConsumerPerfResult;
  consumerPerfCores: CoreUse;
  consumerPerfCpuMs: Map<string, number>;
}

interface PipelinePhase {
  title: string;
  /** Events the pipeline took in (gateway 202s, or records the producer had acknowledged). */
  accepted: number;
  /** From the first request / produce to the last event in history. */
  totalS: number;
  /** From the end of the load / last acknowledged produce to the last event in history. */
  drainS: number;
  inHistory: number;
  /** Rows whose latest status is past validation (validated, no_target, matched, …): not rejected. */
  passed: number;
  /** Latest status → rows (e.g. no_target when no scenario listens: the matcher's verdict). */
  statuses: Record<string, number>;
  endToEndMs: Percentiles;
  coresDuringLoad: CoreUse;
  coresDuringDrain: CoreUse | null;
  /** CPU ms per event of each process over load + drain (contention does not change it much). */
  cpuMsPerEvent: Map<string, number>;
  /** The same summed over the pipeline's processes (services, Kafka, Apicurio; not the load generator). */
  pipelineCpuMsPerEvent: number;
  validator: StageDelta;
  matcher: StageDelta;
  history: StageDelta;
  /** `events` rows history wrote per event (1 when every event is written once, with its final status). */
  historyRowsPerEvent: number;
}

/**
 * Waits until the pipeline is quiet: every consumer group of its stages has committed up
 * to the end of every topic it reads, twice in a row with the same end offsets. Stages
 * commit after their outputs (and history after its rows) are durable, so by then every
 * accepted event has its final row in history. Resolves with the time it was first seen.
 */
async function waitForQuiet(p: Pipeline, label: string): Promise<number> {
  const deadline = performance.now() + S.drainTimeoutS * 1000;
  let lastLog = performance.now();
  let quietSince: { at: number; ends: string } | undefined;
  for (;;) {
    const backlog = await pipelineBacklog(p.admin, p.groupPrefix);
    const now = performance.now();
    if (backlog.stable && backlog.total === 0) {
      if (quietSince && quietSince.ends === backlog.ends) return quietSince.at;
      quietSince = { at: now, ends: backlog.ends };
    } else {
      quietSince = undefined;
    }
    if (now > deadline) throw new Error(`${label}: pipeline still has ${backlog.total} messages to process after ${S.drainTimeoutS} s`);
    if (now - lastLog >= 5000) {
      const groups = Object.entries(backlog.byGroup)
        .map(([g, n]) => `${g} ${n}`)
        .join(', ');
      say(`  ${label}: backlog ${backlog.total} (${groups}${backlog.stable ? '' : '; a group is rebalancing'})`);
      lastLog = now;
    }
    await sleep(200);
  }
}

/** A counter's value once it has not moved for a second (at most 15 s of waiting). */
async function settledCounter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  let value = sumOf(await scrape(url), name, labels);
  let stillSince = performance.now();
  const deadline = performance.now() + 15000;
  while (performance.now() - stillSince < 1000 && performance.now() < deadline) {
    await sleep(200);
    const next = sumOf(await scrape(url), name, labels);
    if (next !== value) {
      value = next;
      stillSince = performance.now();
    }
  }
  return value;
}

async function runCeilings(workDir: string, brokers: string[], classpath: string, kafkaPid: number): Promise<CeilingResults> {
  // -- bare Fastify, same autocannon settings as the gateway run
  const port = await getFreePort();
  const marker = `relay-bench-fastify:${randomUUID()}`;
  say(`ceiling 1/3: bare Fastify hello-world on :${port} (autocannon, ${S.connections} connections, ${S.durationS} s)`);
  const server = await spawnManaged({
    name: 'fastify-ceiling',
    command: process.execPath,
    args: ['-r', path.join(ROOT, 'tools', 'register.js'), path.join(__dirname, 'fastify-server.ts'), String(port), marker],
    marker,
    cwd: ROOT,
    logFile: path.join(workDir, 'fastify-ceiling.log'),
    stateDir: path.join(workDir, 'pids'),
    stopTimeoutMs: 5000,
  });
  onCleanup('fastify ceiling process', () => server.stop());
  await waitHttp(`http://127.0.0.1:${port}/health`, server, 30000);
  const load = {
    url: `http://127.0.0.1:${port}/v1/events/trigger/store_purchase`,
    connections: S.connections,
    headers: { 'x-api-key': 'not-checked' },
    body: triggerBody('fastify'),
    log: say,
  };
  if (S.warmupS > 0) await runLoad({ ...load, durationS: S.warmupS, title: 'fastify warmup' });
  const pids = new Map([
    ['fastify', server.pid],
    ['bench (autocannon)', process.pid],
  ]);
  let cpu0 = cpuSnapshot(pids);
  const fastify = await runLoad({ ...load, durationS: S.durationS, title: 'fastify ceiling' });
  const cpu1 = cpuSnapshot(pids);
  const fastifyCores = coresBetween(cpu0, cpu1);
  const fastifyCpuMs = cpuMsPer(cpu0, cpu1, fastify.requests).get('fastify') ?? Number.NaN;
  await server.stop();
  say(`  fastify: ${fmt(fastify.requestsPerSec)} req/s, p50 ${fastify.latencyMs.p50} ms, p99 ${fastify.latencyMs.p99} ms, non-2xx ${fastify.non2xx}`);
  say(`  cores: ${formatCores(fastifyCores)}; fastify CPU ${fmt(fastifyCpuMs, 3)} ms per request`);

  // -- the broker's own tools on a fresh 6-partition topic
  const topic = freshTopicName('bench-perf');
  await createTestTopic(brokers, topic, 6);
  const kafkaPids = new Map([['kafka', kafkaPid]]);
  const perf = {
    classpath,
    workDir,
    brokers: brokers.join(','),
    topic,
    onStart: (proc: ManagedProcess) => onCleanup(`${proc.name} JVM`, () => proc.stop()),
  };
  say(`ceiling 2/3: ProducerPerformance, ${S.perfRecords} records of ${S.recordSize} B, acks=all, unthrottled, topic ${topic} (6 partitions)`);
  cpu0 = cpuSnapshot(kafkaPids, 'producer-perf JVM');
  const producerPerf = await runProducerPerformance({ ...perf, records: S.perfRecords, recordSize: S.recordSize });
  let cpu2 = cpuSnapshot(kafkaPids, 'producer-perf JVM');
  const producerPerfCores = coresBetween(cpu0, cpu2);
  const producerPerfCpuMs = cpuMsPer(cpu0, cpu2, producerPerf.records);
  say(
    `  ProducerPerformance: ${fmt(producerPerf.recordsPerSec)} records/s (${fmt(producerPerf.mbPerSec, 2)} MB/s), ` +
      `latency avg ${producerPerf.avgLatencyMs} ms, p99 ${producerPerf.p99Ms} ms`,
  );
  say(`  cores: ${formatCores(producerPerfCores)}`);
  say(`ceiling 3/3: ConsumerPerformance, the same ${S.perfRecords} records`);
  cpu0 = cpuSnapshot(kafkaPids, 'consumer-perf JVM');
  const consumerPerf = await runConsumerPerformance({ ...perf, records: S.perfRecords });
  cpu2 = cpuSnapshot(kafkaPids, 'consumer-perf JVM');
  const consumerPerfCores = coresBetween(cpu0, cpu2);
  const consumerPerfCpuMs = cpuMsPer(cpu0, cpu2, consumerPerf.records);
  say(
    `  ConsumerPerformance: ${fmt(consumerPerf.fetchRecordsPerSec)} records/s while fetching (${fmt(consumerPerf.fetchMbPerSec, 2)} MB/s), ` +
      `${fmt(consumerPerf.recordsPerSec)} records/s including the ${consumerPerf.rebalanceMs} ms group join`,
  );
  say(`  cores: ${formatCores(consumerPerfCores)}`);
  return { fastify, fastifyCores, fastifyCpuMs, producerPerf, producerPerfCores, producerPerfCpuMs, consumerPerf, consumerPerfCores, consumerPerfCpuMs };
}

/** ProducerPerformance at the paced rate, configured like the gateway's producer. */
interface PacedProducerCeiling {
  result: ProducerPerfResult;
  rate: number;
  recordSize: number;
  lingerMs: number;
}

/** Bytes of the record the gateway produces for one bench trigger (Avro via the registry; headers not counted). */
async function gatewayRecordBytes(registryUrl: string, p: Pipeline): Promise<number> {
  const registry = new ContractRegistry({ url: registryUrl, topicPrefix: p.relay.topicPrefix });
  await registry.registerAll(['ingested']);
  const envelope = makeEnvelope({
    event_id: uuidv7(),
    team_id: p.teamA.teamId,
    code_name: 'store_purchase',
    received_at: Date.now(),
    contact: makeContactRef({ email: 'HTTP-paced-12345678-1000@bench.example.com' }),
    meta_data_json: JSON.stringify({ order_id: 1000, total_amount: 89.5, store_code: 'PAR-13' }),
  });
  return (await registry.encode('ingested', envelope)).length;
}

/**
 * Kafka's own produce latency at the paced rate: ProducerPerformance throttled to that rate,
 * acks=all and the gateway's linger, records the size of the gateway's, on a fresh topic with
 * as many partitions as the pipeline's. The ceiling of `paced_accept_p99_vs_producer_perf_p99`.
 */
async function pacedProducerCeiling(
  p: Pipeline,
  stack: { brokers: string[]; registryUrl: string },
  perf: { classpath: string; workDir: string },
  rate: number,
): Promise<PacedProducerCeiling> {
  const lingerMs = gatewayConfigSchema.shape.RELAY_PRODUCE_LINGER_MS.parse(process.env.RELAY_PRODUCE_LINGER_MS);
  const recordSize = await gatewayRecordBytes(stack.registryUrl, p);
  const topic = freshTopicName('bench-perf-paced');
  await createTestTopic(stack.brokers, topic, 6);
  const records = Math.max(rate, Math.round(rate * S.pacedS));
  say(`paced ceiling: ProducerPerformance, ${records} records of ${recordSize} B at ${rate} records/s, acks=all, linger.ms ${lingerMs}, topic ${topic}`);
  const result = await runProducerPerformance({
    ...perf,
    name: 'producer-perf-paced',
    brokers: stack.brokers.join(','),
    topic,
    records,
    recordSize,
    throughput: rate,
    lingerMs,
    onStart: (proc: ManagedProcess) => onCleanup(`${proc.name} JVM`, () => proc.stop()),
  });
  say(
    `  ProducerPerformance at ${rate}/s: latency avg ${result.avgLatencyMs} ms, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxLatencyMs} ms`,
  );
  return { result, rate, recordSize, lingerMs };
}

interface Pipeline {
  relay: RelayUnderTest;
  admin: Admin;
  /** Consumer groups of the stages: `<topic prefix>.<stage>`. */
  groupPrefix: string;
  historyUrl: string;
  validatorUrl: string;
  matcherUrl: string;
  teamA: { teamId: string; apiKey: string };
  teamB: { teamId: string; apiKey: string };
  /** Processes whose CPU time is accounted per phase. */
  pids: Map<string, number>;
  /** The control-plane test database and the registry's: their PostgreSQL backends are accounted too. */
  databases: Set<string>;
  subscriptionReceiver: { port: number; arrived: Map<string, number> };
}

async function createEventType(gatewayUrl: string, apiKey: string): Promise<void> {
  const res = await fetch(`${gatewayUrl}/v1/events`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(storePurchase),
  });
  if (res.status !== 201) throw new Error(`POST /v1/events answered ${res.status}: ${await res.text()}`);
}

async function measureRows(
  p: Pipeline,
  team: { teamId: string },
  fromMs: number,
): Promise<Pick<PipelinePhase, 'inHistory' | 'passed' | 'statuses' | 'endToEndMs'>> {
  const rows = await readHistoryRows({ url: p.historyUrl, token: p.relay.historyToken }, { teamId: team.teamId, codeName: 'store_purchase', fromMs });
  const statuses: Record<string, number> = {};
  for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return {
    inHistory: rows.length,
    passed: rows.filter((r) => r.status !== 'rejected').length,
    statuses,
    endToEndMs: percentiles(endToEndMs(rows)),
  };
}

const formatStatuses = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ') || 'none';

async function httpPhase(p: Pipeline, title: string, durationS: number, overallRate?: number): Promise<{ load: LoadResult; phase: PipelinePhase }> {
  const { relay } = p;
  const gwBefore = await scrape(relay.gatewayMetricsUrl);
  const [histBefore, valBefore, matchBefore] = await Promise.all([scrape(p.historyUrl), scrape(p.validatorUrl), scrape(p.matcherUrl)]);
  const cpu0 = snap(p);
  const fromMs = Date.now();
  const t0 = performance.now();
  const load = await runLoad({
    url: `${relay.gatewayUrl}/v1/events/trigger/store_purchase`,
    connections: S.connections,
    durationS,
    headers: { 'x-api-key': p.teamA.apiKey },
    body: triggerBody(`${title.replace(/\W+/g, '-')}-${randomUUID().slice(0, 8)}`),
    ...(overallRate ? { overallRate } : {}),
    log: say,
    title,
  });
  const tLoad = performance.now();
  const cpuLoad = snap(p);
  // Requests in flight when autocannon stopped are still accepted by the gateway (it
  // counts an event once the broker acknowledged it): read the counter once it is still.
  const accepted =
    (await settledCounter(relay.gatewayMetricsUrl, 'relay_events_ingested_total', { outcome: 'accepted' })) -
    sumOf(gwBefore, 'relay_events_ingested_total', { outcome: 'accepted' });
  say(`  ${title}: ${fmt(load.requestsPerSec)} req/s, ${accepted} accepted, non-2xx ${load.non2xx}, errors ${load.errors}; waiting for history`);
  const tDone = await waitForQuiet(p, title);
  const cpuDone = snap(p);
  const [histAfter, valAfter, matchAfter] = await Promise.all([scrape(p.historyUrl), scrape(p.validatorUrl), scrape(p.matcherUrl)]);
  const rows = await measureRows(p, p.teamA, fromMs);
  const phase: PipelinePhase = {
    title,
    accepted,
    totalS: (tDone - t0) / 1000,
    drainS: (tDone - tLoad) / 1000,
    ...rows,
    coresDuringLoad: coresBetween(cpu0, cpuLoad),
    coresDuringDrain: tDone - tLoad > 1000 ? coresBetween(cpuLoad, cpuDone) : null,
    ...cpuPerEvent(cpu0, cpuDone, accepted),
    validator: stageDelta(valBefore, valAfter),
    matcher: stageDelta(matchBefore, matchAfter),
    history: stageDelta(histBefore, histAfter),
    historyRowsPerEvent: eventRowsWritten(histBefore, histAfter) / accepted,
  };
  reportPhase(phase);
  return { load, phase };
}

/**
 * Accept → subscription delivery: events one after another (no backlog) to an endpoint
 * subscribed to their type, on a local receiver; from each 202 to the POST carrying its
 * event_id. Its own event type, so the other phases' figures do not include webhooks.
 */
async function subscriptionPhase(p: Pipeline, events: number, problems: string[]): Promise<Percentiles> {
  const { relay } = p;
  say(`subscription delivery: ${events} events one at a time, accept → webhook POST received`);
  const { port, arrived } = p.subscriptionReceiver;
  const headers = { 'x-api-key': p.teamA.apiKey, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${relay.gatewayUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await post('/v1/events', { ...storePurchase, code_name: 'bench_subscription', name: 'bench subscription' });
  await post('/v1/webhooks', { url: `http://127.0.0.1:${port}/hook`, events: ['bench_subscription'] });
  const accepted = new Map<string, number>();
  for (let i = 0; i < events; i++) {
    const body = await post('/v1/events/trigger/bench_subscription', {
      contact: { email: `sub-${i}@example.com` },
      metaData: { order_id: i, total_amount: 1 },
    });
    accepted.set(body.event_id as string, performance.now());
  }
  const deadline = Date.now() + 60_000;
  while (arrived.size < accepted.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (arrived.size < accepted.size) problems.push(`subscription delivery: ${accepted.size - arrived.size} of ${accepted.size} never arrived`);
  const latencies = [...accepted].flatMap(([id, at]) => (arrived.has(id) ? [(arrived.get(id) as number) - at] : []));
  const pc = percentiles(latencies);
  say(`  subscription delivery: p50 ${fmt(pc.p50)} / p90 ${fmt(pc.p90)} / p99 ${fmt(pc.p99)} ms over ${pc.count} events`);
  return pc;
}

/**
 * The subscription phase's receiver: the arrival time of each event_id. Started before the
 * services, which allow exactly its host:port (RELAY_WEBHOOK_ALLOWED_TARGETS).
 */
async function startSubscriptionReceiver(): Promise<Pipeline['subscriptionReceiver'] & { close(): Promise<void> }> {
  const arrived = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event_id?: string };
      if (body.event_id) arrived.set(body.event_id, at);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    arrived,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const LOAD_GENERATOR = 'bench (load, producer)';
/** The five Relay services, as named in the pipeline's pids. */
const PIPELINE_SERVICES = new Set<string>(SERVICE_NAMES);

const eventRowsWritten = (before: Sample[], after: Sample[]) =>
  sumOf(after, 'relay_history_rows_written_total', { table: 'events' }) - sumOf(before, 'relay_history_rows_written_total', { table: 'events' });

/** CPU of the pipeline's processes, and of the PostgreSQL backends serving its databases. */
const snap = (p: Pipeline) => cpuSnapshot(p.pids, undefined, { postgres: () => postgresCpuSeconds(p.databases) });

function cpuPerEvent(before: CpuSnapshot, after: CpuSnapshot, events: number): Pick<PipelinePhase, 'cpuMsPerEvent' | 'pipelineCpuMsPerEvent'> {
  const cpuMsPerEvent = cpuMsPer(before, after, events);
  let pipelineCpuMsPerEvent = 0;
  for (const [name, ms] of cpuMsPerEvent) if (name !== LOAD_GENERATOR) pipelineCpuMsPerEvent += ms;
  return { cpuMsPerEvent, pipelineCpuMsPerEvent };
}

/** Per stage: batches handled, mean messages per batch, mean time per batch (output durable and offsets committed). */
const formatStages = (ph: PipelinePhase) =>
  (['validator', 'matcher', 'history'] as const)
    .map((stage) => `${stage} ${ph[stage].batches} × ${fmt(ph[stage].avgBatchSize)} msgs / ${fmt(ph[stage].avgBatchMs, 1)} ms`)
    .join(', ');

function reportPhase(phase: PipelinePhase): void {
  const e = phase.endToEndMs;
  say(
    `  ${phase.title}: pipeline quiet ${fmt(phase.drainS, 1)} s after the last accept; ` +
      `${phase.inHistory} rows (${formatStatuses(phase.statuses)}); accept → latest status p50 ${e.p50} ms, p99 ${e.p99} ms, max ${e.max} ms`,
  );
  say(`  cores while loading: ${formatCores(phase.coresDuringLoad)}`);
  if (phase.coresDuringDrain) say(`  cores while draining: ${formatCores(phase.coresDuringDrain)}`);
  say(`  CPU ms per event: ${formatCpuMs(phase.cpuMsPerEvent)}`);
  say(`  batches: ${formatStages(phase)}; history wrote ${fmt(phase.historyRowsPerEvent, 2)} event rows per event`);
}

interface KafkaPhase {
  phase: PipelinePhase;
  producerEventsPerSec: number;
  producerS: number;
  envelopeBytes: number;
}

async function kafkaPhase(p: Pipeline, brokers: string[], registryUrl: string): Promise<KafkaPhase> {
  const registry = new ContractRegistry({ url: registryUrl, topicPrefix: p.relay.topicPrefix });
  await registry.registerAll(['ingested']);
  const topic = registry.topic('ingested');
  const kafka = new Kafka({ clientId: 'relay-bench', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  onCleanup('bench Kafka producer', () => producer.disconnect());
  const teamId = p.teamB.teamId;
  let bytes = 0;

  const batchOf = async (first: number, count: number): Promise<Message[]> => {
    const receivedAt = Date.now();
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const n = first + i;
        const email = `kafka-${n}@bench.example.com`;
        const envelope = makeEnvelope({
          event_id: uuidv7(),
          team_id: teamId,
          received_at: receivedAt,
          contact: makeContactRef({ email }),
          meta_data_json: JSON.stringify({ order_id: n, total_amount: 89.5, store_code: 'PAR-13' }),
        });
        const value = await registry.encode('ingested', envelope);
        bytes += value.length;
        return { key: `${teamId}:contact:email:${email}`, value };
      }),
    );
  };

  /** Produces `total` events, batches encoded just before they are sent, a few batches in flight. */
  const produce = async (first: number, total: number): Promise<void> => {
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    for (let i = 0; i < total && failure === undefined; i += S.kafkaBatch) {
      const messages = await batchOf(first + i, Math.min(S.kafkaBatch, total - i));
      const sending: Promise<void> = producer.send({ topic, acks: -1, messages }).then(
        () => void inFlight.delete(sending),
        (error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
          inFlight.delete(sending);
        },
      );
      inFlight.add(sending);
      if (inFlight.size >= S.kafkaInFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
  };

  // Warm-up: one batch, drained, so metadata and connections exist before the clock starts.
  await produce(1_000_000_000, S.kafkaBatch);
  await waitForQuiet(p, 'kafka warmup');
  bytes = 0;

  const N = S.kafkaEvents;
  say(`direct to Kafka: ${N} envelopes (Avro via the registry) to ${topic}, batches of ${S.kafkaBatch}, ${S.kafkaInFlight} in flight, acks=-1`);
  const [histBefore, valBefore, matchBefore] = await Promise.all([scrape(p.historyUrl), scrape(p.validatorUrl), scrape(p.matcherUrl)]);
  const cpu0 = snap(p);
  const fromMs = Date.now();
  const t0 = performance.now();
  await produce(0, N);
  const tProduced = performance.now();
  const cpuProduced = snap(p);
  const producerS = (tProduced - t0) / 1000;
  say(`  kafkajs producer: ${N} events acknowledged in ${fmt(producerS, 2)} s (${fmt(N / producerS)} events/s); waiting for history`);
  const tDone = await waitForQuiet(p, 'direct to Kafka');
  const cpuDone = snap(p);
  const [histAfter, valAfter, matchAfter] = await Promise.all([scrape(p.historyUrl), scrape(p.validatorUrl), scrape(p.matcherUrl)]);
  const rows = await measureRows(p, p.teamB, fromMs);
  const phase: PipelinePhase = {
    title: 'direct to Kafka',
    accepted: N,
    totalS: (tDone - t0) / 1000,
    drainS: (tDone - tProduced) / 1000,
    ...rows,
    coresDuringLoad: coresBetween(cpu0, cpuProduced),
    coresDuringDrain: tDone - tProduced > 1000 ? coresBetween(cpuProduced, cpuDone) : null,
    ...cpuPerEvent(cpu0, cpuDone, N),
    validator: stageDelta(valBefore, valAfter),
    matcher: stageDelta(matchBefore, matchAfter),
    history: stageDelta(histBefore, histAfter),
    historyRowsPerEvent: eventRowsWritten(histBefore, histAfter) / N,
  };
  reportPhase(phase);
  await producer.disconnect();
  return { phase, producerEventsPerSec: N / producerS, producerS, envelopeBytes: bytes / N };
}

// ---- summary ----------------------------------------------------------------------------

interface Results {
  ceilings: CeilingResults;
  http: { load: LoadResult; phase: PipelinePhase };
  paced: { load: LoadResult; phase: PipelinePhase; rate: number; ceiling: PacedProducerCeiling } | null;
  subscription: Percentiles | null;
  kafka: KafkaPhase;
  /** Resident memory per process: once the pipeline was up, before any load; peak over the whole run; at the end. */
  memory: Map<string, { startMiB: number | undefined; peakMiB: number; nowMiB: number }>;
}

function summarize(r: Results, problems: string[]): void {
  const { fastify, producerPerf: pp, consumerPerf: cp } = r.ceilings;
  const http = r.http;
  const k = r.kafka;
  const lat = (l: { p50: number; p90: number; p99: number; max: number }) => [fmt(l.p50), fmt(l.p90), fmt(l.p99), fmt(l.max)];
  const rows: string[][] = [
    ['measurement', 'throughput', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'notes'],
    [
      'ceiling: bare Fastify POST echo',
      `${fmt(fastify.requestsPerSec)} req/s`,
      ...lat(fastify.latencyMs),
      `${fastify.requests} requests, non-2xx ${fastify.non2xx}`,
    ],
    [
      'HTTP ingest: trigger → 202',
      `${fmt(http.load.requestsPerSec)} req/s`,
      ...lat(http.load.latencyMs),
      `${http.phase.accepted} accepted, non-2xx ${http.load.non2xx}, errors ${http.load.errors}`,
    ],
    [
      'HTTP end to end: accept → history',
      `${fmt(http.phase.accepted / http.phase.totalS)} ev/s`,
      ...lat(http.phase.endToEndMs),
      `${http.phase.passed}/${http.phase.accepted} passed (${formatStatuses(http.phase.statuses)}), drained ${fmt(http.phase.drainS, 1)} s after load`,
    ],
  ];
  if (r.paced) {
    rows.push([
      `HTTP paced (${fmt(r.paced.rate)} req/s): accept → history`,
      `${fmt(r.paced.load.requestsPerSec)} req/s`,
      ...lat(r.paced.phase.endToEndMs),
      `202 p50/p99 ${fmt(r.paced.load.latencyMs.p50)}/${fmt(r.paced.load.latencyMs.p99)} ms, ${r.paced.phase.passed}/${r.paced.phase.accepted} passed`,
    ]);
    const c = r.paced.ceiling;
    rows.push([
      `ceiling: ProducerPerformance at ${fmt(c.rate)} rec/s`,
      `${fmt(c.result.recordsPerSec)} rec/s`,
      fmt(c.result.p50Ms),
      '-',
      fmt(c.result.p99Ms),
      fmt(c.result.maxLatencyMs),
      `${c.recordSize} B (the gateway's record), acks=all, linger.ms ${c.lingerMs}`,
    ]);
  }
  rows.push(
    [
      'ceiling: Kafka ProducerPerformance',
      `${fmt(pp.recordsPerSec)} rec/s`,
      fmt(pp.p50Ms),
      '-',
      fmt(pp.p99Ms),
      fmt(pp.maxLatencyMs),
      `${S.recordSize} B, acks=all, ${fmt(pp.mbPerSec, 2)} MB/s, p95 ${pp.p95Ms} ms`,
    ],
    [
      'ceiling: Kafka ConsumerPerformance',
      `${fmt(cp.fetchRecordsPerSec)} rec/s`,
      '-',
      '-',
      '-',
      '-',
      `${fmt(cp.fetchMbPerSec, 2)} MB/s fetching; ${fmt(cp.recordsPerSec)} rec/s with group join`,
    ],
    [
      'direct Kafka: kafkajs produce (acks=-1)',
      `${fmt(k.producerEventsPerSec)} ev/s`,
      '-',
      '-',
      '-',
      '-',
      `${k.phase.accepted} envelopes, ${fmt(k.envelopeBytes)} B each, ${fmt(k.producerS, 2)} s`,
    ],
    [
      'direct Kafka end to end: → history',
      `${fmt(k.phase.accepted / k.phase.totalS)} ev/s`,
      ...lat(k.phase.endToEndMs),
      `${k.phase.passed}/${k.phase.accepted} passed (${formatStatuses(k.phase.statuses)}), drained ${fmt(k.phase.drainS, 1)} s after producer`,
    ],
  );
  const [header = [], ...body] = rows;
  const widths = header.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 || i === row.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log('');
  console.log(`Relay benchmark: ${S.connections} connections, ${S.durationS} s per HTTP run, ${S.kafkaEvents} direct events, ${cpus().length} cores`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));

  console.log('');
  console.log('Where the CPU went (cores used on average; 2.00 = both cores busy):');
  console.log(`  fastify ceiling:          ${formatCores(r.ceilings.fastifyCores)}`);
  console.log(`  ProducerPerformance:      ${formatCores(r.ceilings.producerPerfCores)}`);
  console.log(`  ConsumerPerformance:      ${formatCores(r.ceilings.consumerPerfCores)}`);
  for (const ph of [http.phase, r.paced?.phase, k.phase]) {
    if (!ph) continue;
    console.log(`  ${`${ph.title}, load:`.padEnd(25)} ${formatCores(ph.coresDuringLoad)}`);
    if (ph.coresDuringDrain) console.log(`  ${`${ph.title}, drain:`.padEnd(25)} ${formatCores(ph.coresDuringDrain)}`);
    console.log(`  ${`${ph.title}, batches:`.padEnd(25)} ${formatStages(ph)}`);
  }

  const cores = cpus().length;
  console.log('');
  console.log('CPU ms per event (CPU time / events over load + drain; far less sensitive to other load on the machine than throughput):');
  console.log(`  fastify ceiling:          fastify ${fmt(r.ceilings.fastifyCpuMs, 3)} per request`);
  console.log(`  ProducerPerformance:      ${formatCpuMs(r.ceilings.producerPerfCpuMs)} per record`);
  console.log(`  ConsumerPerformance:      ${formatCpuMs(r.ceilings.consumerPerfCpuMs)} per record`);
  for (const ph of [http.phase, r.paced?.phase, k.phase]) {
    if (!ph) continue;
    console.log(`  ${`${ph.title}:`.padEnd(25)} ${formatCpuMs(ph.cpuMsPerEvent)}`);
    console.log(
      `  ${''.padEnd(25)} pipeline ${fmt(ph.pipelineCpuMsPerEvent, 3)} ms/event → CPU-bound estimate ~${fmt((cores * 1000) / ph.pipelineCpuMsPerEvent)} events/s on ${cores} idle cores`,
    );
  }

  console.log('');
  console.log("Resident memory (MiB; peak = the kernel's high-water mark over the whole run, all phases):");
  for (const [name, m] of [...r.memory].sort((a, b) => b[1].peakMiB - a[1].peakMiB)) {
    const start = m.startMiB === undefined ? '-' : fmt(m.startMiB);
    console.log(`  ${name.padEnd(12)} before load ${start.padStart(5)}, peak ${fmt(m.peakMiB).padStart(5)}, at the end ${fmt(m.nowMiB).padStart(5)}`);
  }
  const services = [...r.memory].filter(([name]) => PIPELINE_SERVICES.has(name));
  const pipelinePeakMiB = services.reduce((sum, [, m]) => sum + m.peakMiB, 0);
  console.log(`  the ${services.length} pipeline services together: peak ${fmt(pipelinePeakMiB)} (sum of each one's peak)`);

  const metrics: [string, number][] = [
    ['fastify_rps', fastify.requestsPerSec],
    ['fastify_latency_p50_ms', fastify.latencyMs.p50],
    ['fastify_latency_p90_ms', fastify.latencyMs.p90],
    ['fastify_latency_p99_ms', fastify.latencyMs.p99],
    ['fastify_latency_max_ms', fastify.latencyMs.max],
    ['fastify_cpu_ms_per_request', r.ceilings.fastifyCpuMs],
    ['fastify_other_cores', r.ceilings.fastifyCores.others ?? Number.NaN],
    ['http_ingest_rps', http.load.requestsPerSec],
    ['http_ingest_latency_p50_ms', http.load.latencyMs.p50],
    ['http_ingest_latency_p90_ms', http.load.latencyMs.p90],
    ['http_ingest_latency_p99_ms', http.load.latencyMs.p99],
    ['http_ingest_latency_max_ms', http.load.latencyMs.max],
    ['http_ingest_non2xx', http.load.non2xx],
    ['http_ingest_errors', http.load.errors],
    ['http_ingest_accepted', http.phase.accepted],
    ['http_history_rows', http.phase.inHistory],
    ['http_history_passed', http.phase.passed],
    ['http_end_to_end_eps', http.phase.accepted / http.phase.totalS],
    ['http_drain_s', http.phase.drainS],
    ['http_end_to_end_p50_ms', http.phase.endToEndMs.p50],
    ['http_end_to_end_p90_ms', http.phase.endToEndMs.p90],
    ['http_end_to_end_p99_ms', http.phase.endToEndMs.p99],
    ['http_end_to_end_max_ms', http.phase.endToEndMs.max],
    ['http_gateway_cpu_ms_per_event', http.phase.cpuMsPerEvent.get('gateway') ?? Number.NaN],
    ['http_pipeline_cpu_ms_per_event', http.phase.pipelineCpuMsPerEvent],
    ['http_history_rows_per_event', http.phase.historyRowsPerEvent],
    ['http_ingest_other_cores', http.phase.coresDuringLoad.others ?? Number.NaN],
  ];
  if (r.paced) {
    metrics.push(
      ['paced_rps', r.paced.load.requestsPerSec],
      ['paced_ingest_latency_p50_ms', r.paced.load.latencyMs.p50],
      ['paced_ingest_latency_p99_ms', r.paced.load.latencyMs.p99],
      ['paced_end_to_end_p50_ms', r.paced.phase.endToEndMs.p50],
      ['paced_end_to_end_p90_ms', r.paced.phase.endToEndMs.p90],
      ['paced_end_to_end_p99_ms', r.paced.phase.endToEndMs.p99],
      ['paced_end_to_end_max_ms', r.paced.phase.endToEndMs.max],
      ['paced_gateway_cpu_ms_per_event', r.paced.phase.cpuMsPerEvent.get('gateway') ?? Number.NaN],
      ['paced_pipeline_cpu_ms_per_event', r.paced.phase.pipelineCpuMsPerEvent],
      ['paced_history_rows_per_event', r.paced.phase.historyRowsPerEvent],
      ['paced_producer_perf_latency_p50_ms', r.paced.ceiling.result.p50Ms],
      ['paced_producer_perf_latency_p99_ms', r.paced.ceiling.result.p99Ms],
      ['paced_producer_perf_record_bytes', r.paced.ceiling.recordSize],
    );
  }
  if (r.subscription) {
    metrics.push(
      ['subscription_delivery_p50_ms', r.subscription.p50],
      ['subscription_delivery_p90_ms', r.subscription.p90],
      ['subscription_delivery_p99_ms', r.subscription.p99],
    );
  }
  metrics.push(
    ['producer_perf_rps', pp.recordsPerSec],
    ['producer_perf_mb_per_s', pp.mbPerSec],
    ['producer_perf_latency_p50_ms', pp.p50Ms],
    ['producer_perf_latency_p99_ms', pp.p99Ms],
    ['producer_perf_broker_cpu_ms_per_record', r.ceilings.producerPerfCpuMs.get('kafka') ?? Number.NaN],
    ['producer_perf_other_cores', r.ceilings.producerPerfCores.others ?? Number.NaN],
    ['consumer_perf_rps', cp.fetchRecordsPerSec],
    ['consumer_perf_mb_per_s', cp.fetchMbPerSec],
    ['consumer_perf_rps_with_group_join', cp.recordsPerSec],
    ['kafka_producer_eps', k.producerEventsPerSec],
    ['kafka_envelope_bytes', k.envelopeBytes],
    ['kafka_end_to_end_eps', k.phase.accepted / k.phase.totalS],
    ['kafka_drain_s', k.phase.drainS],
    ['kafka_history_rows', k.phase.inHistory],
    ['kafka_history_passed', k.phase.passed],
    ['kafka_end_to_end_p50_ms', k.phase.endToEndMs.p50],
    ['kafka_end_to_end_p90_ms', k.phase.endToEndMs.p90],
    ['kafka_end_to_end_p99_ms', k.phase.endToEndMs.p99],
    ['kafka_end_to_end_max_ms', k.phase.endToEndMs.max],
    ['kafka_pipeline_cpu_ms_per_event', k.phase.pipelineCpuMsPerEvent],
    ['kafka_history_rows_per_event', k.phase.historyRowsPerEvent],
    ['kafka_other_cores', k.phase.coresDuringDrain?.others ?? k.phase.coresDuringLoad.others ?? Number.NaN],
    ...[...r.memory].map(([name, m]): [string, number] => [`rss_peak_mib_${name}`, m.peakMiB]),
    ...[...r.memory].map(([name, m]): [string, number] => [`rss_before_load_mib_${name}`, m.startMiB ?? Number.NaN]),
    ['rss_peak_mib_pipeline', pipelinePeakMiB],
    ['bench_wall_s', (performance.now() - startedAt) / 1000],
  );
  console.log('');
  for (const [name, value] of metrics) console.log(`metric ${name} ${num(value)}`);

  const kafkaE2e = k.phase.accepted / k.phase.totalS;
  const ratios: [string, number][] = [
    ['http_ingest_vs_fastify', http.load.requestsPerSec / fastify.requestsPerSec],
    ['kafka_ingest_vs_producer_perf', kafkaE2e / pp.recordsPerSec],
    ['end_to_end_vs_consumer_perf', kafkaE2e / cp.fetchRecordsPerSec],
    ['kafkajs_producer_vs_producer_perf', k.producerEventsPerSec / pp.recordsPerSec],
    ['http_end_to_end_vs_http_ingest', http.phase.accepted / http.phase.totalS / http.load.requestsPerSec],
    ['gateway_cpu_vs_fastify_cpu', (http.phase.cpuMsPerEvent.get('gateway') ?? Number.NaN) / r.ceilings.fastifyCpuMs],
  ];
  if (r.paced) {
    // ProducerPerformance reports whole milliseconds: a 0 ms p99 counts as 1 ms.
    ratios.push(['paced_accept_p99_vs_producer_perf_p99', r.paced.load.latencyMs.p99 / Math.max(1, r.paced.ceiling.result.p99Ms)]);
  }
  console.log('');
  for (const [name, value] of ratios) console.log(`ratio ${name} ${value.toFixed(3)}`);

  if (problems.length > 0) {
    console.log('');
    for (const p of problems) console.log(`PROBLEM: ${p}`);
  }
}

function checkPhase(phase: PipelinePhase, problems: string[]): void {
  if (phase.passed !== phase.accepted || phase.inHistory !== phase.accepted) {
    problems.push(`${phase.title}: ${phase.accepted} accepted but ${phase.inHistory} rows in history (${formatStatuses(phase.statuses)})`);
  }
}

function checkLoad(load: LoadResult, problems: string[]): void {
  if (load.non2xx > 0 || load.errors > 0) {
    problems.push(`${load.title}: ${load.non2xx} non-2xx responses (${JSON.stringify(load.statusCodes)}), ${load.errors} errors`);
  }
}

// ---- main -------------------------------------------------------------------------------

async function main(): Promise<boolean> {
  say(`settings: ${JSON.stringify(S)}`);
  const busy = await machineBusyCores(2000);
  if (busy !== undefined) {
    say(`machine: ${cpus().length} cores, ${busy.toFixed(2)} busy before the benchmark starts`);
    if (busy > 0.25) say(`WARNING: other work is using ${busy.toFixed(2)} cores; throughput and latency will be lower than on an idle machine`);
  }
  const pgUrl = process.env.RELAY_PG_URL ?? DEFAULT_PG_URL;

  say('starting Kafka and Apicurio Registry (startTestStack)');
  const stackStarting = startTestStack({ pgUrl, log: (l) => say(`  ${l}`) });
  onCleanup('Kafka, Apicurio and their temp state', async () => (await stackStarting.catch(() => undefined))?.stop());
  const stack = await stackStarting;
  say(`  Kafka ${stack.brokers.join(',')}, registry ${stack.registryUrl}`);
  process.env.RELAY_KAFKA_BROKERS = stack.brokers.join(',');
  process.env.RELAY_REGISTRY_URL = stack.registryUrl;
  process.env.RELAY_PG_URL = stack.pgUrl;
  const { classpath } = await ensureKafka({ log: (l) => say(`  ${l}`) });
  const workDir = path.join(stack.root, 'bench');
  mkdirSync(workDir, { recursive: true });

  const ceilings = await runCeilings(workDir, stack.brokers, classpath, stack.kafka.pid);

  say('starting the pipeline (startRelay: gateway, validator, matcher, dispatcher, history)');
  const guard = new RelayStartGuard();
  // The subscription phase's receiver runs on this machine: allowed by its exact host:port.
  const subscriptionReceiver = await startSubscriptionReceiver();
  onCleanup('subscription receiver', () => subscriptionReceiver.close());
  // History's insert window as a deployment has it (the test harness shortens it to 50 ms so
  // that specs see rows sooner): one chDB insert costs 8–18 ms of CPU whatever its size.
  const historyFlushMs = historyConfigSchema.shape.RELAY_HISTORY_FLUSH_MS.parse(process.env.RELAY_HISTORY_FLUSH_MS);
  say(`  history insert window: ${historyFlushMs} ms (RELAY_HISTORY_FLUSH_MS)`);
  const relayStarting = startRelay({
    env: { RELAY_WEBHOOK_ALLOWED_TARGETS: `127.0.0.1:${subscriptionReceiver.port}`, RELAY_HISTORY_FLUSH_MS: String(historyFlushMs) },
  });
  let relayStarted = false;
  onCleanup('pipeline services, test database, chDB dir', async () => {
    if (!relayStarted) guard.terminateChildren(); // interrupted while starting: fail the start now
    const started = await relayStarting.catch(() => undefined);
    if (started) await started.stop();
    else await guard.removeLeftovers((l) => say(`  ${l}`));
  });
  const relay = await relayStarting;
  relayStarted = true;
  guard.stop();
  const teamB = await relay.addTeam();
  const admin = new Kafka({ clientId: 'relay-bench-admin', brokers: stack.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  onCleanup('bench Kafka admin', () => admin.disconnect());
  const p: Pipeline = {
    relay,
    admin,
    groupPrefix: `${relay.topicPrefix}.`,
    historyUrl: `http://127.0.0.1:${relay.ports.history}`,
    validatorUrl: `http://127.0.0.1:${relay.ports.validator}`,
    matcherUrl: `http://127.0.0.1:${relay.ports.matcher}`,
    teamA: { teamId: relay.teamId, apiKey: relay.apiKey },
    teamB,
    subscriptionReceiver,
    databases: new Set([new URL(relay.pgUrl).pathname.slice(1), stack.registry.database]),
    pids: new Map<string, number>([
      ...relay.services.services.map((s): [string, number] => [s.name, s.pid]),
      ['kafka', stack.kafka.pid],
      ['apicurio', stack.registry.pid],
      [LOAD_GENERATOR, process.pid],
    ]),
  };
  say(`  gateway ${relay.gatewayUrl}, history ${p.historyUrl}, topics ${relay.topicPrefix}.*`);
  await createEventType(relay.gatewayUrl, p.teamA.apiKey);
  await createEventType(relay.gatewayUrl, p.teamB.apiKey);
  say('  event type store_purchase created for the HTTP team and the direct-Kafka team');

  const measuredPids = new Map([...p.pids].filter(([name]) => name !== LOAD_GENERATOR));
  const beforeLoad = memoryOf(measuredPids);
  const problems: string[] = [];
  if (S.warmupS > 0) {
    say(`HTTP warmup: ${S.warmupS} s (not measured)`);
    await httpPhase(p, 'http warmup', S.warmupS);
  }
  say(`HTTP ingest: POST /v1/events/trigger/store_purchase, ${S.connections} connections, ${S.durationS} s, a new contact email per request`);
  const http = await httpPhase(p, 'HTTP ingest', S.durationS);
  checkLoad(http.load, problems);
  checkPhase(http.phase, problems);

  let paced: Results['paced'] = null;
  if (S.pacedS > 0) {
    const rate = Math.max(1, Math.round(http.load.requestsPerSec * S.pacedFraction));
    say(`HTTP paced: ${rate} req/s (${S.pacedFraction} of the ingest rate) for ${S.pacedS} s: accept → history latency without a backlog`);
    const run = await httpPhase(p, 'HTTP paced', S.pacedS, rate);
    checkLoad(run.load, problems);
    checkPhase(run.phase, problems);
    const ceiling = await pacedProducerCeiling(p, stack, { classpath, workDir }, rate);
    paced = { ...run, rate, ceiling };
  }

  const subscription = S.subscriptionEvents > 0 ? await subscriptionPhase(p, S.subscriptionEvents, problems) : null;

  const kafka = await kafkaPhase(p, stack.brokers, stack.registryUrl);
  checkPhase(kafka.phase, problems);

  const end = memoryOf(measuredPids);
  const memory = new Map([...end].map(([name, m]) => [name, { ...m, startMiB: beforeLoad.get(name)?.nowMiB }]));
  summarize({ ceilings, http, paced, subscription, kafka, memory }, problems);
  return problems.length === 0;
}

main().then(
  async (ok) => {
    const wall = (performance.now() - startedAt) / 1000;
    await cleanUp();
    say(`benchmark done: ${wall.toFixed(1)} s measured, ${elapsed()} s with cleanup${ok ? '' : ' (with problems, see above)'}`);
    process.exit(ok ? 0 : 1);
  },
  async (error: unknown) => {
    // After a signal, the failure is the interruption itself: the signal handler exits.
    if (signalled === 0) console.error(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await cleanUp();
    process.exit(signalled === 0 ? 1 : 130);
  },
);
