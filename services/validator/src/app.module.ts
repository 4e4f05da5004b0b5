import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { ValidatorConfig } from '@relay/config';
import { EventTypeCache, EventTypesRepository, IdempotencyRepository, IdentityLinksRepository, TeamChanges, createPool } from '@relay/control-plane';
import { WireModule } from '@relay/kafka';
import { Readiness } from '@relay/observability';
import { ValidatorController } from './validator.controller';

const PG_POOL = Symbol('PG_POOL');

class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

@Module({})
export class ValidatorModule {
  static forRoot(config: Readonly<ValidatorConfig>): DynamicModule {
    return {
      module: ValidatorModule,
      imports: [
        WireModule.forRoot({
          service: 'validator',
          logLevel: config.RELAY_LOG_LEVEL,
          brokers: config.RELAY_KAFKA_BROKERS,
          clientId: config.RELAY_KAFKA_CLIENT_ID,
          registryUrl: config.RELAY_REGISTRY_URL,
          topicPrefix: config.RELAY_TOPIC_PREFIX,
          schemaNotFoundRetryMs: config.RELAY_SCHEMA_NOT_FOUND_RETRY_MS,
        }),
      ],
      controllers: [ValidatorController],
      providers: [
        { provide: PG_POOL, useFactory: () => createPool(config.RELAY_PG_URL, config.RELAY_PG_POOL_MAX) },
        { provide: TeamChanges, inject: [PG_POOL], useFactory: (pool: Pool) => new TeamChanges(pool) },
        {
          provide: EventTypeCache,
          inject: [PG_POOL, TeamChanges],
          useFactory: (pool: Pool, changes: TeamChanges) => new EventTypeCache(new EventTypesRepository(pool), changes),
        },
        { provide: IdempotencyRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IdempotencyRepository(pool) },
        { provide: IdentityLinksRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IdentityLinksRepository(pool) },
        {
          provide: 'PG_READINESS',
          inject: [Readiness, PG_POOL],
          useFactory: (readiness: Readiness, pool: Pool) => {
            readiness.register('postgres', () => pool.query('SELECT 1'));
            return true;
          },
        },
        PoolLifecycle,
      ],
    };
  }
}
