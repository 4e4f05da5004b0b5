import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { ContractRegistry } from '@relay/contracts';
import { ApiKeysRepository, EventTypeCache, EventTypesRepository, createPool } from '@relay/control-plane';
import { DurableProducer, LingeringProducer, createKafka, prepareWire } from '@relay/kafka';
import { ObservabilityModule, Readiness, createLogger } from '@relay/observability';
import { ApiKeyGuard } from './auth/api-key.guard';
import { EventTypesController } from './event-types/event-types.controller';
import { HistoryController } from './history/history.controller';
import { IngestService } from './ingest/ingest.service';
import { TriggerController } from './ingest/trigger.controller';
import { CONFIG, KAFKA, PG_POOL, type Config } from './tokens';

const KAFKA_ADMIN = Symbol('KAFKA_ADMIN');

class Lifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(LingeringProducer) private readonly lingering: LingeringProducer,
    @Inject(DurableProducer) private readonly producer: DurableProducer,
    @Inject(KAFKA_ADMIN) private readonly admin: Admin,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /** Requests already accepted finish producing before the connections close. */
  async onApplicationShutdown(): Promise<void> {
    await this.lingering.drain();
    await this.producer.disconnect();
    await this.admin.disconnect();
    await this.pool.end();
  }
}

@Module({})
export class GatewayModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: GatewayModule,
      imports: [ObservabilityModule.forRoot({ service: 'gateway', logLevel: config.RELAY_LOG_LEVEL })],
      controllers: [EventTypesController, TriggerController, HistoryController],
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: PG_POOL, useFactory: () => createPool(config.RELAY_PG_URL, config.RELAY_PG_POOL_MAX) },
        {
          provide: KAFKA,
          useFactory: () =>
            createKafka({
              brokers: config.RELAY_KAFKA_BROKERS,
              clientId: config.RELAY_KAFKA_CLIENT_ID ?? 'relay-gateway',
              logger: createLogger('gateway', config.RELAY_LOG_LEVEL),
            }),
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
            const registry = new ContractRegistry({ url: config.RELAY_REGISTRY_URL, topicPrefix: config.RELAY_TOPIC_PREFIX });
            await prepareWire(kafka, registry, config.RELAY_TOPIC_PREFIX);
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
          provide: LingeringProducer,
          inject: [DurableProducer],
          useFactory: (producer: DurableProducer) => new LingeringProducer(producer, config.RELAY_PRODUCE_LINGER_MS),
        },
        { provide: ApiKeysRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new ApiKeysRepository(pool, config.RELAY_API_KEY_CACHE_MS) },
        { provide: EventTypesRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new EventTypesRepository(pool) },
        {
          provide: EventTypeCache,
          inject: [EventTypesRepository],
          // Short: the gateway that made a change invalidates its own entry at once;
          // other gateway instances see it within this bound.
          useFactory: (repo: EventTypesRepository) => new EventTypeCache(repo, 1000),
        },
        {
          provide: 'READINESS_CHECKS',
          inject: [Readiness, PG_POOL, KAFKA_ADMIN, ContractRegistry],
          useFactory: (readiness: Readiness, pool: Pool, admin: Admin, registry: ContractRegistry) => {
            readiness.register('postgres', () => pool.query('SELECT 1'));
            readiness.register('kafka', () => admin.describeCluster());
            readiness.register('registry', () => registry.ping());
            return true;
          },
        },
        ApiKeyGuard,
        IngestService,
        Lifecycle,
      ],
    };
  }
}
