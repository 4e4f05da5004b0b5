import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureKafka, type ArtifactOptions } from './artifacts';
import { requireJava } from './java';
import { jvmMarker, spawnManaged, tailFile, type ManagedProcess } from './managed-process';
import { defaultCacheDir, defaultLogger, defaultStateDir, type Logger } from './paths';
import { getFreePorts, isPortFree } from './ports';
import { waitForReady } from './wait';

export type KafkaLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface StartKafkaOptions extends ArtifactOptions {
  /** Holds config/, the KRaft log dir (data/) and remembered ports; reused on restart. With 3 nodes, one node-<id>/ folder each. */
  dataDir: string;
  /**
   * 1 (default): one broker+controller, replication factor 1. 3: three nodes, each broker
   * AND controller (KRaft combined mode), internal topics with 3 replicas and
   * min.insync.replicas 2, so one node can die without losing an acknowledged record.
   */
  nodes?: 1 | 3;
  /** server.log (log4j2) and kafka.out (JVM stdout/stderr). Default <dataDir>/logs. */
  logDir?: string;
  /** Client (PLAINTEXT) port (of node 1). Default: the port of the previous start in this dataDir, else a free one. */
  port?: number;
  /** KRaft controller port (of node 1). Same default rule as `port`. */
  controllerPort?: number;
  /** Interface to bind and advertise. Default 127.0.0.1. */
  host?: string;
  /** JVM heap (-Xms = -Xmx) of each node, 128..1024 MB. Default 512 (384 with 3 nodes). */
  heapMb?: number;
  /**
   * `c1` (default): the JVM's client compiler only (-XX:TieredStopAtLevel=1), for brokers
   * started for a run: no minutes of C2 compilation; `tiered`: the JVM's default.
   */
  jit?: 'c1' | 'tiered';
  /** Kafka version (Maven). Default DEFAULT_KAFKA_VERSION. */
  version?: string;
  /** Pid files. Default <cacheDir>/run. */
  stateDir?: string;
  javaBin?: string;
  /** Root level of the file log. Default WARN (plus the "Kafka Server started" line). */
  logLevel?: KafkaLogLevel;
  /** Extra or overriding broker settings. */
  serverProperties?: Record<string, string | number | boolean>;
  readyTimeoutMs?: number;
  /** Wait after SIGTERM before SIGKILL. Default 30 s. */
  stopTimeoutMs?: number;
  log?: Logger;
}

/** One KRaft node (broker + controller) of the cluster. */
export interface KafkaNode {
  nodeId: number;
  /** host:port of its broker listener. */
  broker: string;
  port: number;
  controllerPort: number;
  readonly pid: number;
  isRunning(): boolean;
  /** Signals the node's JVM (SIGKILL: a crash, SIGSTOP: a freeze) and, unless SIGSTOP/SIGCONT, waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node again on the same data and ports; resolves once the cluster sees every node. */
  start(): Promise<void>;
}

export interface KafkaHandle {
  /** Bootstrap servers, e.g. ["127.0.0.1:41234"] (one per node). */
  brokers: string[];
  host: string;
  /** Node 1's ports. */
  port: number;
  controllerPort: number;
  clusterId: string;
  version: string;
  dataDir: string;
  logDir: string;
  /** Node 1's pid. */
  pid: number;
  nodes: KafkaNode[];
  /** Replication the topology supports: factor 1 and min ISR 1, or 3 and 2. */
  replication: { factor: number; minInsyncReplicas: number };
  /** Controlled shutdown (SIGTERM) of every node, SIGKILL after stopTimeoutMs. Idempotent. */
  stop(): Promise<void>;
}

interface RememberedState {
  clusterId: string;
  port: number;
  controllerPort: number;
  /** Ports of nodes 2 and 3 (3-node clusters). */
  others?: { port: number; controllerPort: number }[];
}

/**
 * A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what
 * `kafka-storage random-uuid` prints). Ids starting with "-" are avoided like Kafka's own
 * Uuid.randomUuid() does, since they read as options on a command line.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** `.properties` values: backslashes are escapes there (matters for Windows-style paths). */
function propValue(value: string | number | boolean): string {
  return String(value).replace(/\\/g, '\\\\');
}

