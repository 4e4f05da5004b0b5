import { type DynamicModule, Module } from '@nestjs/common';
import type { MatcherConfig } from '@relay/config';
import { WireModule } from '@relay/kafka';
import { MatcherController } from './matcher.controller';

@Module({})
export class MatcherModule {
  static forRoot(config: Readonly<MatcherConfig>): DynamicModule {
    return {
      module: MatcherModule,
      imports: [
        WireModule.forRoot({
          service: 'matcher',
          logLevel: config.RELAY_LOG_LEVEL,
          brokers: config.RELAY_KAFKA_BROKERS,
          clientId: config.RELAY_KAFKA_CLIENT_ID,
          registryUrl: config.RELAY_REGISTRY_URL,
          topicPrefix: config.RELAY_TOPIC_PREFIX,
        }),
      ],
      controllers: [MatcherController],
    };
  }
}
