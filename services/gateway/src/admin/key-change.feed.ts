import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { ApiKeysRepository, KeyChangeListener } from '@relay/control-plane';
import { CONFIG, type Config } from '../tokens';

/**
 * Drops this gateway's cached key the moment any instance (or SQL) revokes, deactivates,
 * expires or re-limits it. Without the feed — disabled, or PostgreSQL unreachable — the
 * bound is RELAY_API_KEY_CACHE_MS.
 */
@Injectable()
export class KeyChangeFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private listener: KeyChangeListener | null = null;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(ApiKeysRepository) private readonly keys: ApiKeysRepository,
    @Inject(PinoLogger) private readonly logger: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.RELAY_API_KEY_CHANGE_FEED) return;
    this.listener = new KeyChangeListener(
      this.config.RELAY_PG_URL,
      (change) => this.keys.invalidate('all' in change ? {} : change),
      (message, error) => this.logger.warn({ err: error }, message),
    );
    await this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.stop();
  }
}