export interface ServerPropertiesInput {
  host: string;
  port: number;
  controllerPort: number;
  logDirs: string;
  /** Default 1. */
  nodeId?: number;
  /** Controller ports of every node, node 1 first. Default: this node's alone. */
  controllerPorts?: number[];
  overrides?: Record<string, string | number | boolean>;
}

/**
 * The broker+controller configuration of a KRaft node for local use: a single-node cluster,
 * or one node of a 3-node cluster in combined mode (each node both broker and controller).
 */
export function renderServerProperties(input: ServerPropertiesInput): string {
  const controllerPorts = input.controllerPorts ?? [input.controllerPort];
  // 3 replicas with min.insync.replicas 2 once there are 3 nodes: an acks=all write is on at
  // least two nodes, so losing any one node loses nothing acknowledged.
  const rf = Math.min(3, controllerPorts.length);
  const minIsr = rf >= 3 ? 2 : 1;
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': input.nodeId ?? 1,
    // A static voter set (not `format --standalone`): the controllers' addresses are read
    // from this file on every start, so restarting an existing data dir on different ports works.
    'controller.quorum.voters': controllerPorts.map((p, i) => `${i + 1}@${input.host}:${p}`).join(','),
    listeners: `PLAINTEXT://${input.host}:${input.port},CONTROLLER://${input.host}:${input.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${input.host}:${input.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': input.logDirs,
    // Topics are created explicitly (with their partition counts); a typo must fail, not
    // silently create a 1-partition topic.
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    // One node: every internal topic can only have one replica; three: 3 and min ISR 2.
    'offsets.topic.replication.factor': rf,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': minIsr,
    'default.replication.factor': rf,
    'min.insync.replicas': minIsr,
    // No 3 s wait before the first rebalance of a new group (tests create many groups).
    'group.initial.rebalance.delay.ms': 0,
    ...input.overrides,
  };
  const lines = Object.entries(props).map(([k, v]) => `${k}=${propValue(v)}`);
  return `# Generated by @relay/local-stack; rewritten on every start.\n${lines.join('\n')}\n`;
}

