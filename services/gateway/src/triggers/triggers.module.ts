import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { TriggersRepository } from '@relay/scenarios';
import { PG_POOL } from '../tokens';
import { TriggersController } from './triggers.controller';

/** `/v1/triggers/:id` and seed 003's `/api/v1/triggers/:id` (+ `/workflow`). */
@Module({
  controllers: [TriggersController],
  providers: [{ provide: TriggersRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new TriggersRepository(pool) }],
})
export class TriggersModule {}
