import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { SecretBox, WebhookActivityRepository, WebhookEndpointsRepository, WebhookTargetPolicy, parseSecretKey } from '@relay/webhooks';
import { CONFIG, PG_POOL, type Config } from '../tokens';
import { WebhooksController } from './webhooks.controller';
import { WEBHOOKS_OPTIONS } from './webhooks.tokens';

/**
 * `/v1/webhooks`: endpoints, secret rotation, attempts and replay. Uses the gateway's
 * global pool, config and key guard.
 */
@Module({
  controllers: [WebhooksController],
  providers: [
    {
      provide: WEBHOOKS_OPTIONS,
      inject: [CONFIG],
      useFactory: (config: Config) => ({ targets: new WebhookTargetPolicy(config.RELAY_WEBHOOK_ALLOWED_TARGETS), defaultTimeoutMs: 10000 }),
    },
    {
      provide: WebhookEndpointsRepository,
      inject: [PG_POOL, CONFIG],
      useFactory: (pool: Pool, config: Config) => new WebhookEndpointsRepository(pool, new SecretBox(parseSecretKey(config.RELAY_WEBHOOK_SECRET_KEY).key)),
    },
    { provide: WebhookActivityRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new WebhookActivityRepository(pool) },
  ],
})
export class WebhooksModule {}
