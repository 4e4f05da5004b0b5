// Must stay the first import: it lets the next ones resolve @relay/* (see aliases.ts).
import './aliases';
import { DEFAULT_PG_URL, startTestStack, type TestStack } from './stack';

/** Handed to global-teardown.ts: Jest runs both in the same process, in separate module registries. */
export const STACK_KEY = '__RELAY_TEST_STACK__';

/**
 * Jest globalSetup of the integration project: starts Kafka and Apicurio Registry once per
 * run and publishes how to reach them through the environment, which test workers inherit:
 *   RELAY_KAFKA_BROKERS  comma-separated bootstrap servers
 *   RELAY_REGISTRY_URL   Confluent-compatible registry API (…/apis/ccompat/v7)
 *   RELAY_PG_URL         PostgreSQL base URL (tests create their own databases)
 * Inputs: RELAY_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * RELAY_CACHE_DIR (artifact cache, default ~/.cache/relay), RELAY_KEEP_TEST_STATE=1 (keep
 * the temp dir with logs and the registry database after the run), RELAY_KAFKA_NODES=3 (three
 * Kafka nodes: every spec's topics then have replication factor 3 and min.insync.replicas 2).
 */
export default async function globalSetup(): Promise<void> {
  process.stderr.write('\n');
  const started = Date.now();
  // Kafka's node count and JIT: RELAY_KAFKA_NODES / RELAY_KAFKA_JIT, read by startTestStack.
  const stack: TestStack = await startTestStack({
    pgUrl: process.env.RELAY_PG_URL || DEFAULT_PG_URL,
    cacheDir: process.env.RELAY_CACHE_DIR || undefined,
    keepState: process.env.RELAY_KEEP_TEST_STATE === '1',
  });
  (globalThis as Record<string, unknown>)[STACK_KEY] = stack;
  process.env.RELAY_KAFKA_BROKERS = stack.brokers.join(',');
  process.env.RELAY_REGISTRY_URL = stack.registryUrl;
  process.env.RELAY_PG_URL = stack.pgUrl;
  process.stderr.write(
    `[relay-testing] infrastructure up in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `kafka ${process.env.RELAY_KAFKA_BROKERS}, registry ${stack.registryUrl}, logs in ${stack.root}\n`,
  );
}
