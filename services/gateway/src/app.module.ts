import { type BeforeApplicationShutdown, type DynamicModule, Inject, Module } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  ApiKeysRepository,
  EventTypeCache,
  TeamChanges,
  EventTypesRepository,
  IdempotencyRepository,
  IdentityLinksRepository,
  PostgresModule,
} from '@relay/control-plane';
import { DurableProducer, LingeringProducer, WireModule } from '@relay/kafka';
import { AdminModule } from './admin/admin.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { EventTypesController } from './event-types/event-types.controller';
import { HistoryController } from './history/history.controller';
import { IngestService } from './ingest/ingest.service';
import { SendmatorController } from './ingest/sendmator.controller';
import { SimonController } from './ingest/simon.controller';
import { TriggerController } from './ingest/trigger.controller';
import { ScenariosModule } from './scenarios/scenarios.module';
import { CONFIG, PG_POOL, type Config } from './tokens';
import { WebhooksModule } from './webhooks/webhooks.module';

class Lifecycle implements BeforeApplicationShutdown {
  constructor(@Inject(LingeringProducer) private readonly lingering: LingeringProducer) {}

  /** Requests already accepted finish producing before the producer disconnects. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.lingering.drain();
  }
}

@Module({})
export class GatewayModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: GatewayModule,
      // Global with its shared providers exported: feature modules (admin, webhooks…) use
      // the same pool, config and key cache (one cache, so invalidation reaches it).
      global: true,
      exports: [CONFIG, ApiKeysRepository, EventTypesRepository, EventTypeCache, ApiKeyGuard],
      imports: [
        AdminModule,
        WebhooksModule,
        ScenariosModule,
        // /metrics not on the public port: a port of its own, on loopback unless configured otherwise.
        WireModule.forService('gateway', config, { metrics: { port: config.RELAY_GATEWAY_METRICS_PORT, host: config.RELAY_GATEWAY_METRICS_HOST } }),
        PostgresModule.forRoot(config),
      ],
      controllers: [EventTypesController, TriggerController, SendmatorController, SimonController, HistoryController],
      providers: [
        { provide: CONFIG, useValue: config },
        {
          provide: LingeringProducer,
          inject: [DurableProducer],
          useFactory: (producer: DurableProducer) =>
            new LingeringProducer(producer, {
              lingerMs: config.RELAY_PRODUCE_LINGER_MS,
              maxPending: config.RELAY_PRODUCE_QUEUE_MAX,
              sendTimeoutMs: config.RELAY_PRODUCE_TIMEOUT_MS,
            }),
        },
        // One reader of team change sequences, shared so concurrent requests share one query.
        { provide: TeamChanges, inject: [PG_POOL], useFactory: (pool: Pool) => new TeamChanges(pool) },
        {
          provide: ApiKeysRepository,
          inject: [PG_POOL, TeamChanges],
          useFactory: (pool: Pool, changes: TeamChanges) => new ApiKeysRepository(pool, config.RELAY_API_KEY_CACHE_MS, { changes }),
        },
        { provide: EventTypesRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new EventTypesRepository(pool) },
        { provide: IdempotencyRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IdempotencyRepository(pool) },
        { provide: IdentityLinksRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new IdentityLinksRepository(pool) },
        {
          provide: EventTypeCache,
          inject: [EventTypesRepository, TeamChanges],
          // Consistent with every change answered before the request (the principal carries
          // the team's change sequence read while authenticating it).
          useFactory: (repo: EventTypesRepository, changes: TeamChanges) => new EventTypeCache(repo, changes),
        },
        ApiKeyGuard,
        IngestService,
        Lifecycle,
      ],
    };
  }
}