/** log4j2 config: everything to a size-capped file in logDir, nothing to the console. */
export function renderLog4j2Properties(logDir: string, level: KafkaLogLevel): string {
  const file = propValue(path.join(logDir, 'server.log'));
  return [
    '# Generated by @relay/local-stack.',
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = FILE',
    `appender.file.fileName = ${file}`,
    `appender.file.filePattern = ${file}.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 50MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 2',
    `rootLogger.level = ${level}`,
    'rootLogger.appenderRef.file.ref = FILE',
    // Keeps the "Kafka Server started" / shutdown lines even at WARN.
    'logger.lifecycle.name = kafka.server.KafkaRaftServer',
    'logger.lifecycle.level = INFO',
    '',
  ].join('\n');
}

function readState(file: string): RememberedState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RememberedState;
  } catch {
    return undefined;
  }
}

async function pickPorts(
  options: StartKafkaOptions,
  host: string,
  nodes: number,
  remembered?: RememberedState,
): Promise<{ port: number; controllerPort: number }[]> {
  const reuse = async (wanted: number | undefined, previous: number | undefined) =>
    wanted ?? (previous !== undefined && (await isPortFree(previous, host)) ? previous : undefined);
  const previous = remembered ? [{ port: remembered.port, controllerPort: remembered.controllerPort }, ...(remembered.others ?? [])] : [];
  const wanted: (number | undefined)[] = [];
  for (let i = 0; i < nodes; i++) {
    wanted.push(await reuse(i === 0 ? options.port : undefined, previous[i]?.port));
    wanted.push(await reuse(i === 0 ? options.controllerPort : undefined, previous[i]?.controllerPort));
  }
  const missing = wanted.filter((p) => p === undefined).length;
  const free = missing > 0 ? (await getFreePorts(missing + wanted.length, host)).filter((p) => !wanted.includes(p)) : [];
  const ports = wanted.map((p) => p ?? (free.shift() as number));
  return Array.from({ length: nodes }, (_, i) => ({ port: ports[2 * i] as number, controllerPort: ports[2 * i + 1] as number }));
}

/** Runs a short-lived Kafka CLI class (storage format) with output to a log file. */
async function runKafkaTool(javaBin: string, classpath: string, args: string[], logFile: string): Promise<void> {
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(javaBin, args, { env: { ...process.env, CLASSPATH: classpath }, stdio: ['ignore', out, out] });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`${args.slice(-6).join(' ')} failed (exit ${code}):\n${tailFile(logFile)}`);
  } finally {
    closeSync(out);
  }
}

/** Ready = a kafkajs admin sees the broker AND the group coordinator answers (this also
 * creates __consumer_offsets, so the first consumer group of a test does not wait for it). */
async function probeKafka(brokers: string[], nodes = brokers.length): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'relay-local-stack-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length < nodes) return false;
    await admin.describeGroups(['relay-local-stack-probe']);
    return true;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Starts Kafka from the Maven-resolved jars — one KRaft node, or three in combined mode
 * (`nodes: 3`) — formatting the storage on first use of `dataDir`, and resolves once
 * clients see every node.
 *
 * Why combined mode (each node broker AND controller) for three nodes: it is three JVMs
 * instead of six on a 2-core machine, and a 3-voter quorum still survives one node's loss,
 * which is the fault the 3-node topology exists to test. Kafka recommends separate
 * controllers for large production clusters, where a broker's load must not slow the quorum.
 */
export async function startKafka(options: StartKafkaOptions): Promise<KafkaHandle> {
  const log = options.log ?? defaultLogger;
  const host = options.host ?? '127.0.0.1';
  const count = options.nodes ?? 1;
  const heapMb = options.heapMb ?? (count === 1 ? 512 : 384);
  if (!Number.isInteger(heapMb) || heapMb < 128 || heapMb > 1024) throw new Error(`heapMb must be an integer in 128..1024, got ${heapMb}`);
  const javaBin = options.javaBin ?? 'java';
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const stateDir = options.stateDir ?? defaultStateDir(cacheDir);
  const dataDir = path.resolve(options.dataDir);
  const logDir = path.resolve(options.logDir ?? path.join(dataDir, 'logs'));
  // One node keeps the layout of earlier versions (config/, data/ in dataDir); three get node-<id>/.
  const nodeDir = (id: number) => (count === 1 ? dataDir : path.join(dataDir, `node-${id}`));
  const nodeLogDir = (id: number) => (count === 1 ? logDir : path.join(logDir, `node-${id}`));
  const stateFile = path.join(dataDir, count === 1 ? 'relay-kafka.json' : 'relay-kafka-cluster.json');
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  for (const dir of [dataDir, logDir, ...ids.flatMap((id) => [nodeLogDir(id), path.join(nodeDir(id), 'config'), path.join(nodeDir(id), 'data')])]) {
    mkdirSync(dir, { recursive: true });
  }

  await requireJava(17, 'Kafka 4.x', javaBin);
  const artifact = await ensureKafka({ ...options, cacheDir, log });

  const formatted = existsSync(path.join(nodeDir(1), 'data', 'meta.properties'));
  const remembered = formatted ? readState(stateFile) : undefined;
  const ports = await pickPorts(options, host, count, remembered);
  const clusterId = remembered?.clusterId ?? newClusterId();
  const controllerPorts = ports.map((p) => p.controllerPort);

  const started = Date.now();
  const launchers = await Promise.all(
    ids.map(async (id) => {
      const { port, controllerPort } = ports[id - 1] as { port: number; controllerPort: number };
      const configDir = path.join(nodeDir(id), 'config');
      const kraftDir = path.join(nodeDir(id), 'data');
      const serverProps = path.join(configDir, 'server.properties');
      const log4jProps = path.join(configDir, 'log4j2.properties');
      writeFileSync(
        serverProps,
        renderServerProperties({
          host,
          port,
          controllerPort,
          logDirs: kraftDir,
          nodeId: id,
          controllerPorts,
          ...(options.serverProperties ? { overrides: options.serverProperties } : {}),
        }),
      );
      writeFileSync(log4jProps, renderLog4j2Properties(nodeLogDir(id), options.logLevel ?? 'WARN'));
      const log4jArg = `-Dlog4j2.configurationFile=${log4jProps}`;
      if (!existsSync(path.join(kraftDir, 'meta.properties'))) {
        await runKafkaTool(
          javaBin,
          artifact.classpath,
          ['-Xmx256m', log4jArg, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', serverProps],
          path.join(nodeLogDir(id), 'storage-format.log'),
        );
      }
      const name = count === 1 ? 'kafka' : `kafka-${id}`;
      const launch = async () => {
        const { marker, arg } = jvmMarker(name);
        return spawnManaged({
          name,
          command: javaBin,
          args: [
            arg,
            `-Xms${heapMb}m`,
            `-Xmx${heapMb}m`,
            // The JVM flags of Kafka's own kafka-server-start.sh.
            '-XX:+UseG1GC',
            '-XX:MaxGCPauseMillis=20',
            '-XX:InitiatingHeapOccupancyPercent=35',
            '-XX:+ExplicitGCInvokesConcurrent',
            '-XX:+ExitOnOutOfMemoryError',
            ...((options.jit ?? 'c1') === 'c1' ? ['-XX:TieredStopAtLevel=1'] : []),
            '-Djava.awt.headless=true',
            log4jArg,
            `-Dkafka.logs.dir=${nodeLogDir(id)}`,
            'kafka.Kafka',
            serverProps,
          ],
          marker,
          cwd: nodeDir(id),
          // The classpath (~90 jars) goes in the environment to keep `ps` output readable.
          env: { CLASSPATH: artifact.classpath },
          logFile: path.join(nodeLogDir(id), 'kafka.out'),
          stateDir,
          stopTimeoutMs: options.stopTimeoutMs ?? 30000,
          log,
        });
      };
      return { id, port, controllerPort, launch };
    }),
  );
  writeFileSync(
    stateFile,
    JSON.stringify(
      { clusterId, ...(ports[0] as { port: number; controllerPort: number }), ...(count > 1 ? { others: ports.slice(1) } : {}) } satisfies RememberedState,
      null,
      2,
    ),
  );

  const brokers = ports.map((p) => `${host}:${p.port}`);
  const procs: ManagedProcess[] = await Promise.all(launchers.map((l) => l.launch()));
  const waitCluster = async (proc: ManagedProcess, what: string) => {
    await waitForReady(() => probeKafka(brokers, count), {
      what,
      timeoutMs: options.readyTimeoutMs ?? 120000,
      intervalMs: 300,
      process: proc,
      hints: [
        {
          whenLogContains: 'Address already in use',
          hint: `one of ports ${ports.flatMap((p) => [p.port, p.controllerPort]).join(', ')} is taken; pass other ports`,
        },
      ],
    });
  };
  try {
    await waitCluster(procs[0] as ManagedProcess, `Kafka ${artifact.version} on ${brokers.join(',')}`);
  } catch (error) {
    await Promise.all(procs.map((p) => p.stop(5000)));
    // server.log says more than kafka.out when the broker itself failed.
    const serverLog = path.join(nodeLogDir(1), 'server.log');
    throw new Error(`${(error as Error).message}\nLast lines of ${serverLog}:\n${tailFile(serverLog, 20)}`);
  }
  log(
    `Kafka ${artifact.version} ready on ${brokers.join(',')} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(${count === 1 ? `pid ${procs[0]?.pid}` : `${count} nodes, pids ${procs.map((p) => p.pid).join(' ')}`}, logs in ${logDir})`,
  );

  const nodes: KafkaNode[] = launchers.map((l, i) => ({
    nodeId: l.id,
    broker: `${host}:${l.port}`,
    port: l.port,
    controllerPort: l.controllerPort,
    get pid() {
      return (procs[i] as ManagedProcess).pid;
    },
    isRunning: () => !(procs[i] as ManagedProcess).hasExited(),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const proc = procs[i] as ManagedProcess;
      if (proc.hasExited()) return;
      process.kill(proc.pid, signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') await proc.exited;
    },
    async start() {
      if (!(procs[i] as ManagedProcess).hasExited()) throw new Error(`Kafka node ${l.id} is still running`);
      procs[i] = await l.launch();
      await waitCluster(procs[i], `Kafka node ${l.id} back in the cluster`);
    },
  }));
  const rf = Math.min(3, count);
  return {
    brokers,
    host,
    port: ports[0]?.port as number,
    controllerPort: ports[0]?.controllerPort as number,
    clusterId,
    version: artifact.version,
    dataDir,
    logDir,
    pid: procs[0]?.pid as number,
    nodes,
    replication: { factor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 },
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}
