import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { HistoryConfig } from '@relay/config';
import { HistoryQueries, HistoryWriter, applyRetention, createHistoryClient, runMigrations, type HistoryClient } from '@relay/history-store';
import { WireModule } from '@relay/kafka';
import { Readiness } from '@relay/observability';
import { HistoryConsumer } from './history.consumer';
import { HistoryHttpController } from './history.http';

const HISTORY_CLIENT = Symbol('HISTORY_CLIENT');

class StoreLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(HistoryWriter) private readonly writer: HistoryWriter,
    @Inject(HISTORY_CLIENT) private readonly client: HistoryClient,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.writer.close();
    await this.client.close();
  }
}

@Module({})
export class HistoryModule {
  static forRoot(config: Readonly<HistoryConfig>): DynamicModule {
    return {
      module: HistoryModule,
      imports: [
        WireModule.forRoot({
          service: 'history',
          logLevel: config.RELAY_LOG_LEVEL,
          brokers: config.RELAY_KAFKA_BROKERS,
          clientId: config.RELAY_KAFKA_CLIENT_ID,
          registryUrl: config.RELAY_REGISTRY_URL,
          topicPrefix: config.RELAY_TOPIC_PREFIX,
        }),
      ],
      controllers: [HistoryConsumer, HistoryHttpController],
      providers: [
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
          inject: [HISTORY_CLIENT],
          useFactory: (client: HistoryClient) => new HistoryWriter(client, { maxRows: 5000, maxWaitMs: config.RELAY_HISTORY_FLUSH_MS }),
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
