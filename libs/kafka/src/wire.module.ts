import { type DynamicModule, Inject, Module, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Admin, Kafka } from 'kafkajs';
import { Logger } from 'nestjs-pino';
import { ContractRegistry } from '@relay/contracts';
import { ApiErrorFilter } from '@relay/http-api';
import { ConfigError, loadConfig, describeConfig, type ConfigSchema, type StageConfig, type WireConfig } from '@relay/config';
import type { z } from 'zod';
import { ObservabilityModule, Readiness, RelayMetrics, createLogger, serviceFastifyAdapter, type Logger as PinoLogger } from '@relay/observability';
import { createKafka } from './client';
import { DurableProducer } from './producer';
import { KafkaStageServer, type StageServerOptions } from './stage.server';
import { prepareWire } from './topics';

export const KAFKA = Symbol('KAFKA');
const KAFKA_ADMIN = Symbol('KAFKA_ADMIN');

export interface WireOptions {
  service: string;
  logLevel: string;
  brokers: string[];
  clientId?: string;
  registryUrl: string;
  topicPrefix: string;
  /** RELAY_SCHEMA_NOT_FOUND_RETRY_MS: see ContractRegistryOptions.schemaNotFoundRetryMs. */
  schemaNotFoundRetryMs?: number;
  /** /metrics on a port of its own: see ObservabilityOptions.metrics. */
  metrics?: { port: number; host: string };
}

class WireLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(DurableProducer) private readonly producer: DurableProducer,
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

/**
 * Kafka, registry and producer for a service, plus logging/metrics/health; its
 * readiness covers the broker and the registry (the service adds its own stores).
 */
@Module({})
export class WireModule {
  /** The wiring of `service` as its configuration (RELAY_KAFKA_*, RELAY_REGISTRY_URL…) sets it. */
  static forService(service: string, config: Readonly<WireConfig>, extra: Pick<WireOptions, 'metrics'> = {}): DynamicModule {
    return WireModule.forRoot({
      ...extra,
      service,
      logLevel: config.RELAY_LOG_LEVEL,
      brokers: config.RELAY_KAFKA_BROKERS,
      ...(config.RELAY_KAFKA_CLIENT_ID !== undefined ? { clientId: config.RELAY_KAFKA_CLIENT_ID } : {}),
      registryUrl: config.RELAY_REGISTRY_URL,
      topicPrefix: config.RELAY_TOPIC_PREFIX,
      schemaNotFoundRetryMs: config.RELAY_SCHEMA_NOT_FOUND_RETRY_MS,
    });
  }

  static forRoot(w: WireOptions): DynamicModule {
    return {
      module: WireModule,
      global: true,
      imports: [ObservabilityModule.forRoot({ service: w.service, logLevel: w.logLevel, ...(w.metrics ? { metrics: w.metrics } : {}) })],
      providers: [
        {
          provide: KAFKA,
          useFactory: () => createKafka({ brokers: w.brokers, clientId: w.clientId ?? `relay-${w.service}`, logger: createLogger(w.service, w.logLevel) }),
        },
        {
          provide: KAFKA_ADMIN,
          inject: [KAFKA],
          useFactory: async (kafka: Kafka) => {
            const admin = kafka.admin();
            await admin.connect();
            return admin;
          },
        },
        {
          provide: ContractRegistry,
          inject: [KAFKA],
          useFactory: async (kafka: Kafka) => {
            const registry = new ContractRegistry({
              url: w.registryUrl,
              topicPrefix: w.topicPrefix,
              ...(w.schemaNotFoundRetryMs !== undefined ? { schemaNotFoundRetryMs: w.schemaNotFoundRetryMs } : {}),
            });
            await prepareWire(kafka, registry, w.topicPrefix);
            return registry;
          },
        },
        {
          provide: DurableProducer,
          inject: [KAFKA],
          useFactory: async (kafka: Kafka) => {
            const producer = new DurableProducer(kafka);
            await producer.connect();
            return producer;
          },
        },
        {
          provide: 'WIRE_READINESS',
          inject: [Readiness, KAFKA_ADMIN, ContractRegistry],
          useFactory: (readiness: Readiness, admin: Admin, registry: ContractRegistry) => {
            readiness.register('kafka', () => admin.describeCluster());
            readiness.register('registry', () => registry.ping());
            return true;
          },
        },
        WireLifecycle,
      ],
      exports: [KAFKA, ContractRegistry, DurableProducer],
    };
  }
}

export interface RunStageOptions {
  service: string;
  module: DynamicModule | Type<unknown>;
  port: number;
  host?: string;
  groupId: string;
  /** Topics consumed in a group of their own: see StageServerOptions.ownGroups. */
  ownGroups?: StageServerOptions['ownGroups'];
  batchMax: number;
  partitionsConcurrency: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** RELAY_HANDLER_ATTEMPTS: see StageConsumerOptions.handlerAttempts. */
  handlerAttempts?: number;
  /** RELAY_FETCH_MIN_BYTES / RELAY_FETCH_MAX_WAIT_MS / RELAY_COMMIT_INTERVAL_MS: see StageConsumerOptions. */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  commitIntervalMs?: number;
  logLevel: string;
  /** What a stage adds to its HTTP side before it listens (the history service: its OpenAPI document). */
  beforeListen?: (app: NestFastifyApplication) => void;
}

/** The consumer variables every stage's configuration has (consumerVars in @relay/config). */
export interface StageConsumerConfig {
  RELAY_BATCH_MAX: number;
  RELAY_PARTITIONS_CONCURRENCY: number;
  RELAY_KAFKA_SESSION_TIMEOUT_MS: number;
  RELAY_KAFKA_HEARTBEAT_MS: number;
  RELAY_HANDLER_ATTEMPTS: number;
  RELAY_FETCH_MIN_BYTES: number;
  RELAY_FETCH_MAX_WAIT_MS: number;
  RELAY_COMMIT_INTERVAL_MS: number;
}

