/**
 * The broker's own ceiling: Kafka's ProducerPerformance and ConsumerPerformance (the
 * classes behind kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh, from the
 * kafka-tools jar already on the classpath that ensureKafka() resolves), run as managed
 * child JVMs so they never outlive the benchmark.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jvmMarker, spawnManaged, tailFile, type ManagedProcess } from '@relay/local-stack';

export interface ProducerPerfResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface ConsumerPerfResult {
  records: number;
  mb: number;
  /** Over the whole run, group join (rebalance) included. */
  recordsPerSec: number;
  mbPerSec: number;
  rebalanceMs: number;
  fetchMs: number;
  /** Over the fetch time only (after the consumer joined its group). */
  fetchRecordsPerSec: number;
  fetchMbPerSec: number;
}

const PRODUCER_FINAL =
  /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/;

/** The final summary line of ProducerPerformance (the periodic lines have no percentiles). */
export function parseProducerPerformance(output: string): ProducerPerfResult {
  const m = PRODUCER_FINAL.exec(output);
  if (!m) throw new Error(`no ProducerPerformance summary line in:\n${output.trim().split('\n').slice(-15).join('\n')}`);
  const n = (i: number) => Number(m[i]);
  return {
    records: n(1),
    recordsPerSec: n(2),
    mbPerSec: n(3),
    avgLatencyMs: n(4),
    maxLatencyMs: n(5),
    p50Ms: n(6),
    p95Ms: n(7),
    p99Ms: n(8),
    p999Ms: n(9),
  };
}

/** The header + values lines ConsumerPerformance prints (columns looked up by name). */
export function parseConsumerPerformance(output: string): ConsumerPerfResult {
  const lines = output.split('\n').map((l) => l.trim());
  const headerAt = lines.findIndex((l) => l.startsWith('start.time,'));
  const header = lines[headerAt]?.split(/,\s*/);
  const values = lines[headerAt + 1]?.split(/,\s*/);
  if (headerAt < 0 || !header || !values || values.length !== header.length) {
    throw new Error(`no ConsumerPerformance result in:\n${output.trim().split('\n').slice(-15).join('\n')}`);
  }
  const col = (name: string): number => {
    const i = header.indexOf(name);
    const v = i >= 0 ? Number(values[i]) : Number.NaN;
    if (!Number.isFinite(v)) throw new Error(`ConsumerPerformance column ${name} missing or not a number`);
    return v;
  };
  return {
    records: col('data.consumed.in.nMsg'),
    mb: col('data.consumed.in.MB'),
    recordsPerSec: col('nMsg.sec'),
    mbPerSec: col('MB.sec'),
    rebalanceMs: col('rebalance.time.ms'),
    fetchMs: col('fetch.time.ms'),
    fetchRecordsPerSec: col('fetch.nMsg.sec'),
    fetchMbPerSec: col('fetch.MB.sec'),
  };
}

export interface PerfRunOptions {
  classpath: string;
  /** Logs and pid files of the tool JVMs. */
  workDir: string;
  /** Called with the tool's pid once started (CPU accounting). */
  onStart?: (proc: ManagedProcess) => void;
  timeoutMs?: number;
  javaBin?: string;
}

/** Runs one Kafka tool class to completion and returns everything it printed. */
async function runTool(name: string, mainClass: string, args: string[], options: PerfRunOptions): Promise<string> {
  const { marker, arg } = jvmMarker(name);
  const logFile = path.join(options.workDir, `${name}.log`);
  const proc = await spawnManaged({
    name,
    command: options.javaBin ?? 'java',
    args: ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-Djava.awt.headless=true', arg, '-cp', options.classpath, mainClass, ...args],
    marker,
    cwd: options.workDir,
    logFile,
    stateDir: path.join(options.workDir, 'pids'),
    stopTimeoutMs: 5000,
  });
  options.onStart?.(proc);
  const timeoutMs = options.timeoutMs ?? 180000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([proc.exited, timedOut]);
    if (outcome === 'timeout') throw new Error(`${name} did not finish within ${timeoutMs / 1000} s:\n${tailFile(logFile)}`);
    if (outcome.code !== 0) throw new Error(`${name} failed (${outcome.signal ?? `exit ${outcome.code}`}):\n${tailFile(logFile)}`);
    return readFileSync(logFile, 'utf8');
  } finally {
    clearTimeout(timer);
    await proc.stop();
  }
}

export async function runProducerPerformance(
  o: PerfRunOptions & {
    brokers: string;
    topic: string;
    records: number;
    recordSize: number;
    /** Records per second (the tool's --throughput); unthrottled when absent. */
    throughput?: number;
    /** linger.ms; the Java client's default (5) when absent. */
    lingerMs?: number;
    /** Tool name: log and pid file of its JVM. */
    name?: string;
  },
): Promise<ProducerPerfResult> {
  const output = await runTool(
    o.name ?? 'producer-perf',
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--bootstrap-server',
      o.brokers,
      '--topic',
      o.topic,
      '--num-records',
      String(o.records),
      '--record-size',
      String(o.recordSize),
      '--throughput',
      String(o.throughput ?? -1),
      // The Java client's defaults otherwise (linger.ms 5, batch.size 16 KiB, no compression).
      '--command-property',
      'acks=all',
      ...(o.lingerMs !== undefined ? [`linger.ms=${o.lingerMs}`] : []),
    ],
    o,
  );
  return parseProducerPerformance(output);
}

export async function runConsumerPerformance(o: PerfRunOptions & { brokers: string; topic: string; records: number }): Promise<ConsumerPerfResult> {
  const output = await runTool(
    'consumer-perf',
    'org.apache.kafka.tools.ConsumerPerformance',
    ['--bootstrap-server', o.brokers, '--topic', o.topic, '--num-records', String(o.records), '--timeout', '30000'],
    o,
  );
  return parseConsumerPerformance(output);
}
