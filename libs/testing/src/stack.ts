import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig, testStackConfigSchema } from '@relay/config';
import {
  checkPostgres,
  dropDatabase,
  isProcessAlive,
  listDatabases,
  startApicurio,
  startKafka,
  type ApicurioHandle,
  type KafkaHandle,
  type Logger,
  type PostgresConnection,
} from '@relay/local-stack';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Per-run registry databases: relay_it_registry_<owner pid>_<random>. */
const REGISTRY_DB_PREFIX = 'relay_it_registry_';

export interface TestStackOptions {
  /** PostgreSQL base URL (any database; tests create their own). Default DEFAULT_PG_URL. */
  pgUrl?: string;
  /** Artifact cache (see @relay/local-stack). Default (also when undefined, e.g. RELAY_CACHE_DIR unset) ~/.cache/relay. */
  cacheDir?: string | undefined;
  /** Keep the temp dir (logs, Kafka data) and the registry database after stop(). */
  keepState?: boolean;
  /**
   * 1 or 3 Kafka nodes (replication factor 3, min.insync.replicas 2). Default
   * RELAY_KAFKA_NODES (1).
   */
  kafkaNodes?: 1 | 3;
  /** The brokers' JIT (startKafka's `jit`). Default RELAY_KAFKA_JIT (c1). */
  kafkaJit?: 'c1' | 'tiered';
  log?: Logger;
}

export interface TestStack {
  /** Kafka bootstrap servers. */
  brokers: string[];
  /** Confluent-compatible registry API (…/apis/ccompat/v7). */
  registryUrl: string;
  /** PostgreSQL base URL, as given. */
  pgUrl: string;
  /** Temp dir holding this run's Kafka data and all logs. */
  root: string;
  kafka: KafkaHandle;
  registry: ApicurioHandle;
  stop(): Promise<void>;
}

export function parsePgUrl(pgUrl: string): PostgresConnection {
  const url = new URL(pgUrl);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error(`not a postgres:// URL: ${pgUrl}`);
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** Drops registry databases of earlier runs whose process is gone (crashed, killed). */
async function dropStaleRegistryDatabases(conn: PostgresConnection, log: Logger): Promise<void> {
  for (const name of await listDatabases(conn, REGISTRY_DB_PREFIX)) {
    const owner = Number(/^relay_it_registry_(\d+)_/.exec(name)?.[1]);
    if (Number.isInteger(owner) && owner !== process.pid && !isProcessAlive(owner)) {
      log(`dropping ${name} left by an earlier run`);
      await dropDatabase({ ...conn, database: name }).catch(() => undefined);
    }
  }
}

/** Temp dirs of runs: relay-it-<owner pid>-<random>. */
const ROOT_PREFIX = 'relay-it-';

/** Removes temp dirs of earlier runs whose process is gone (killed before teardown). */
function removeStaleRoots(log: Logger): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = Number(new RegExp(`^${ROOT_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (Number.isInteger(owner) && owner !== process.pid && !isProcessAlive(owner)) {
      log(`removing ${path.join(tmpdir(), name)} left by an earlier run`);
      rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/**
 * Kafka + Apicurio Registry for one test run, on free ports, with state in a fresh temp dir
 * and a fresh registry database. Both start in parallel (each is a JVM taking a core).
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const log: Logger = options.log ?? ((line) => process.stderr.write(`[relay-testing] ${line}\n`));
  const pgUrl = options.pgUrl ?? DEFAULT_PG_URL;
  const pg = parsePgUrl(pgUrl);
  try {
    await checkPostgres(pg);
  } catch (error) {
    throw new Error(`${(error as Error).message} (The test harness reads RELAY_PG_URL, default ${DEFAULT_PG_URL}.)`);
  }
  await dropStaleRegistryDatabases(pg, log);
  removeStaleRoots(log);

  // Kept state gets names the stale-run cleanup above does not match.
  const root = mkdtempSync(path.join(tmpdir(), options.keepState ? 'relay-it-kept-' : `${ROOT_PREFIX}${process.pid}-`));
  const database = `${options.keepState ? 'relay_it_kept_' : REGISTRY_DB_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  const common = { ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}), log };
  const config = loadConfig('the test stack', testStackConfigSchema);
  const kafkaNodes = options.kafkaNodes ?? config.RELAY_KAFKA_NODES;
  const jit = options.kafkaJit ?? config.RELAY_KAFKA_JIT;
  log(`Kafka: ${kafkaNodes} node(s), JIT ${jit} (RELAY_KAFKA_NODES, RELAY_KAFKA_JIT)`);
  const [kafka, registry] = await Promise.allSettled([
    startKafka({
      ...common,
      nodes: kafkaNodes,
      jit,
      dataDir: path.join(root, 'kafka'),
      logDir: path.join(root, 'logs', 'kafka'),
      heapMb: kafkaNodes === 1 ? 512 : 384,
    }),
    startApicurio({ ...common, dataDir: path.join(root, 'apicurio'), logDir: path.join(root, 'logs', 'apicurio'), postgres: { ...pg, database } }),
  ]);
  if (kafka.status === 'rejected' || registry.status === 'rejected') {
    if (kafka.status === 'fulfilled') await kafka.value.stop();
    if (registry.status === 'fulfilled') await registry.value.stop();
    await dropDatabase({ ...pg, database }).catch(() => undefined);
    log(`state and logs kept in ${root}`);
    const reason: unknown = kafka.status === 'rejected' ? kafka.reason : (registry as PromiseRejectedResult).reason;
    throw reason instanceof Error ? reason : new Error(String(reason));
  }

  let stopped: Promise<void> | undefined;
  return {
    brokers: kafka.value.brokers,
    registryUrl: registry.value.ccompatUrl,
    pgUrl,
    root,
    kafka: kafka.value,
    registry: registry.value,
    stop() {
      stopped ??= (async () => {
        await Promise.all([kafka.value.stop(), registry.value.stop()]);
        if (options.keepState) {
          log(`kept state and logs in ${root} and database ${database}`);
          return;
        }
        await dropDatabase({ ...pg, database }).catch((error: Error) => log(`could not drop ${database}: ${error.message}`));
        rmSync(root, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
