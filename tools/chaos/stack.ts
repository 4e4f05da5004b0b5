import path from 'node:path';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { ContractRegistry } from '@relay/contracts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { REPO_ROOT, instanceSpec } from '@relay/testing';
import { startRelayServices, type KafkaHandle, type RelayServiceName, type RelayServices } from '@relay/local-stack';
import { startRelay, startTestStack, type RelayUnderTest, type TestStack } from '@relay/testing';
import { Ledger } from './ledger';
import { startProxy, type FaultProxy } from './proxy';
import { startReceiver, type ScriptableReceiver } from './receiver';
import type { OwedDelivery } from './checker';

/**
 * Short timers so that every fault heals within seconds; printed at the start of a run
 * because the recovery times depend on them.
 */
export const CHAOS_ENV: Record<string, string> = {
  RELAY_KAFKA_SESSION_TIMEOUT_MS: '6000',
  RELAY_KAFKA_HEARTBEAT_MS: '1000',
  RELAY_WEBHOOK_RETRY_SCHEDULE: '1s,1s,2s,2s,3s',
  RELAY_WEBHOOK_LEASE_MS: '3000',
  RELAY_WEBHOOK_POLL_MS: '100',
  RELAY_WEBHOOK_ENDPOINT_CACHE_MS: '200',
  RELAY_SCENARIO_CACHE_MS: '200',
  RELAY_CONTACT_CACHE_MS: '200',
  RELAY_API_KEY_CACHE_MS: '1000',
};
export const RESTART_POLICY = { initialDelayMs: 250, maxDelayMs: 5000, resetAfterMs: 10000 };

/** The endpoints and event type of one row: a scriptable `primary` endpoint, a `steady` one (always 200) that a scenario also targets. */
export interface RowFixture {
  row: string;
  codeName: string;
  primary: { id: string; path: string };
  steady: { id: string; path: string };
  owed: OwedDelivery[];
}

export interface ChaosStack {
  infra: TestStack;
  relay: RelayUnderTest;
  kafka(): KafkaHandle;
  pgProxy: FaultProxy;
  registryProxy: FaultProxy;
  receiver: ScriptableReceiver;
  ledger: Ledger;
  producer: Producer;
  registry: ContractRegistry;
  /** `<partition>:<offset>` of ingested records found in relay.dlq so far, and their reasons. */
  deadLettered: Set<string>;
  dlqReasons: Map<string, string>;
  contacts: number;
  /** SIGKILLs the broker JVM, waits for its exit, then starts it again on the same data dir and ports. */
  restartBroker(after?: () => Promise<void>): Promise<void>;
  /** Terminates every PostgreSQL backend of the pipeline's database (not other users of the shared server). */
  terminatePgBackends(): Promise<number>;
  /** Second instances of some services (same groups, own ports): stop() makes them leave. */
  addInstances(names: RelayServiceName[]): Promise<RelayServices>;
  fixture(row: string, options?: { steadyConcurrency?: number; primaryTimeoutMs?: number }): Promise<RowFixture>;
  stop(): Promise<void>;
}

const log = (line: string) => process.stderr.write(`[chaos] ${line}\n`);

/** Assigning undefined to process.env stores the string "undefined": delete instead. */
function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString().replace(/\/$/, '');
}

export async function startChaosStack(options: { onProgress?: (line: string) => void } = {}): Promise<ChaosStack> {
  const pgBase = process.env.RELAY_CHAOS_PG_URL ?? process.env.RELAY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  // Under Jest the global setup already runs Kafka and the registry: reuse them.
  const shared = process.env.RELAY_KAFKA_BROKERS && process.env.RELAY_REGISTRY_URL && process.env.JEST_WORKER_ID;
  const kafkaNodes = process.env.RELAY_CHAOS_KAFKA_NODES === '3' ? 3 : 1;
  const infra: TestStack | undefined = shared ? undefined : await startTestStack({ pgUrl: pgBase, log, kafkaNodes });
  try {
    return await startOn(infra, pgBase, options);
  } catch (error) {
    await infra?.stop();
    throw error;
  }
}

