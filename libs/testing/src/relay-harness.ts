import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApiKeysRepository, TeamsRepository, createPool } from '@relay/control-plane';
import { SERVICE_NAMES, startRelayServices, type RelayServiceName, type RelayServices, type RestartPolicy } from '@relay/local-stack';
import { callJson } from './http';
import { createMigratedDatabase, dropTestDatabase } from './test-database';

export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Connection info the Jest global setup publishes for the run's shared infrastructure. */
export interface SharedInfra {
  brokers: string[];
  registryUrl: string;
  pgUrl: string;
}

export function sharedInfra(): SharedInfra {
  const brokers = process.env.RELAY_KAFKA_BROKERS;
  const registryUrl = process.env.RELAY_REGISTRY_URL;
  const pgUrl = process.env.RELAY_PG_URL;
  if (!brokers || !registryUrl || !pgUrl) {
    throw new Error('Shared test infrastructure not started: run integration specs through `npm test` (Jest global setup).');
  }
  return { brokers: brokers.split(','), registryUrl, pgUrl };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RelayUnderTest {
  infra: SharedInfra;
  topicPrefix: string;
  pgUrl: string;
  gatewayUrl: string;
  /** The gateway's /metrics (RELAY_GATEWAY_METRICS_PORT): not on its public port. */
  gatewayMetricsUrl: string;
  ports: Record<RelayServiceName, number>;
  teamId: string;
  apiKey: string;
  /** The service credential of history's internal API (RELAY_HISTORY_TOKEN), generated per stack. */
  historyToken: string;
  services: RelayServices;
  /** Adds a second team with its own key (production unless said otherwise). */
  addTeam(environment?: 'production' | 'staging'): Promise<{ teamId: string; apiKey: string }>;
  /**
   * Starts one more instance of each named service on the same topics, database and
   * consumer groups (scale-out): returns their base URLs. Stopped with the rest.
   */
  addInstances(names: readonly RelayServiceName[]): Promise<Record<RelayServiceName, string>>;
  /** One call to the gateway with the first team's key (or `apiKey`), JSON in and out. */
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, apiKey?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/**
 * The whole pipeline for one spec file, on the run's shared Kafka/Apicurio/PostgreSQL:
 * a fresh topic prefix, a fresh relay_test_* database and a fresh embedded ClickHouse
 * directory, so specs never see each other's data.
 */
export async function startRelay(
  options: {
    services?: readonly RelayServiceName[];
    env?: Record<string, string>;
    /** Restart services that exit, as `npm start` does (see startRelayServices). */
    supervise?: boolean | RestartPolicy;
    onProgress?: (line: string) => void;
    /** How long the services may take to boot. Default 150 s. */
    readyTimeoutMs?: number;
  } = {},
): Promise<RelayUnderTest> {
  const infra = sharedInfra();
  const topicPrefix = `t${randomBytes(5).toString('hex')}`;
  const pgUrl = await createMigratedDatabase(infra.pgUrl);
  const chdbDir = mkdtempSync(path.join(tmpdir(), 'relay-chdb-'));
  const logDir = mkdtempSync(path.join(tmpdir(), 'relay-logs-'));

  const pool = createPool(pgUrl, 2);
  const teams = new TeamsRepository(pool);
  const keys = new ApiKeysRepository(pool, 0);
  const addTeam = async (environment: 'production' | 'staging' = 'production') => {
    const team = await teams.create(`team ${randomBytes(3).toString('hex')}`);
    const key = await keys.create(team.id, environment, { name: 'test' });
    return { teamId: team.id, apiKey: key.key };
  };
  const first = await addTeam();

  const ports = {} as Record<RelayServiceName, number>;
  for (const name of SERVICE_NAMES) ports[name] = await freePort();
  const gatewayMetricsPort = await freePort();
  const wanted = options.services ?? SERVICE_NAMES;
  // Generated like a deployment's: the internal API is tested with a real credential.
  const historyToken = options.env?.RELAY_HISTORY_TOKEN ?? `rly_hist_${randomBytes(24).toString('base64url')}`;
  const env: Record<string, string> = {
    RELAY_LOG_LEVEL: process.env.RELAY_TEST_LOG_LEVEL ?? 'warn',
    RELAY_KAFKA_BROKERS: infra.brokers.join(','),
    RELAY_REGISTRY_URL: infra.registryUrl,
    RELAY_PG_URL: pgUrl,
    RELAY_TOPIC_PREFIX: topicPrefix,
    RELAY_CHDB_PATH: chdbDir,
    RELAY_GATEWAY_PORT: String(ports.gateway),
    RELAY_GATEWAY_METRICS_PORT: String(gatewayMetricsPort),
    RELAY_VALIDATOR_PORT: String(ports.validator),
    RELAY_MATCHER_PORT: String(ports.matcher),
    RELAY_DISPATCHER_PORT: String(ports.dispatcher),
    RELAY_HISTORY_PORT: String(ports.history),
    RELAY_HISTORY_URL: `http://127.0.0.1:${ports.history}`,
    RELAY_HISTORY_FLUSH_MS: '50',
    RELAY_HISTORY_TOKEN: historyToken,
    ...options.env,
  };
  // Generous: five Node services boot in parallel on a small machine that may be busy.
  const startOptions = {
    root: REPO_ROOT,
    logDir,
    readyTimeoutMs: options.readyTimeoutMs ?? 150000,
    env,
    ...(options.supervise ? { supervise: options.supervise } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const services = await startRelayServices(
    wanted.map((name) => ({ name, port: ports[name], env: {} })),
    startOptions,
  );
  const replicas: RelayServices[] = [];

  return {
    infra,
    topicPrefix,
    pgUrl,
    gatewayUrl: `http://127.0.0.1:${ports.gateway}`,
    gatewayMetricsUrl: `http://127.0.0.1:${gatewayMetricsPort}`,
    ports,
    teamId: first.teamId,
    apiKey: first.apiKey,
    historyToken,
    services,
    addTeam,
    async addInstances(names) {
      const specs = [];
      for (const name of names) specs.push(await instanceSpec(name));
      const dir = mkdtempSync(path.join(logDir, 'replica-'));
      replicas.push(await startRelayServices(specs, { ...startOptions, logDir: dir }));
      return Object.fromEntries(specs.map((s) => [s.name, `http://127.0.0.1:${s.port}`])) as Record<RelayServiceName, string>;
    },
    async api<T>(method: string, path: string, body?: unknown, apiKey = first.apiKey) {
      const { status, body: answer } = await callJson<T>(`http://127.0.0.1:${ports.gateway}${path}`, method, body, { 'x-api-key': apiKey });
      return { status, body: answer };
    },
    async stop() {
      await Promise.all([services, ...replicas].map((s) => s.stop()));
      await pool.end();
      await dropTestDatabase(pgUrl);
      rmSync(chdbDir, { recursive: true, force: true });
      if (!process.env.RELAY_KEEP_TEST_LOGS) rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** Another instance of a service on free ports (a gateway has a metrics port besides its HTTP port). */
export async function instanceSpec(name: RelayServiceName): Promise<{ name: RelayServiceName; port: number; env: Record<string, string> }> {
  const port = await freePort();
  const env: Record<string, string> = { [`RELAY_${name.toUpperCase()}_PORT`]: String(port) };
  if (name === 'gateway') env.RELAY_GATEWAY_METRICS_PORT = String(await freePort());
  return { name, port, env };
}

/** Polls `probe` until it returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
