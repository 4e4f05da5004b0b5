import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { HistoryConfig } from '@relay/config';
import {
  HistoryQueries,
  HistoryWriter,
  ScenarioRunWriter,
  WebhookAttemptWriter,
  applyRetention,
  createHistoryClient,
  runMigrations,
  type HistoryClient,
  type HistoryTable,
  type HistoryWriterOptions,
} from '@relay/history-store';
import { WireModule } from '@relay/kafka';
import { Readiness, RelayMetrics } from '@relay/observability';
import { HistoryConsumer } from './history.consumer';
import { HistoryHttpController } from './history.http';
import { HistorySqlController } from './history.sql';
import { OutcomeWait } from './outcome-wait';
import { TriggersHttpController } from './triggers.http';
import { ServiceTokenGuard } from './service-token.guard';
import { HISTORY_CLIENT, HISTORY_TOKEN } from './tokens';

class StoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(HistoryWriter) private readonly writer: HistoryWriter,
    @Inject(ScenarioRunWriter) private readonly runs: ScenarioRunWriter,
    @Inject(WebhookAttemptWriter) private readonly attempts: WebhookAttemptWriter,
    @Inject(HISTORY_CLIENT) private readonly client: HistoryClient,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.writer.close(), this.runs.close(), this.attempts.close()]);
    await this.client.close();
  }
}

@Module({})
export class HistoryModule {
  /** `token`: the service credential of the internal API, resolved at boot (historyTokenFor). */
  static forRoot(config: Readonly<HistoryConfig>, token: string): DynamicModule {
    const writerOptions = (table: HistoryTable, metrics: RelayMetrics): HistoryWriterOptions => ({
      maxRows: 5000,
      maxWaitMs: config.RELAY_HISTORY_FLUSH_MS,
      onFlush: ({ rows, durationMs }) => {
        metrics.historyRows.inc({ table }, rows);
        metrics.historyWriteSeconds.observe({ table }, durationMs / 1000);
      },
    });
    return {
      module: HistoryModule,
      imports: [WireModule.forService('history', config)],
      controllers: [HistoryConsumer, HistoryHttpController, HistorySqlController, TriggersHttpController],
      providers: [
        { provide: HISTORY_TOKEN, useValue: token },
        ServiceTokenGuard,
        {
          provide: HISTORY_CLIENT,
          useFactory: async () => {
            // CLICKHOUSE_URL switches the same code from the embedded engine to a server.
            const client = createHistoryClient({
              url: config.CLICKHOUSE_URL,
              username: config.CLICKHOUSE_USER,
              password: config.CLICKHOUSE_PASSWORD,
              database: config.CLICKHOUSE_DATABASE,
              dataDir: config.RELAY_CHDB_PATH,
            });
            await runMigrations(client);
            await applyRetention(client, config.RELAY_HISTORY_RETENTION_DAYS);
            return client;
          },
        },
        {
          provide: HistoryWriter,
          inject: [HISTORY_CLIENT, RelayMetrics],
          useFactory: (client: HistoryClient, metrics: RelayMetrics) => new HistoryWriter(client, writerOptions('events', metrics)),
        },
        {
          provide: ScenarioRunWriter,
          inject: [HISTORY_CLIENT, RelayMetrics],
          useFactory: (client: HistoryClient, metrics: RelayMetrics) => new ScenarioRunWriter(client, writerOptions('scenario_runs', metrics)),
        },
        {
          provide: WebhookAttemptWriter,
          inject: [HISTORY_CLIENT, RelayMetrics],
          useFactory: (client: HistoryClient, metrics: RelayMetrics) => new WebhookAttemptWriter(client, writerOptions('webhook_attempts', metrics)),
        },
        {
          provide: OutcomeWait,
          inject: [HistoryWriter],
          useFactory: (writer: HistoryWriter) =>
            // Remembered events: far more than the validated consumer has in flight (partitions × RELAY_BATCH_MAX).
            new OutcomeWait(writer, { waitMs: config.RELAY_HISTORY_OUTCOME_WAIT_MS, rememberMax: 100_000 }),
        },
        { provide: HistoryQueries, inject: [HISTORY_CLIENT], useFactory: (client: HistoryClient) => new HistoryQueries(client) },
        {
          provide: 'STORE_READINESS',
          inject: [Readiness, HistoryQueries],
          useFactory: (readiness: Readiness, queries: HistoryQueries) => {
            readiness.register('clickhouse', () => queries.ping());
            return true;
          },
        },
        StoreLifecycle,
      ],
    };
  }
}
