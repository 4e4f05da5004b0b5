import { type BeforeApplicationShutdown, type DynamicModule, Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import type { MatcherConfig } from '@relay/config';
import { ContractRegistry } from '@relay/contracts';
import { PostgresModule, TeamChanges } from '@relay/control-plane';
import { DurableProducer, WireModule } from '@relay/kafka';
import { RelayMetrics, createLogger } from '@relay/observability';
import { EndpointDirectory, subscriptionSource, type WebhookEndpoint } from '@relay/webhooks';
import { ContactResolver, ContactsRepository, MatchStore, ScenarioCache, ScenariosRepository, ScheduleStore } from '@relay/scenarios';
import { MatcherController } from './matcher.controller';
import { Scheduler } from './scheduler';
import { MATCHER_CONFIG, PG_POOL } from './tokens';

/** Starts the scheduler with the app, stops it before the pool closes (PostgresModule). */
class MatcherLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(Scheduler) private readonly scheduler: Scheduler,
    @Inject(EndpointDirectory) private readonly subscriptions: EndpointDirectory<WebhookEndpoint>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.scheduler.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.scheduler.stop();
    this.subscriptions.stop();
  }
}

@Module({})
export class MatcherModule {
  static forRoot(config: Readonly<MatcherConfig>): DynamicModule {
    const logger = createLogger('matcher', config.RELAY_LOG_LEVEL);
    return {
      module: MatcherModule,
      imports: [WireModule.forService('matcher', config), PostgresModule.forRoot(config)],
      controllers: [MatcherController],
      providers: [
        { provide: MATCHER_CONFIG, useValue: config },
        { provide: TeamChanges, inject: [PG_POOL], useFactory: (pool: Pool) => new TeamChanges(pool) },
        {
          provide: EndpointDirectory,
          inject: [PG_POOL, TeamChanges],
          // Subscription fan-out: endpoints without their secrets (the dispatcher signs).
          useFactory: async (pool: Pool, changes: TeamChanges) => {
            const directory = new EndpointDirectory(subscriptionSource(pool), changes, config.RELAY_WEBHOOK_ENDPOINT_CACHE_MS, (error) =>
              logger.warn({ err: error }, 'subscription directory reload failed'),
            );
            await directory.start();
            return directory;
          },
        },
        {
          provide: ScenarioCache,
          inject: [PG_POOL],
          useFactory: (pool: Pool) => new ScenarioCache(new ScenariosRepository(pool), config.RELAY_SCENARIO_CACHE_MS),
        },
        {
          provide: ContactResolver,
          inject: [PG_POOL],
          useFactory: (pool: Pool) => new ContactResolver(new ContactsRepository(pool), config.RELAY_CONTACT_CACHE_MS, config.RELAY_CONTACT_CACHE_MAX),
        },
        { provide: MatchStore, inject: [PG_POOL], useFactory: (pool: Pool) => new MatchStore(pool) },
        {
          provide: Scheduler,
          inject: [PG_POOL, ContractRegistry, DurableProducer, RelayMetrics],
          useFactory: (pool: Pool, registry: ContractRegistry, producer: DurableProducer, metrics: RelayMetrics) => {
            // Scheduler backlog for SREs, counted at scrape time on the partial index of pending rows.
            metrics.setSchedulerBacklogProbe(async () => {
              const { rows } = await pool.query<{ pending: string; due: string }>(
                `SELECT count(*) AS pending, count(*) FILTER (WHERE due_at <= now()) AS due FROM scheduled_actions WHERE status = 'pending'`,
              );
              return { pending: Number(rows[0]?.pending ?? 0), due: Number(rows[0]?.due ?? 0) };
            });
            return new Scheduler({
              store: new ScheduleStore(pool),
              registry,
              producer,
              logger: logger.child({ component: 'scheduler' }),
              pollMs: config.RELAY_SCHEDULER_POLL_MS,
              batch: config.RELAY_SCHEDULER_BATCH,
              observeLateness: (s) => metrics.schedulerLateness.observe(s),
              // Cancellations are counted once, when reported to history: those made at
              // release time and those made by pausing or deleting a scenario alike.
              onReleased: (released) => metrics.schedulerActions.inc({ result: 'released' }, released),
              onCancelReported: (count) => metrics.schedulerActions.inc({ result: 'cancelled' }, count),
            });
          },
        },
        MatcherLifecycle,
      ],
    };
  }
}
