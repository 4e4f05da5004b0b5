import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { ScenariosRepository } from '@relay/scenarios';
import { ContactsModule } from '../contacts/contacts.module';
import { DryRunModule } from '../dry-run/dry-run.module';
import { TriggersModule } from '../triggers/triggers.module';
import { PG_POOL } from '../tokens';
import { ScenariosController } from './scenarios.controller';

/**
 * `/v1/scenarios`, and with it the features scenarios need: contacts (`/v1/contacts`),
 * trigger tracking (`/v1/triggers`, `/api/v1/triggers`) and the dry run
 * (`POST /api/v1/events/trigger`). Uses the gateway's global
 * pool, config and key guard.
 */
@Module({
  imports: [ContactsModule, TriggersModule, DryRunModule],
  controllers: [ScenariosController],
  providers: [{ provide: ScenariosRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new ScenariosRepository(pool) }],
})
export class ScenariosModule {}