/** runStage's consumer options from a stage's configuration. */
export function stageConsumerSettings(config: StageConsumerConfig) {
  return {
    batchMax: config.RELAY_BATCH_MAX,
    partitionsConcurrency: config.RELAY_PARTITIONS_CONCURRENCY,
    sessionTimeoutMs: config.RELAY_KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.RELAY_KAFKA_HEARTBEAT_MS,
    handlerAttempts: config.RELAY_HANDLER_ATTEMPTS,
    fetchMinBytes: config.RELAY_FETCH_MIN_BYTES,
    fetchMaxWaitMs: config.RELAY_FETCH_MAX_WAIT_MS,
    commitIntervalMs: config.RELAY_COMMIT_INTERVAL_MS,
  } satisfies Partial<RunStageOptions>;
}

/** How long a stage whose consumer died may take to shut down before it exits anyway. */
const FATAL_EXIT_GRACE_MS = 5000;

/**
 * Boots a consumer stage as a NestJS hybrid app: the HTTP side serves /metrics and
 * /health/*, the KafkaStageServer transport runs the @EventPattern batch handlers.
 * SIGTERM/SIGINT: stop consuming, let the batch in flight finish and commit, disconnect.
 *
 * /health/ready includes the consumer: false unless it is in its group. A consumer that
 * died for good (kafkajs CRASH without restart, or STOP) makes the process exit with code 1
 * after a bounded graceful close: offsets are only committed after the output is durable, so
 * the restart (by npm start's supervisor, compose or Kubernetes) resumes where it stopped.
 */
export async function runStage(options: RunStageOptions): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(options.module, serviceFastifyAdapter(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  const log = createLogger(options.service, options.logLevel);
  app.useGlobalFilters(new ApiErrorFilter({ logError: (err) => log.error({ err }, 'request failed') }));
  app.enableShutdownHooks();
  const onFatal = (error: Error) => {
    log.fatal({ err: error, code: 'CONSUMER_DEAD' }, `${options.service}: Kafka consumer died; exiting so the service is restarted`);
    setTimeout(() => process.exit(1), FATAL_EXIT_GRACE_MS).unref();
    app.close().then(
      () => process.exit(1),
      () => process.exit(1),
    );
  };
  const server = new KafkaStageServer({
    kafka: app.get<Kafka>(KAFKA),
    registry: app.get(ContractRegistry),
    producer: app.get(DurableProducer),
    metrics: app.get(RelayMetrics),
    logger: log,
    stage: options.service,
    groupId: options.groupId,
    ...(options.ownGroups ? { ownGroups: options.ownGroups } : {}),
    batchMax: options.batchMax,
    partitionsConcurrency: options.partitionsConcurrency,
    ...(options.sessionTimeoutMs ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    ...(options.handlerAttempts !== undefined ? { handlerAttempts: options.handlerAttempts } : {}),
    ...(options.fetchMinBytes !== undefined ? { fetchMinBytes: options.fetchMinBytes } : {}),
    ...(options.fetchMaxWaitMs !== undefined ? { fetchMaxWaitMs: options.fetchMaxWaitMs } : {}),
    ...(options.commitIntervalMs !== undefined ? { commitIntervalMs: options.commitIntervalMs } : {}),
    onFatal,
  });
  app.get(Readiness).register('consumer', () => server.assertConsuming());
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  options.beforeListen?.(app);
  await app.listen(options.port, options.host ?? '0.0.0.0');
  return app;
}

/** What a stage's `main` builds from its configuration: the rest comes from the shared settings. */
export interface StageEntry {
  module: DynamicModule | Type<unknown>;
  port: number;
  host?: string;
  /** Topics consumed in a group of their own: see StageServerOptions.ownGroups. */
  ownGroups?: StageServerOptions['ownGroups'];
  beforeListen?: (app: NestFastifyApplication) => void;
}

/** The consumer settings of runStage as the shared configuration (RELAY_BATCH_MAX…) sets them. */
export function stageOptionsFrom(service: string, config: Readonly<StageConfig>): Omit<RunStageOptions, 'module' | 'port'> {
  return {
    service,
    groupId: `${config.RELAY_TOPIC_PREFIX}.${service}`,
    ...stageConsumerSettings(config),
    logLevel: config.RELAY_LOG_LEVEL,
  };
}

/**
 * The whole `main` of a consumer stage: loads and logs its configuration, lets `prepare`
 * do what must precede the app (migrations…) and name its module and port, then runs it.
 */
export function runStageMain<S extends ConfigSchema>(
  service: string,
  // Only a schema whose settings include the stage's shared ones.
  schema: z.infer<S> extends StageConfig ? S : never,
  prepare: (config: Readonly<z.infer<S>>, log: PinoLogger) => Promise<StageEntry>,
): void {
  runMain(service, async (log) => {
    const config = loadConfig(service, schema);
    log.info({ config: describeConfig(config) }, 'starting');
    const entry = await prepare(config, log);
    await runStage({ ...stageOptionsFrom(service, config as Readonly<StageConfig>), ...entry });
  });
}

/** Standard `main` wrapper: configuration errors print the variables, others the cause. */
export function runMain(service: string, main: (log: PinoLogger) => Promise<unknown>): void {
  const log = createLogger(service, 'info');
  main(log).catch((error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else log.fatal({ err: error }, `${service} failed to start`);
    process.exit(1);
  });
}
