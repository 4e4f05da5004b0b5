import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { PostgresConfig } from '@relay/config';
import { Readiness } from '@relay/observability';
import { createPool } from './database';

/** The service's PostgreSQL pool, as provided by PostgresModule. */
export const PG_POOL = Symbol('PG_POOL');

class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * One PostgreSQL pool for a service (RELAY_PG_URL, RELAY_PG_POOL_MAX), its readiness check
 * (`postgres` in /health/ready) and its close at shutdown. Global: any module injects PG_POOL.
 *
 * Shutdown order: NestJS runs onApplicationShutdown in imported modules before the root
 * module's, so the pool ends before the root's own onApplicationShutdown; work that still
 * needs the database (a scheduler, a delivery engine) stops in beforeApplicationShutdown.
 * Consumers and HTTP are closed between the two, so no handler runs without the pool.
 */
@Module({})
export class PostgresModule {
  static forRoot(config: Readonly<PostgresConfig>): DynamicModule {
    return {
      module: PostgresModule,
      global: true,
      providers: [
        { provide: PG_POOL, useFactory: () => createPool(config.RELAY_PG_URL, config.RELAY_PG_POOL_MAX) },
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
      exports: [PG_POOL],
    };
  }
}
