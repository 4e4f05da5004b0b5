import { type BeforeApplicationShutdown, type DynamicModule, Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { DispatcherConfig } from '@relay/config';
import { ContractRegistry } from '@relay/contracts';
import { PG_POOL, PostgresModule, TeamChanges } from '@relay/control-plane';
import { DurableProducer, type OutputRecord, WireModule, produceRecords } from '@relay/kafka';
import { RelayMetrics, createLogger } from '@relay/observability';
import {
  DeliveryEngine,
  EndpointDirectory,
  PendingStore,
  SecretBox,
  WebhookEndpointsRepository,
  WebhookSender,
  WebhookTargetPolicy,
  parseSchedule,
  parseSecretKey,
} from '@relay/webhooks';
import { DeliveriesController } from './deliveries.controller';
import { FanOutController } from './fan-out.controller';

const ATTEMPT_RETENTION_MS = 30 * 24 * 3600 * 1000;

class Lifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private pruneTimer: NodeJS.Timeout | null = null;
  constructor(
    @Inject(DeliveryEngine) private readonly engine: DeliveryEngine,
    @Inject(EndpointDirectory) private readonly directory: EndpointDirectory,
    @Inject(PendingStore) private readonly store: PendingStore,
    @Inject(WebhookSender) private readonly sender: WebhookSender,
  ) {}

  onApplicationBootstrap(): void {
    this.engine.start();
    this.pruneTimer = setInterval(() => void this.store.prune(ATTEMPT_RETENTION_MS).catch(() => undefined), 3600 * 1000);
    this.pruneTimer.unref();
  }

  /** Attempts in flight finish and their results are written before Kafka disconnects. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.directory.stop();
    await this.engine.stop();
  }

  /** The pool itself is closed by PostgresModule. */
  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}

/**
 * The outbound-webhook dispatcher: fans validated (and rejected) events out to the
 * endpoints subscribed to them as WebhookDelivery records, and sends every delivery —
 * subscription, scenario_action (from the matcher) or relay — signed, isolated per
 * endpoint, retried durably. See docs/webhooks.md.
 */
@Module({})
export class DispatcherModule {
  static forRoot(config: Readonly<DispatcherConfig>): DynamicModule {
    const logger = createLogger('dispatcher', config.RELAY_LOG_LEVEL);
    return {
      module: DispatcherModule,
      imports: [WireModule.forService('dispatcher', config), PostgresModule.forRoot(config)],
      controllers: [FanOutController, DeliveriesController],
      providers: [
        {
          provide: EndpointDirectory,
          inject: [PG_POOL],
          // Loaded before the Kafka consumer starts, so the first batch sees every endpoint.
          useFactory: async (pool: Pool) => {
            const box = new SecretBox(parseSecretKey(config.RELAY_WEBHOOK_SECRET_KEY).key);
            const directory = new EndpointDirectory(
              new WebhookEndpointsRepository(pool, box).forDispatch(),
              new TeamChanges(pool),
              config.RELAY_WEBHOOK_ENDPOINT_CACHE_MS,
              (error) => logger.warn({ err: error }, 'endpoint directory refresh failed'),
            );
            await directory.start();
            return directory;
          },
        },
        {
          provide: PendingStore,
          inject: [PG_POOL],
          useFactory: (pool: Pool) => new PendingStore(pool, config.RELAY_WEBHOOK_LEASE_MS, config.RELAY_WEBHOOK_DEDUPE_WINDOW_MS),
        },
        { provide: WebhookSender, useFactory: () => new WebhookSender(new WebhookTargetPolicy(config.RELAY_WEBHOOK_ALLOWED_TARGETS)) },
        {
          provide: DeliveryEngine,
          inject: [PendingStore, EndpointDirectory, WebhookSender, ContractRegistry, DurableProducer, RelayMetrics, PG_POOL],
          useFactory: (
            store: PendingStore,
            directory: EndpointDirectory,
            sender: WebhookSender,
            registry: ContractRegistry,
            producer: DurableProducer,
            metrics: RelayMetrics,
            pool: Pool,
          ) => {
            const produce = (records: OutputRecord[]) =>
              produceRecords(registry, producer, records, (topic, count) => metrics.produced.inc({ stage: 'dispatcher', topic }, count));
            return new DeliveryEngine({
              store,
              directory,
              // Lookups only (no secret is unsealed): the key is the directory's.
              endpoints: new WebhookEndpointsRepository(pool, new SecretBox(parseSecretKey(config.RELAY_WEBHOOK_SECRET_KEY).key)),
              sender,
              produce,
              schedule: parseSchedule(config.RELAY_WEBHOOK_RETRY_SCHEDULE),
              queueMax: config.RELAY_WEBHOOK_QUEUE_MAX,
              pollMs: config.RELAY_WEBHOOK_POLL_MS,
              leaseMs: config.RELAY_WEBHOOK_LEASE_MS,
              autoDisableMs: config.RELAY_WEBHOOK_AUTO_DISABLE_MS,
              logger,
              metrics,
            });
          },
        },
        Lifecycle,
      ],
    };
  }
}
