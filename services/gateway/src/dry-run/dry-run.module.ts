import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { DryRun } from '@relay/scenarios';
import { PG_POOL } from '../tokens';
import { DryRunController } from './dry-run.controller';

/** `POST /api/v1/events/trigger` (dry run); uses the gateway's global pool, event-type cache and key guard. */
@Module({
  controllers: [DryRunController],
  providers: [{ provide: DryRun, inject: [PG_POOL], useFactory: (pool: Pool) => new DryRun(pool) }],
})
export class DryRunModule {}
