/**
 * `npm start`: the whole pipeline on local defaults. Fetches (first time) and starts Kafka
 * and Apicurio Registry, prepares PostgreSQL, topics and schemas, provisions a dev team
 * and API key, starts the five services, and prints how to use them. Ctrl-C / SIGTERM
 * stops everything it started.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ContractRegistry } from '@relay/contracts';
import { ConfigError, devStackConfigSchema, formatWebhookTarget, loadConfig } from '@relay/config';
import { ApiKeysRepository, TeamsRepository, createPool, generateApiKey, prepareDatabase } from '@relay/control-plane';
import { createKafka, prepareWire } from '@relay/kafka';
import {
  ensureApicurio,
  ensureKafka,
  startApicurio,
  startKafka,
  serveSupervisorMetrics,
  startRelayServices,
  type ApicurioHandle,
  type KafkaHandle,
  type RelayServices,
} from '@relay/local-stack';
import { createLogger } from '@relay/observability';
import { startLocalPrometheus } from './local-prometheus';

const root = path.resolve(__dirname, '..');
const say = (line: string) => console.log(`[relay] ${line}`);

async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig('npm start', devStackConfigSchema);
  const stateDir = path.resolve(root, config.RELAY_STATE_DIR);
  const logDir = path.join(stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const cacheDir = config.RELAY_CACHE_DIR;
  const stopping: (() => Promise<void>)[] = [];
  let services: RelayServices | undefined;
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    // Synchronously, before anything awaits: a Ctrl-C reaches the services too (same process
    // group), and their exits must not be taken for crashes and restarted.
    services?.stopRestarting();
    say('stopping…');
    for (const stop of stopping.reverse()) await stop().catch((e: unknown) => say(`stop failed: ${(e as Error).message}`));
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    say('PostgreSQL: preparing the control-plane database');
    await prepareDatabase(config.RELAY_PG_URL);

    say('Kafka and Apicurio Registry: resolving artifacts from Maven Central (cached after the first run)');
    const artifactOptions = { ...(cacheDir ? { cacheDir } : {}), log: say };
    await Promise.all([ensureKafka(artifactOptions), ensureApicurio(artifactOptions)]);

    const pg = new URL(config.RELAY_PG_URL);
    const [kafka, registryServer] = await Promise.all([
      startKafka({
        ...artifactOptions,
        nodes: config.RELAY_KAFKA_NODES,
        // Each topology keeps its own data: topics of one have the other's replication.
        dataDir: path.join(stateDir, config.RELAY_KAFKA_NODES === 1 ? 'kafka' : 'kafka-3-nodes'),
        logDir: config.RELAY_KAFKA_NODES === 1 ? logDir : path.join(logDir, 'kafka'),
        port: config.RELAY_KAFKA_PORT,
        controllerPort: config.RELAY_KAFKA_CONTROLLER_PORT,
        heapMb: config.RELAY_KAFKA_NODES === 1 ? 768 : 512,
        jit: config.RELAY_KAFKA_JIT,
      }).then((k: KafkaHandle) => {
        stopping.push(() => k.stop());
        say(
          `Kafka ${k.version} ready on ${k.brokers.join(',')} (${k.nodes.length} node${k.nodes.length > 1 ? 's' : ''}, ` +
            `topics with replication factor ${k.replication.factor}, min.insync.replicas ${k.replication.minInsyncReplicas})`,
        );
        return k;
      }),
      startApicurio({
        ...artifactOptions,
        dataDir: path.join(stateDir, 'apicurio'),
        logDir,
        port: config.RELAY_REGISTRY_PORT,
        postgres: {
          host: pg.hostname,
          port: pg.port ? Number(pg.port) : 5432,
          user: decodeURIComponent(pg.username) || 'postgres',
          ...(pg.password ? { password: decodeURIComponent(pg.password) } : {}),
          database: 'relay_registry',
        },
      }).then((r: ApicurioHandle) => {
        stopping.push(() => r.stop());
        say(`Apicurio Registry ${r.version} ready at ${r.ccompatUrl}`);
        return r;
      }),
    ]);

    say('Topics and schemas');
    const registry = new ContractRegistry({ url: registryServer.ccompatUrl, topicPrefix: config.RELAY_TOPIC_PREFIX });
    const kafkaClient = createKafka({ brokers: kafka.brokers, clientId: 'relay-start', logger: createLogger('start', 'fatal') });
    await prepareWire(kafkaClient, registry, config.RELAY_TOPIC_PREFIX);

    const apiKey = await provisionDevKey(config.RELAY_PG_URL, config.RELAY_DEV_TEAM_ID, config.RELAY_DEV_API_KEY, stateDir);
    const adminToken = config.RELAY_ADMIN_TOKEN ?? devSecret(path.join(stateDir, 'admin-token'), () => `rly_admin_${randomBytes(24).toString('base64url')}`);
    // The gateway's credential for history's internal API; `npm run sql` reads it from here too.
    const historyToken =
      config.RELAY_HISTORY_TOKEN ?? devSecret(path.join(stateDir, 'history-token'), () => `rly_hist_${randomBytes(24).toString('base64url')}`);

    const allowedTargets = config.RELAY_WEBHOOK_ALLOWED_TARGETS.map(formatWebhookTarget).join(',');
    say('Starting gateway, validator, matcher, dispatcher, history (supervised: restarted if they exit)');
    services = await startRelayServices(
      [
        { name: 'gateway', port: config.RELAY_GATEWAY_PORT, env: {} },
        { name: 'validator', port: config.RELAY_VALIDATOR_PORT, env: {} },
        { name: 'matcher', port: config.RELAY_MATCHER_PORT, env: {} },
        { name: 'dispatcher', port: config.RELAY_DISPATCHER_PORT, env: {} },
        { name: 'history', port: config.RELAY_HISTORY_PORT, env: {} },
      ],
      {
        root,
        logDir,
        readyTimeoutMs: 120000,
        // compose's `restart: unless-stopped` for the local stack: a crashed or SIGKILLed
        // service is restarted with exponential backoff, logged here and counted in
        // relay_supervisor_restarts_total (see docs/reliability.md).
        supervise: true,
        onProgress: (line) => {
          if (!/^started |ready on :/.test(line)) say(line);
        },
        env: {
          RELAY_LOG_LEVEL: config.RELAY_LOG_LEVEL,
          RELAY_TOPIC_PREFIX: config.RELAY_TOPIC_PREFIX,
          RELAY_KAFKA_BROKERS: kafka.brokers.join(','),
          RELAY_REGISTRY_URL: registryServer.ccompatUrl,
          RELAY_PG_URL: config.RELAY_PG_URL,
          RELAY_CHDB_PATH: path.join(stateDir, 'chdb'),
          RELAY_GATEWAY_PORT: String(config.RELAY_GATEWAY_PORT),
          RELAY_GATEWAY_METRICS_PORT: String(config.RELAY_GATEWAY_METRICS_PORT),
          RELAY_VALIDATOR_PORT: String(config.RELAY_VALIDATOR_PORT),
          RELAY_MATCHER_PORT: String(config.RELAY_MATCHER_PORT),
          RELAY_DISPATCHER_PORT: String(config.RELAY_DISPATCHER_PORT),
          RELAY_HISTORY_PORT: String(config.RELAY_HISTORY_PORT),
          RELAY_HISTORY_URL: `http://127.0.0.1:${config.RELAY_HISTORY_PORT}`,
          RELAY_ADMIN_TOKEN: adminToken,
          // Receivers on this machine the demo's webhooks may reach, by exact host:port; any
          // other loopback or private address stays refused, as in a deployment.
          RELAY_WEBHOOK_ALLOWED_TARGETS: allowedTargets,
          RELAY_HISTORY_TOKEN: historyToken,
          ...(config.CLICKHOUSE_URL ? { CLICKHOUSE_URL: config.CLICKHOUSE_URL } : {}),
        },
      },
    );
    const supervised = services;
    stopping.push(() => supervised.stop());
    const supervisor = await serveSupervisorMetrics(supervised.metrics, config.RELAY_SUPERVISOR_PORT);
    stopping.push(() => supervisor.stop());

    // Prometheus scraping the five services, only when the binary is installed.
    const prometheus = await startLocalPrometheus({
      stateDir,
      logDir,
      port: config.RELAY_PROMETHEUS_PORT,
      services: [
        // The gateway's metrics port: its public port answers 404 for /metrics.
        { name: 'gateway', port: config.RELAY_GATEWAY_METRICS_PORT },
        { name: 'validator', port: config.RELAY_VALIDATOR_PORT },
        { name: 'matcher', port: config.RELAY_MATCHER_PORT },
        { name: 'dispatcher', port: config.RELAY_DISPATCHER_PORT },
        { name: 'history', port: config.RELAY_HISTORY_PORT },
        { name: 'supervisor', port: config.RELAY_SUPERVISOR_PORT },
      ],
    });
    if (prometheus) stopping.push(() => prometheus.stop());

    const gateway = `http://127.0.0.1:${config.RELAY_GATEWAY_PORT}`;
    console.log(
      [
        '',
        `  Gateway      ${gateway}`,
        `  OpenAPI      ${gateway}/docs`,
        `  Team id      ${config.RELAY_DEV_TEAM_ID}`,
        `  API key      ${apiKey}`,
        `  Admin token  ${adminToken}   (npm run relay -- teams list)`,
        `  Kafka        ${kafka.brokers.join(',')}   (topics ${config.RELAY_TOPIC_PREFIX}.*)`,
        `  Registry     ${registryServer.ccompatUrl}`,
        `  Metrics      http://127.0.0.1:${config.RELAY_GATEWAY_METRICS_PORT}/metrics (gateway), :${config.RELAY_VALIDATOR_PORT}–:${config.RELAY_HISTORY_PORT}/metrics (stages)`,
        `  Supervisor   ${supervisor.url}/metrics   (relay_supervisor_restarts_total)`,
        `  Prometheus   ${prometheus ? `${prometheus.url}   (alerts: ${prometheus.url}/alerts)` : 'not installed (sh infra/prometheus/install.sh)'}`,
        `  Webhooks     ${allowedTargets ? `local receivers allowed: ${allowedTargets}` : 'public addresses only; allow a local receiver with RELAY_WEBHOOK_ALLOWED_TARGETS=127.0.0.1:<port>'}`,
        `  Logs         ${path.relative(process.cwd(), logDir) || logDir}/`,
        '',
        `  Started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Ctrl-C stops everything.`,
        '',
      ].join('\n'),
    );
    say('Relay is ready');
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`[relay] start failed: ${(error as Error).message}`);
    await shutdown(1);
  }
}

/**
 * The dev team and its production key, created idempotently. The key comes from
 * RELAY_DEV_API_KEY, or is generated once and kept (mode 600) in the state directory so
 * it survives restarts; only its SHA-256 digest is stored in PostgreSQL.
 */
async function provisionDevKey(pgUrl: string, teamId: string, fixedKey: string | undefined, stateDir: string): Promise<string> {
  const keyFile = path.join(stateDir, 'dev-api-key');
  let key = fixedKey;
  if (!key) {
    if (existsSync(keyFile)) key = readFileSync(keyFile, 'utf8').trim();
    else {
      key = generateApiKey('production');
      writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    }
  }
  const pool = createPool(pgUrl, 2);
  try {
    await new TeamsRepository(pool).create('Dev team', teamId);
    await new ApiKeysRepository(pool, 0).ensure(teamId, 'production', key, 'npm start dev key');
  } finally {
    await pool.end();
  }
  return key;
}

/** A dev secret generated once and kept (mode 600) in the state directory, like the dev key. */
function devSecret(file: string, generate: () => string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const value = generate();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

void main();
