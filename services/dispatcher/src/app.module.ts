import { type DynamicModule, Module } from '@nestjs/common';
import type { DispatcherConfig } from '@relay/config';
import { WireModule } from '@relay/kafka';

/**
 * The outbound-webhook dispatcher. Its input topic (webhook deliveries) is produced by
 * the matcher once scenarios fire actions; until that contract exists the service runs
 * with its Kafka/registry wiring, health and metrics, and consumes nothing.
 */
@Module({})
export class DispatcherModule {
  static forRoot(config: Readonly<DispatcherConfig>): DynamicModule {
    return {
      module: DispatcherModule,
      imports: [
        WireModule.forRoot({
          service: 'dispatcher',
          logLevel: config.RELAY_LOG_LEVEL,
          brokers: config.RELAY_KAFKA_BROKERS,
          clientId: config.RELAY_KAFKA_CLIENT_ID,
          registryUrl: config.RELAY_REGISTRY_URL,
          topicPrefix: config.RELAY_TOPIC_PREFIX,
        }),
      ],
    };
  }
}
