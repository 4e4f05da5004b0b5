import { Module } from '@nestjs/common';
import type { Pool } from 'pg';
import { ContactsRepository } from '@relay/scenarios';
import { PG_POOL } from '../tokens';
import { ContactsController } from './contacts.controller';

/** `/v1/contacts`; uses the gateway's global pool and key guard. */
@Module({
  controllers: [ContactsController],
  providers: [{ provide: ContactsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new ContactsRepository(pool) }],
  exports: [ContactsRepository],
})
export class ContactsModule {}
