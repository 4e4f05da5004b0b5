import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { TeamsRepository } from '@relay/control-plane';
import { AuditModule } from '../audit/audit.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { PG_POOL } from '../tokens';
import { AdminController } from './admin.controller';
import { AdminTokenGuard } from './admin-token.guard';
import { KeyChangeFeed } from './key-change.feed';

/**
 * Tenancy: the /admin/v1 surface (teams, keys, audit), the key change feed, and — through
 * its imports, both global — the audit trail and the rate limiter every feature uses.
 */
@Module({
  imports: [AuditModule, RateLimitModule],
  controllers: [AdminController],
  providers: [AdminTokenGuard, KeyChangeFeed, { provide: TeamsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new TeamsRepository(pool) }],
})
export class AdminModule {}
