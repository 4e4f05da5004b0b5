import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { ContactImporter, ContactsRepository } from '@relay/scenarios';
import { PG_POOL } from '../tokens';
import { ContactsController } from './contacts.controller';

/** `/v1/contacts`; uses the gateway's global pool and key guard. */
@Module({
  controllers: [ContactsController],
  providers: [
    { provide: ContactsRepository, inject: [PG_POOL], useFactory: (pool: Pool) => new ContactsRepository(pool) },
    { provide: ContactImporter, inject: [PG_POOL], useFactory: (pool: Pool) => new ContactImporter(pool) },
  ],
  exports: [ContactsRepository],
})
export class ContactsModule implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost) {}

  /**
   * NDJSON bodies reach the import route as the raw request stream: Fastify's own parsers
   * would buffer the whole body (and apply the JSON body limit), which a 100k-contact
   * import must not. Registered before the server starts listening.
   */
  onModuleInit(): void {
    const fastify = this.host.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || fastify.hasContentTypeParser('application/x-ndjson')) return;
    fastify.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));
  }
}