async function startOn(infra: TestStack | undefined, pgBase: string, options: { onProgress?: (line: string) => void }): Promise<ChaosStack> {
  const brokers = infra ? infra.brokers : (process.env.RELAY_KAFKA_BROKERS as string).split(',');
  const registryUrl = infra ? infra.registryUrl : (process.env.RELAY_REGISTRY_URL as string);
  const pgUrl = new URL(pgBase);
  const pgProxy = await startProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  const registryTarget = new URL(registryUrl);
  const registryProxy = await startProxy({ host: registryTarget.hostname, port: Number(registryTarget.port) });
  const kafka: KafkaHandle | undefined = infra?.kafka;

  // startRelay reads the shared infrastructure from the environment: point it at the proxies.
  const saved = { b: process.env.RELAY_KAFKA_BROKERS, r: process.env.RELAY_REGISTRY_URL, p: process.env.RELAY_PG_URL };
  process.env.RELAY_KAFKA_BROKERS = brokers.join(',');
  process.env.RELAY_REGISTRY_URL = withPort(registryUrl, registryProxy.port);
  process.env.RELAY_PG_URL = withPort(pgBase, pgProxy.port);
  // The receiver of every endpoint, started first: the services allow exactly its host:port.
  const receiver = await startReceiver();
  const env = { ...CHAOS_ENV, RELAY_WEBHOOK_ALLOWED_TARGETS: new URL(receiver.baseUrl).host };
  let relay: RelayUnderTest;
  try {
    relay = await startRelay({
      supervise: RESTART_POLICY,
      env,
      // A shared 2-core machine under other work boots five Node services slowly.
      readyTimeoutMs: 300000,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    await receiver.close();
    throw error;
  } finally {
    restoreEnv('RELAY_KAFKA_BROKERS', saved.b);
    restoreEnv('RELAY_REGISTRY_URL', saved.r);
    restoreEnv('RELAY_PG_URL', saved.p);
  }
  const databaseName = decodeURIComponent(new URL(relay.pgUrl).pathname.slice(1));

  const registry = new ContractRegistry({ url: registryUrl, topicPrefix: relay.topicPrefix });
  await registry.registerAll();
  const client = new Kafka({ clientId: 'relay-chaos', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();

  const deadLettered = new Set<string>();
  const dlqReasons = new Map<string, string>();
  const dlq: Consumer = client.consumer({ groupId: `${relay.topicPrefix}-chaos-dlq`, sessionTimeout: 6000, heartbeatInterval: 1000 });
  await dlq.connect();
  await dlq.subscribe({ topic: registry.topic('dlq'), fromBeginning: true });
  await dlq.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const { value } = await registry.decode('dlq', message.value);
      if (value.source_topic !== registry.topic('ingested')) return;
      const key = `${value.source_partition}:${value.source_offset}`;
      deadLettered.add(key);
      dlqReasons.set(key, `${value.stage} ${value.reason_code}`);
    },
  });

  const contacts = 10;
  for (let c = 0; c < contacts; c++) {
    const res = await relay.api('PUT', `/v1/contacts/c${c}`, { email: `c${c}@example.com` });
    if (res.status >= 300) throw new Error(`contact c${c}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  const stack: ChaosStack = {
    infra: infra as TestStack,
    relay,
    kafka: () => {
      if (!kafka) throw new Error('the broker belongs to the Jest global setup here');
      return kafka;
    },
    pgProxy,
    registryProxy,
    receiver,
    ledger: new Ledger(),
    producer,
    registry,
    deadLettered,
    dlqReasons,
    contacts,
    async restartBroker(after) {
      // One node (of one, or of three with RELAY_CHAOS_KAFKA_NODES=3): SIGKILL, then start it on the same data and ports.
      const nodes = stack.kafka().nodes;
      const node = nodes[Math.floor(Math.random() * nodes.length)] ?? nodes[0];
      if (!node) throw new Error('no Kafka node');
      await node.kill('SIGKILL');
      await after?.();
      await node.start();
    },
    async terminatePgBackends() {
      const pg = new Client({ connectionString: pgBase });
      await pg.connect();
      try {
        const { rowCount } = await pg.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
          databaseName,
        ]);
        return rowCount ?? 0;
      } finally {
        await pg.end();
      }
    },
    async addInstances(names) {
      const specs = [];
      for (const name of names) specs.push(await instanceSpec(name));
      return startRelayServices(specs, {
        root: REPO_ROOT,
        logDir: mkdtempSync(path.join(tmpdir(), 'relay-chaos-extra-')),
        readyTimeoutMs: 300000,
        env: {
          RELAY_LOG_LEVEL: 'warn',
          RELAY_KAFKA_BROKERS: brokers.join(','),
          RELAY_REGISTRY_URL: withPort(registryUrl, registryProxy.port),
          RELAY_PG_URL: relay.pgUrl,
          RELAY_TOPIC_PREFIX: relay.topicPrefix,
          RELAY_HISTORY_URL: `http://127.0.0.1:${relay.ports.history}`,
          RELAY_HISTORY_TOKEN: relay.historyToken,
          ...env,
        },
      });
    },
    async fixture(row, opts = {}) {
      const codeName = `chaos_${row
        .replace(/[^a-z0-9]+/gi, '_')
        .replace(/^_+|_+$/g, '')
        .toLowerCase()}`;
      const created = await relay.api('POST', '/v1/events', {
        name: codeName,
        code_name: codeName,
        properties: { metaData: [{ name: 'n', type: 'number', required: true }] },
      });
      if (created.status !== 201) throw new Error(`event type ${codeName}: ${created.status} ${JSON.stringify(created.body)}`);
      const endpoint = async (role: string, extra: Record<string, unknown>) => {
        const p = `/r/${codeName}/${role}`;
        const res = await relay.api('POST', '/v1/webhooks', { url: `${receiver.baseUrl}${p}`, events: [codeName], ...extra });
        if (res.status !== 201) throw new Error(`endpoint ${p}: ${res.status} ${JSON.stringify(res.body)}`);
        return { id: (res.body.data as { id: string }).id, path: p };
      };
      const primary = await endpoint('primary', { timeout_ms: opts.primaryTimeoutMs ?? 2000 });
      const steady = await endpoint('steady', { max_concurrency: opts.steadyConcurrency ?? 4 });
      const scenario = await relay.api('POST', '/v1/scenarios', {
        name: `${codeName} scenario`,
        code_names: [codeName],
        actions: [{ type: 'webhook', webhook_id: steady.id }],
      });
      if (scenario.status !== 201) throw new Error(`scenario ${codeName}: ${scenario.status} ${JSON.stringify(scenario.body)}`);
      return {
        row,
        codeName,
        primary,
        steady,
        owed: [
          { path: primary.path, endpointId: primary.id, kind: 'subscription' },
          { path: steady.path, endpointId: steady.id, kind: 'subscription' },
          { path: steady.path, endpointId: steady.id, kind: 'scenario_action' },
        ],
      };
    },
    async stop() {
      pgProxy.set({ kind: 'pass' });
      registryProxy.set({ kind: 'pass' });
      await dlq.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await receiver.close();
      await relay.stop().catch((e: Error) => log(`stopping the pipeline: ${e.message}`));
      await pgProxy.close();
      await registryProxy.close();
      await infra?.stop();
    },
  };
  return stack;
}
